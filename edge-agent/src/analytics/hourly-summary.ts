/**
 * The hourly tables (dwell per zone, footfall) rebuilt from the stored facts for given hours.
 * Rebuilding instead of incrementing keeps them right when facts change after the fact (a track
 * marked as staff), and one hour of facts is small.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { AnalyticsRepository, StoredStoreVisit } from '../db/repositories/analytics.js';
import { HOUR } from './local-hours.js';
import { round3 } from '../numbers.js';

/** Upper bounds (minutes) of the visit duration buckets; the last bucket is open. */
export const DURATION_BUCKETS_MIN = [1, 3, 5, 10, 20] as const;

export interface DwellHour {
  hourStart: number;
  zone: string;
  visits: number;
  dwellSeconds: number;
  medianSeconds: number;
  maxSeconds: number;
  withPick: number;
  lingered: number;
}

export interface FootfallHour {
  hourStart: number;
  gateEntries: number;
  gateExits: number;
  visitsStarted: number;
  visitsEnded: number;
  visitsWithPick: number;
  visitSeconds: number;
  peakOccupancy: number;
  durationCounts: number[];
}

export class HourlySummary {
  private readonly gatePasses: Statement;
  private readonly deleteDwell: Statement;
  private readonly deleteFootfall: Statement;
  private readonly insertDwell: Statement;
  private readonly insertFootfall: Statement;
  private readonly dwellRange: Statement;
  private readonly footfallRange: Statement;
  private readonly rebuildTx: (hours: readonly number[]) => void;

  constructor(
    db: Database,
    private readonly repo: AnalyticsRepository,
  ) {
    this.gatePasses = db.prepare("SELECT direction, COUNT(*) AS n FROM gate_events WHERE kind = 'pass' AND at >= ? AND at < ? GROUP BY direction");
    this.deleteDwell = db.prepare('DELETE FROM dwell_hourly WHERE hour_start = ?');
    this.deleteFootfall = db.prepare('DELETE FROM footfall_hourly WHERE hour_start = ?');
    this.insertDwell = db.prepare(
      'INSERT INTO dwell_hourly (hour_start, zone, visits, dwell_seconds, median_seconds, max_seconds, with_pick, lingered) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertFootfall = db.prepare(
      'INSERT INTO footfall_hourly (hour_start, gate_entries, gate_exits, visits_started, visits_ended, visits_with_pick, visit_seconds, peak_occupancy, duration_counts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.dwellRange = db.prepare(
      'SELECT hour_start AS hourStart, zone, visits, dwell_seconds AS dwellSeconds, median_seconds AS medianSeconds, max_seconds AS maxSeconds, with_pick AS withPick, lingered FROM dwell_hourly WHERE hour_start >= ? AND hour_start < ? ORDER BY hour_start, zone',
    );
    this.footfallRange = db.prepare(
      'SELECT hour_start AS hourStart, gate_entries AS gateEntries, gate_exits AS gateExits, visits_started AS visitsStarted, visits_ended AS visitsEnded, visits_with_pick AS visitsWithPick, visit_seconds AS visitSeconds, peak_occupancy AS peakOccupancy, duration_counts AS durationCounts FROM footfall_hourly WHERE hour_start >= ? AND hour_start < ? ORDER BY hour_start',
    );
    this.rebuildTx = db.transaction((hours: readonly number[]) => {
      for (const h of hours) this.rebuildHour(h);
    });
  }

  /** Rebuilds the hourly rows of each hour start given. */
  rebuild(hours: Iterable<number>): void {
    this.rebuildTx([...new Set(hours)].sort((a, b) => a - b));
  }

  dwell(from: number, to: number): DwellHour[] {
    return this.dwellRange.all(from, to) as DwellHour[];
  }

  footfall(from: number, to: number): FootfallHour[] {
    return (this.footfallRange.all(from, to) as (Omit<FootfallHour, 'durationCounts'> & { durationCounts: string })[]).map((r) => ({
      ...r,
      durationCounts: JSON.parse(r.durationCounts) as number[],
    }));
  }

  private rebuildHour(h: number): void {
    const end = h + HOUR;
    this.deleteDwell.run(h);
    this.deleteFootfall.run(h);
    const byZone = new Map<string, number[]>();
    const picked = new Map<string, number>();
    const lingered = new Map<string, number>();
    for (const v of this.repo.zoneVisits(h, end)) {
      if (v.excluded !== null) continue;
      let list = byZone.get(v.zone);
      if (!list) byZone.set(v.zone, (list = []));
      list.push(v.dwellSeconds);
      if (v.picks > 0) picked.set(v.zone, (picked.get(v.zone) ?? 0) + 1);
      if (v.lingered) lingered.set(v.zone, (lingered.get(v.zone) ?? 0) + 1);
    }
    for (const [zone, dwell] of byZone) {
      dwell.sort((a, b) => a - b);
      const sum = dwell.reduce((s, d) => s + d, 0);
      this.insertDwell.run(h, zone, dwell.length, round3(sum), round3(median(dwell)), round3(dwell[dwell.length - 1]!), picked.get(zone) ?? 0, lingered.get(zone) ?? 0);
    }

    const overlapping = this.repo.storeVisitsOverlapping(h, end);
    // A counted visit that started this hour is on the floor this hour: no second query.
    const started = overlapping.filter((v) => v.enteredAt >= h);
    const gates = { in: 0, out: 0 };
    for (const r of this.gatePasses.all(h, end) as { direction: 'in' | 'out'; n: number }[]) gates[r.direction] = r.n;
    const durations = new Array<number>(DURATION_BUCKETS_MIN.length + 1).fill(0);
    let seconds = 0;
    for (const v of started) {
      const s = (v.exitedAt - v.enteredAt) / 1000;
      seconds += s;
      const bucket = DURATION_BUCKETS_MIN.findIndex((m) => s < m * 60);
      durations[bucket < 0 ? DURATION_BUCKETS_MIN.length : bucket]! += 1;
    }
    if (started.length === 0 && overlapping.length === 0 && gates.in === 0 && gates.out === 0) return;
    this.insertFootfall.run(
      h,
      gates.in,
      gates.out,
      started.length,
      overlapping.filter((v) => v.exitedAt < end).length,
      started.filter((v) => v.picks > 0).length,
      round3(seconds),
      peakOccupancy(overlapping, h, end),
      JSON.stringify(durations),
    );
  }
}

/** Most store visits on the floor at once within [from, to). */
function peakOccupancy(visits: readonly StoredStoreVisit[], from: number, to: number): number {
  const edges: [number, number][] = [];
  for (const v of visits) {
    edges.push([Math.max(v.enteredAt, from), 1]);
    edges.push([Math.min(v.exitedAt, to), -1]);
  }
  // At a tie an arrival counts before a departure: both were on the floor at that instant.
  edges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of edges) {
    now += d;
    if (now > peak) peak = now;
  }
  return peak;
}

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return 0;
  return n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}
