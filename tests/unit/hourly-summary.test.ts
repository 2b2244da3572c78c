import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoreVisit, ZoneVisit } from '../../edge-agent/src/analytics/floor-analytics.js';
import { DURATION_BUCKETS_MIN, HourlySummary } from '../../edge-agent/src/analytics/hourly-summary.js';
import { HOUR, LocalHours } from '../../edge-agent/src/analytics/local-hours.js';
import { openDatabase, type Database } from '../../edge-agent/src/db/database.js';
import { migrate } from '../../edge-agent/src/db/migrate.js';
import { MIGRATIONS } from '../../edge-agent/src/db/migrations/index.js';
import { AnalyticsRepository } from '../../edge-agent/src/db/repositories/analytics.js';
import { GateEventRepository } from '../../edge-agent/src/db/repositories/gate-events.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const MIN = 60_000;
/** 10:00 UTC. */
const H = Date.UTC(2026, 2, 2, 10, 0, 0);

interface Store {
  db: Database;
  repo: AnalyticsRepository;
  gates: GateEventRepository;
  summary: HourlySummary;
}

const opened: Database[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

/** A real store database in a temporary directory, migrated to the newest schema. */
function openStore(): Store {
  const db = openDatabase(join(tempDir(), 'store.db'));
  opened.push(db);
  migrate(db, MIGRATIONS);
  const repo = new AnalyticsRepository(db);
  return { db, repo, gates: new GateEventRepository(db), summary: new HourlySummary(db, repo) };
}

function zoneVisit(shopper: string, zone: string, enteredAt: number, dwellSeconds: number, extra: Partial<ZoneVisit> = {}): ZoneVisit {
  return { shopper, zone, enteredAt, exitedAt: enteredAt + dwellSeconds * 1000, dwellSeconds, picks: 0, lingered: false, ...extra };
}

function storeVisit(shopper: string, fromMin: number, toMin: number, picks = 0): StoreVisit {
  return { shopper, enteredAt: H + fromMin * MIN, exitedAt: H + toMin * MIN, picks, entryZone: 'entry', exitZone: 'exit' };
}

/**
 * Hour 10: seven store visits (peak three on the floor at once, 10:11–10:12), one running on into
 * hour 11, another one in hour 11; zone visits in front-1 and promo; gate passes either side.
 */
function seed(s: Store): void {
  const { repo, gates } = s;
  repo.recordZoneVisit(zoneVisit('s1', 'front-1', H + 5 * MIN, 10, { picks: 1 }));
  repo.recordZoneVisit(zoneVisit('s2', 'front-1', H + 10 * MIN, 30, { lingered: true }));
  repo.recordZoneVisit(zoneVisit('s7', 'front-1', H + 12 * MIN, 20));
  repo.recordZoneVisit(zoneVisit('s3', 'front-1', H + 51 * MIN, 50, { picks: 2, lingered: true }));
  repo.recordZoneVisit(zoneVisit('s1', 'promo', H + 6 * MIN, 5));
  repo.recordZoneVisit(zoneVisit('s7', 'promo', H + 20 * MIN, 9.0004));
  repo.recordZoneVisit(zoneVisit('s5', 'promo', H + 21 * MIN, 7));
  repo.recordZoneVisit(zoneVisit('s3', 'front-1', H + 65 * MIN, 12.3456)); // hour 11

  repo.recordStoreVisit(storeVisit('s4', 0, 0.5)); // 30 s
  repo.recordStoreVisit(storeVisit('s1', 5, 15, 1)); // 10 min
  repo.recordStoreVisit(storeVisit('s2', 10, 12)); // 2 min
  repo.recordStoreVisit(storeVisit('s7', 11, 30)); // 19 min
  repo.recordStoreVisit(storeVisit('s5', 20, 24)); // 4 min
  repo.recordStoreVisit(storeVisit('s6', 25, 31)); // 6 min
  repo.recordStoreVisit(storeVisit('s3', 50, 70, 2)); // 20 min, into hour 11
  repo.recordStoreVisit(storeVisit('s8', 65, 67)); // hour 11

  for (const [min, direction] of [[1, 'in'], [4, 'in'], [9, 'in'], [20, 'out'], [40, 'out'], [60, 'in']] as const) {
    gates.record({ gate: 'gate-1', kind: 'pass', direction, at: H + min * MIN });
  }
  gates.record({ gate: 'gate-1', kind: 'pass', direction: 'in', at: H - 1 }); // hour 9
  gates.record({ gate: 'gate-1', kind: 'scan', token: 'app-123', at: H + 2 * MIN }); // not a pass
}

describe('HourlySummary: dwell per zone', () => {
  it('summarises the zone visits entered in each hour', () => {
    const s = openStore();
    seed(s);
    s.summary.rebuild([H, H + HOUR]);
    expect(s.summary.dwell(H, H + 2 * HOUR)).toEqual([
      { hourStart: H, zone: 'front-1', visits: 4, dwellSeconds: 110, medianSeconds: 25, maxSeconds: 50, withPick: 2, lingered: 2 },
      { hourStart: H, zone: 'promo', visits: 3, dwellSeconds: 21, medianSeconds: 7, maxSeconds: 9, withPick: 0, lingered: 0 },
      { hourStart: H + HOUR, zone: 'front-1', visits: 1, dwellSeconds: 12.346, medianSeconds: 12.346, maxSeconds: 12.346, withPick: 0, lingered: 0 },
    ]);
    // Only the range asked for.
    expect(s.summary.dwell(H + HOUR, H + 2 * HOUR).map((r) => r.zone)).toEqual(['front-1']);
  });

  it('leaves out the visits of a shopper excluded as staff once the hour is rebuilt', () => {
    const s = openStore();
    seed(s);
    s.summary.rebuild([H]);
    const spans = s.repo.exclude('s7', 'staff');
    // Zone visits count at their start, the store visit over its whole stay.
    expect(spans.sort((a, b) => a.from - b.from)).toEqual([
      { from: H + 11 * MIN, to: H + 30 * MIN },
      { from: H + 12 * MIN, to: H + 12 * MIN },
      { from: H + 20 * MIN, to: H + 20 * MIN },
    ]);
    // Stored rows are kept, marked.
    expect(s.repo.zoneVisits(H, H + HOUR).filter((v) => v.shopper === 's7').map((v) => v.excluded)).toEqual(['staff', 'staff']);
    s.summary.rebuild(new LocalHours('UTC').hoursCovering(spans));
    expect(s.summary.dwell(H, H + HOUR)).toEqual([
      { hourStart: H, zone: 'front-1', visits: 3, dwellSeconds: 90, medianSeconds: 30, maxSeconds: 50, withPick: 2, lingered: 2 },
      { hourStart: H, zone: 'promo', visits: 2, dwellSeconds: 12, medianSeconds: 6, maxSeconds: 7, withPick: 0, lingered: 0 },
    ]);
    const [footfall] = s.summary.footfall(H, H + HOUR);
    expect(footfall).toMatchObject({ visitsStarted: 6, visitsEnded: 5, peakOccupancy: 2, visitSeconds: 2550, durationCounts: [1, 1, 1, 1, 1, 1] });
    // A second exclusion of the same shopper touches nothing more.
    s.repo.exclude('s7', 'staff');
    expect(s.repo.zoneVisits(H, H + HOUR).filter((v) => v.excluded !== null)).toHaveLength(2);
  });

  it('drops the row of a zone whose only visits were excluded', () => {
    const s = openStore();
    s.repo.recordZoneVisit(zoneVisit('clerk', 'promo', H + 5 * MIN, 60));
    s.summary.rebuild([H]);
    expect(s.summary.dwell(H, H + HOUR)).toHaveLength(1);
    s.repo.exclude('clerk', 'staff');
    s.summary.rebuild([H]);
    expect(s.summary.dwell(H, H + HOUR)).toEqual([]);
  });
});

describe('HourlySummary: footfall', () => {
  it('counts gate passes, visits started and ended, picks, durations and peak occupancy per hour', () => {
    const s = openStore();
    seed(s);
    s.summary.rebuild([H + HOUR, H, H]); // any order, duplicates ignored
    expect(DURATION_BUCKETS_MIN).toEqual([1, 3, 5, 10, 20]);
    expect(s.summary.footfall(H - HOUR, H + 2 * HOUR)).toEqual([
      {
        hourStart: H,
        gateEntries: 3,
        gateExits: 2,
        visitsStarted: 7,
        visitsEnded: 6, // s3 ends in hour 11
        visitsWithPick: 2,
        visitSeconds: 30 + 600 + 120 + 1140 + 240 + 360 + 1200,
        peakOccupancy: 3,
        // <1 min: s4; 1–3: s2; 3–5: s5; 5–10: s6; 10–20: s1 (exactly 10) and s7; ≥20: s3 (exactly 20).
        durationCounts: [1, 1, 1, 1, 2, 1],
      },
      {
        hourStart: H + HOUR,
        gateEntries: 1,
        gateExits: 0,
        visitsStarted: 1,
        visitsEnded: 2,
        visitsWithPick: 0,
        visitSeconds: 120,
        peakOccupancy: 2, // s3 (from hour 10) and s8
        durationCounts: [0, 1, 0, 0, 0, 0],
      },
    ]);
  });

  it('writes no footfall row for an hour without visits or passes, and a row for passes alone', () => {
    const s = openStore();
    s.gates.record({ gate: 'gate-1', kind: 'pass', direction: 'out', at: H + 3 * HOUR + 5 });
    s.summary.rebuild([H + 2 * HOUR, H + 3 * HOUR]);
    expect(s.summary.footfall(H, H + 4 * HOUR)).toEqual([
      { hourStart: H + 3 * HOUR, gateEntries: 0, gateExits: 1, visitsStarted: 0, visitsEnded: 0, visitsWithPick: 0, visitSeconds: 0, peakOccupancy: 0, durationCounts: [0, 0, 0, 0, 0, 0] },
    ]);
  });

  it('counts a shopper on the floor through a whole hour in its peak occupancy', () => {
    const s = openStore();
    s.repo.recordStoreVisit(storeVisit('long', 30, 150)); // 10:30–12:30
    s.repo.recordStoreVisit(storeVisit('short', 70, 75)); // 11:10–11:15
    s.summary.rebuild([H, H + HOUR, H + 2 * HOUR]);
    expect(s.summary.footfall(H, H + 3 * HOUR).map((r) => [r.hourStart, r.visitsStarted, r.visitsEnded, r.peakOccupancy])).toEqual([
      [H, 1, 0, 1],
      [H + HOUR, 1, 1, 2],
      [H + 2 * HOUR, 0, 1, 1],
    ]);
  });

  it('counts both shoppers when one arrives the instant the other leaves', () => {
    const s = openStore();
    s.repo.recordStoreVisit(storeVisit('a', 5, 10));
    s.repo.recordStoreVisit(storeVisit('b', 10, 15));
    s.summary.rebuild([H]);
    expect(s.summary.footfall(H, H + HOUR)[0]!.peakOccupancy).toBe(2);
  });

  it('drops an excluded shopper from every hour their visit spanned when the hours exclude() reports are rebuilt', () => {
    // The agent (AnalyticsService, sink.staff) rebuilds exactly the hours the spans exclude() returns reach into;
    // a staff member on the floor for hours must leave the hours in between too.
    const s = openStore();
    const hours = new LocalHours('UTC');
    s.repo.recordStoreVisit(storeVisit('clerk', 50, 190)); // 10:50–13:10
    s.repo.recordStoreVisit(storeVisit('shopper', 70, 75)); // 11:10–11:15
    s.summary.rebuild(hours.hoursBetween(H + 50 * MIN, H + 190 * MIN));
    expect(s.summary.footfall(H + HOUR, H + 2 * HOUR)[0]!.peakOccupancy).toBe(2);
    s.summary.rebuild(hours.hoursCovering(s.repo.exclude('clerk', 'staff')));
    expect(s.summary.footfall(H + HOUR, H + 2 * HOUR)[0]!.peakOccupancy).toBe(1);
  });
});

describe('HourlySummary: rebuilding', () => {
  it('gives the same rows when rebuilt twice', () => {
    const s = openStore();
    seed(s);
    s.summary.rebuild([H, H + HOUR]);
    const dwell = s.summary.dwell(H, H + 2 * HOUR);
    const footfall = s.summary.footfall(H, H + 2 * HOUR);
    const rows = s.repo.tableRows();
    s.summary.rebuild([H, H + HOUR]);
    s.summary.rebuild([H]);
    expect(s.summary.dwell(H, H + 2 * HOUR)).toEqual(dwell);
    expect(s.summary.footfall(H, H + 2 * HOUR)).toEqual(footfall);
    expect(s.repo.tableRows()).toEqual(rows);
    expect(rows).toMatchObject({ zone_visits: 8, store_visits: 8, dwell_hourly: 3, footfall_hourly: 2 });
  });

  it('picks up facts recorded after the last rebuild', () => {
    const s = openStore();
    seed(s);
    s.summary.rebuild([H]);
    s.repo.recordZoneVisit(zoneVisit('s9', 'aisle-main', H + 40 * MIN, 4, { picks: 1 }));
    s.summary.rebuild([H]);
    expect(s.summary.dwell(H, H + HOUR).map((r) => r.zone)).toEqual(['aisle-main', 'front-1', 'promo']);
  });
});

describe('AnalyticsRepository: heat', () => {
  it('adds heat of the same hour and cell up, and sums it across hours for one cell size', () => {
    const s = openStore();
    s.repo.addHeat(H, 0.25, new Map([[5, 1.2], [6, 0.4]]));
    s.repo.addHeat(H, 0.25, new Map([[5, 0.6]]));
    s.repo.addHeat(H + HOUR, 0.25, new Map([[5, 1], [7, 2]]));
    s.repo.addHeat(H, 0.5, new Map([[5, 9]])); // another cell size: kept apart
    expect(s.repo.tableRows().heatmap_hourly).toBe(5);

    const first = s.repo.heat(H, H + HOUR, 0.25);
    expect([...first.keys()].sort()).toEqual([5, 6]);
    expect(first.get(5)).toBeCloseTo(1.8, 9);
    expect(first.get(6)).toBeCloseTo(0.4, 9);

    const both = s.repo.heat(H, H + 2 * HOUR, 0.25);
    expect(both.get(5)).toBeCloseTo(2.8, 9);
    expect(both.get(6)).toBeCloseTo(0.4, 9);
    expect(both.get(7)).toBeCloseTo(2, 9);

    expect(s.repo.heat(H, H + 2 * HOUR, 0.5)).toEqual(new Map([[5, 9]]));
    expect(s.repo.heat(H + 2 * HOUR, H + 3 * HOUR, 0.25).size).toBe(0);
  });
});

describe('LocalHours', () => {
  it('starts the hours of Asia/Kolkata (UTC+5:30) at half past UTC hours', () => {
    const kolkata = new LocalHours('Asia/Kolkata');
    expect(kolkata.startOf(Date.UTC(2026, 2, 2, 10, 15, 12, 345))).toBe(Date.UTC(2026, 2, 2, 9, 30));
    expect(kolkata.startOf(Date.UTC(2026, 2, 2, 10, 45))).toBe(Date.UTC(2026, 2, 2, 10, 30));
    expect(kolkata.startOf(Date.UTC(2026, 2, 2, 10, 30))).toBe(Date.UTC(2026, 2, 2, 10, 30));
    expect(kolkata.startOf(Date.UTC(2026, 2, 2, 10, 29, 59, 999))).toBe(Date.UTC(2026, 2, 2, 9, 30));
    expect(kolkata.hoursBetween(Date.UTC(2026, 2, 2, 10, 15), Date.UTC(2026, 2, 2, 12, 0))).toEqual([
      Date.UTC(2026, 2, 2, 9, 30),
      Date.UTC(2026, 2, 2, 10, 30),
      Date.UTC(2026, 2, 2, 11, 30),
    ]);
    expect(kolkata.label(Date.UTC(2026, 2, 2, 9, 30))).toBe('2026-03-02 15:00');
  });

  it('labels hours with the wall time of Europe/Berlin, summer and winter', () => {
    const berlin = new LocalHours('Europe/Berlin');
    expect(berlin.label(Date.UTC(2026, 0, 15, 9))).toBe('2026-01-15 10:00');
    expect(berlin.label(Date.UTC(2026, 6, 15, 9))).toBe('2026-07-15 11:00');
    expect(berlin.label(Date.UTC(2026, 0, 15, 23))).toBe('2026-01-16 00:00');
    expect(berlin.startOf(Date.UTC(2026, 6, 15, 9, 59))).toBe(Date.UTC(2026, 6, 15, 9));
    // The spring change (29 March 2026, 02:00 → 03:00): no 02:00 hour on the wall.
    const hours = berlin.hoursBetween(Date.UTC(2026, 2, 29, 0, 30), Date.UTC(2026, 2, 29, 2, 30));
    expect(hours.map((h) => berlin.label(h))).toEqual(['2026-03-29 01:00', '2026-03-29 03:00', '2026-03-29 04:00']);
  });

  it('buckets UTC hours on UTC', () => {
    const utc = new LocalHours('UTC');
    expect(utc.startOf(H + 59 * MIN)).toBe(H);
    expect(utc.startOf(H - 1)).toBe(H - HOUR);
    expect(utc.label(H)).toBe('2026-03-02 10:00');
    expect(HOUR).toBe(3_600_000);
  });
});
