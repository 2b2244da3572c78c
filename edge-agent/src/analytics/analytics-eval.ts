/**
 * Scores shopper analytics against the simulator's ground truth. The true floor positions stand
 * in for the vision pipeline, with what a detector does to them added on purpose: isolated missed
 * detections and position noise. They go through the real service (bus, SQLite, hourly tables),
 * and the stored facts are compared with the true visits, picks and occupancy.
 */
import type { StoreConfig } from '../../../device-config/schema.js';
import { EventBus } from '../bus.js';
import { StoreDatabase } from '../db/database.js';
import { GateEventRepository } from '../db/repositories/gate-events.js';
import { AnalyticsRepository, type StoredZoneVisit } from '../db/repositories/analytics.js';
import type { Logger } from '../log.js';
import type { TruthGateEvent, TruthTrackPoint, TruthVisit, TruthWeightEvent } from '../sim/ground-truth.js';
import { DetectorNoise } from '../sim/detector-noise.js';
import { Random } from '../sim/random.js';
import type { ShopperTrack } from '../vision/store-tracks.js';
import { analyticsReport, type AnalyticsReport } from './analytics-report.js';
import { AnalyticsService } from './analytics-service.js';
import type { PickCredit } from './floor-analytics.js';
import { quantile, round3, round4 } from '../numbers.js';

export interface AnalyticsTruth {
  tracks: readonly TruthTrackPoint[];
  dwell: readonly TruthVisit[];
  gateEvents: readonly TruthGateEvent[];
  weightEvents: readonly TruthWeightEvent[];
}

export interface AnalyticsEvalOptions {
  /** Share of observations dropped, each on its own (never two in a row for one shopper). */
  missRate: number;
  /** Standard deviation of the position noise added to each observation, metres. */
  noiseM: number;
  seed: number;
  dataDir: string;
  /** How long after its last observation a track ends (the vision tracker's end delay). */
  endAfterMs?: number;
}

export interface AnalyticsScore {
  observations: number;
  dropped: number;
  shoppers: number;
  dwell: {
    /** True visits long enough to be recognised (at least the enter inertia's observations). */
    scored: number;
    /** True visits too short for the enter inertia, left out of the score. */
    tooShort: number;
    withinOneSecond: number;
    shareWithinOneSecond: number;
    /** True visits never recognised; their error counts as their whole dwell. */
    missed: number;
    /** True visits stored as more than one visit. */
    split: number;
    /** Stored visits that overlap no true visit. */
    phantom: number;
    medianErrorSeconds: number;
    p95ErrorSeconds: number;
  };
  heatmap: { trueSeconds: number; measuredSeconds: number; relativeError: number };
  picks: { truth: number; credited: number; creditedToTheRightShopper: number };
  /** Members of staff on the floor (truth), those the service left out, and anything of theirs still counted. */
  staff: { truth: number; leftOut: number; countedVisits: number; shoppersTakenForStaff: number };
  conversion: { truth: number | null; measured: number | null };
  report: AnalyticsReport;
}

interface Step {
  at: number;
  order: number;
  run: () => void;
}

export async function evaluateAnalytics(config: StoreConfig, truth: AnalyticsTruth, options: AnalyticsEvalOptions, log: Logger): Promise<AnalyticsScore> {
  const detector = new DetectorNoise(new Random(options.seed), options);
  const endAfterMs = options.endAfterMs ?? 3_000;
  const database = new StoreDatabase(options.dataDir, log.child({ module: 'db' }));
  const bus = new EventBus(log.child({ module: 'bus' }));
  const service = new AnalyticsService({ config: { ...config, dataDir: options.dataDir }, database, bus, log: log.child({ module: 'analytics' }) });
  const credits: PickCredit[] = [];
  bus.on('analytics.pick', 'eval', (c) => void credits.push(c));
  const markedStaff = new Set<string>();
  bus.on('analytics.staff', 'eval', (m) => void markedStaff.add(m.shopper));
  await database.start();
  await service.start();
  let report: AnalyticsReport;
  let stored: StoredZoneVisit[];
  let storedStoreVisits: { shopper: string; excluded: string | null }[];
  let measuredSeconds = 0;
  try {
    const steps: Step[] = [];
    const gates = new GateEventRepository(database.handle);
    for (const g of truth.gateEvents) {
      if (g.kind !== 'pass' || !g.direction) continue;
      const direction = g.direction;
      steps.push({ at: g.at, order: 0, run: () => bus.emit('gate.event', gates.record({ gate: g.gate, kind: 'pass', direction, at: g.at })) });
    }
    const byTime = new Map<number, TruthTrackPoint[]>();
    const lastAt = new Map<string, number>();
    for (const p of truth.tracks) {
      let list = byTime.get(p.at);
      if (!list) byTime.set(p.at, (list = []));
      list.push(p);
      lastAt.set(p.shopper, Math.max(lastAt.get(p.shopper) ?? -Infinity, p.at));
    }
    for (const [at, points] of byTime) {
      steps.push({
        at,
        order: 1,
        run: () => {
          const tracks: ShopperTrack[] = [];
          for (const p of points) {
            const seen = detector.observe(p);
            if (seen) tracks.push(seen);
          }
          bus.emit('vision.shoppers', { at, tracks, ended: [] });
        },
      });
    }
    for (const [shopper, at] of lastAt) steps.push({ at: at + endAfterMs, order: 2, run: () => bus.emit('vision.shoppers', { at: at + endAfterMs, tracks: [], ended: [shopper] }) });
    for (const w of truth.weightEvents) {
      if (w.kind !== 'pick') continue;
      // The agent announces a weight event once the shelf has settled.
      steps.push({ at: w.tEnd + 400, order: 3, run: () => bus.emit('shelf.weight-event', pickEvent(w)) });
    }
    steps.sort((a, b) => a.at - b.at || a.order - b.order);
    for (const s of steps) s.run();
  } finally {
    await service.stop();
  }
  try {
    const db = database.handle;
    let from = Infinity;
    let to = -Infinity;
    for (const p of truth.tracks) {
      if (p.at < from) from = p.at;
      if (p.at > to) to = p.at;
    }
    to += endAfterMs;
    report = analyticsReport(db, config, from, to);
    const repo = new AnalyticsRepository(db);
    stored = repo.zoneVisits(0, Number.MAX_SAFE_INTEGER).filter((v) => v.excluded === null);
    storedStoreVisits = repo.storeVisits(0, Number.MAX_SAFE_INTEGER);
    measuredSeconds = report.heatmap.occupancySeconds;
  } finally {
    await database.stop();
  }

  const period = framePeriod(truth.tracks);
  const staffIds = new Set(truth.tracks.filter((p) => p.staff).map((p) => p.shopper));
  const trueSeconds = truth.tracks.filter((p) => !p.staff).length * (period / 1000);
  const dwell = scoreDwell(truth.dwell, stored, config.analytics.zones.exitSeconds * 1000, config.analytics.zones.enterObservations * period);
  const truePicks = truth.weightEvents.filter((w) => w.kind === 'pick');
  const pickedBy = new Map(truePicks.map((w) => [w.tEnd + 400, w.shopper]));
  const shoppers = new Set(truth.tracks.filter((p) => !p.staff).map((p) => p.shopper));
  const shoppersWithPick = new Set(truePicks.map((w) => w.shopper).filter((s) => shoppers.has(s)));
  return {
    observations: detector.observations,
    dropped: detector.dropped,
    shoppers: shoppers.size,
    dwell,
    heatmap: { trueSeconds: round3(trueSeconds), measuredSeconds: round3(measuredSeconds), relativeError: round4((measuredSeconds - trueSeconds) / trueSeconds) },
    picks: { truth: truePicks.length, credited: credits.length, creditedToTheRightShopper: credits.filter((c) => pickedBy.get(c.at) === c.shopper).length },
    staff: {
      truth: staffIds.size,
      leftOut: [...staffIds].filter((id) => markedStaff.has(id)).length,
      countedVisits: stored.filter((v) => staffIds.has(v.shopper)).length + storedStoreVisits.filter((v) => v.excluded === null && staffIds.has(v.shopper)).length,
      shoppersTakenForStaff: [...markedStaff].filter((id) => shoppers.has(id)).length,
    },
    conversion: { truth: shoppers.size > 0 ? round3(shoppersWithPick.size / shoppers.size) : null, measured: report.footfall.conversion },
    report,
  };
}

/**
 * True visits are cut wherever the shopper stepped out, however briefly; a visit in the product's
 * sense ends only after the exit time outside, so true visits closer than that are one visit.
 */
export function mergeTrueVisits(visits: readonly TruthVisit[], exitMs: number): TruthVisit[] {
  const sorted = [...visits].sort((a, b) => (a.shopper < b.shopper ? -1 : a.shopper > b.shopper ? 1 : a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : a.enteredAt - b.enteredAt));
  const out: TruthVisit[] = [];
  for (const v of sorted) {
    const last = out[out.length - 1];
    if (last && last.shopper === v.shopper && last.zone === v.zone && v.enteredAt - last.exitedAt < exitMs) {
      last.exitedAt = Math.max(last.exitedAt, v.exitedAt);
      last.dwellSeconds = (last.exitedAt - last.enteredAt) / 1000;
    } else {
      out.push({ ...v });
    }
  }
  return out;
}

export function scoreDwell(truthVisits: readonly TruthVisit[], stored: readonly StoredZoneVisit[], exitMs: number, minVisitMs: number): AnalyticsScore['dwell'] {
  const merged = mergeTrueVisits(truthVisits, exitMs);
  const byKey = new Map<string, StoredZoneVisit[]>();
  for (const v of stored) {
    const key = `${v.shopper}\u0000${v.zone}`;
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    list.push(v);
  }
  const used = new Set<StoredZoneVisit>();
  const errors: number[] = [];
  let scored = 0;
  let tooShort = 0;
  let missed = 0;
  let split = 0;
  let within = 0;
  for (const t of merged) {
    const candidates = (byKey.get(`${t.shopper}\u0000${t.zone}`) ?? []).filter((v) => v.enteredAt < t.exitedAt + 500 && v.exitedAt > t.enteredAt - 500);
    for (const c of candidates) used.add(c);
    if (t.exitedAt - t.enteredAt < minVisitMs) {
      tooShort += 1;
      continue;
    }
    scored += 1;
    if (candidates.length === 0) {
      // A visit never recognised was measured as no dwell at all.
      missed += 1;
      errors.push(t.dwellSeconds);
      if (t.dwellSeconds <= 1) within += 1;
      continue;
    }
    if (candidates.length > 1) split += 1;
    const measured = candidates.reduce((s, c) => s + c.dwellSeconds, 0);
    const error = Math.abs(measured - t.dwellSeconds);
    errors.push(error);
    if (candidates.length === 1 && error <= 1) within += 1;
  }
  return {
    scored,
    tooShort,
    withinOneSecond: within,
    shareWithinOneSecond: scored > 0 ? round4(within / scored) : 0,
    missed,
    split,
    phantom: stored.filter((v) => !used.has(v)).length,
    medianErrorSeconds: round3(quantile(errors, 0.5)),
    p95ErrorSeconds: round3(quantile(errors, 0.95)),
  };
}

function pickEvent(w: TruthWeightEvent) {
  return {
    id: 0,
    shelf: w.shelf,
    plates: Object.keys(w.plates),
    tStart: w.tStart,
    tEnd: w.tEnd + 400,
    deltaGrams: w.deltaGrams,
    perPlate: w.plates,
    noiseSigma: 0,
    kind: 'pick' as const,
    candidates: [],
    flags: [],
  };
}

/** The most common gap between one shopper's consecutive truth points. */
function framePeriod(points: readonly TruthTrackPoint[]): number {
  const last = new Map<string, number>();
  const gaps = new Map<number, number>();
  for (const p of points) {
    const prev = last.get(p.shopper);
    if (prev !== undefined) {
      const g = Math.round(p.at - prev);
      gaps.set(g, (gaps.get(g) ?? 0) + 1);
    }
    last.set(p.shopper, p.at);
  }
  let best = 200;
  let n = 0;
  for (const [g, c] of gaps) if (c > n) [best, n] = [g, c];
  return best;
}
