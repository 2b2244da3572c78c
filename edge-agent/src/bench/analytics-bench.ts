/**
 * A day of simulated traffic through shopper analytics: the simulator's busy half hour, repeated
 * back to back with fresh shopper ids until the day holds enough visits, fed through the real
 * service into SQLite with missed detections and noise, then the hourly tables rebuilt. Reports
 * the wall time, observations per second and the size of every analytics table. Each block has a
 * few members of staff on the floor, who must be left out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateAnalytics, type AnalyticsTruth } from '../analytics/analytics-eval.js';
import { loadConfigFile } from '../config/load-config.js';
import { createRootLogger } from '../log.js';
import { DEMO_CONFIG } from '../paths.js';
import type { TruthGateEvent, TruthTrackPoint, TruthVisit, TruthWeightEvent } from '../sim/ground-truth.js';
import { resolveScenario } from '../sim/scenario.js';
import { StoreWorld } from '../sim/store-world.js';

export interface AnalyticsBenchResult {
  shoppers: number;
  storeVisits: number;
  zoneVisits: number;
  observations: number;
  simulatedHours: number;
  wallSeconds: number;
  observationsPerSecond: number;
  timesRealTime: number;
  tableRows: Record<string, number>;
  dwellWithinOneSecond: number;
  heatmapRelativeError: number;
  staffLeftOut: string;
}

const BLOCK_MINUTES = 30;

export async function benchAnalytics(options: { shoppers?: number } = {}): Promise<AnalyticsBenchResult> {
  const wanted = options.shoppers ?? 2_000;
  const config = (await loadConfigFile(DEMO_CONFIG())).config;
  const block = await simulateBlock(config, 100);
  const blocks = Math.ceil(wanted / 100);
  const day: AnalyticsTruth = { tracks: [], dwell: [], gateEvents: [], weightEvents: [] };
  const tracks = day.tracks as TruthTrackPoint[];
  const dwell = day.dwell as TruthVisit[];
  const gates = day.gateEvents as TruthGateEvent[];
  const weights = day.weightEvents as TruthWeightEvent[];
  for (let b = 0; b < blocks; b++) {
    const dt = b * BLOCK_MINUTES * 60_000;
    const id = (s: string) => `${s}-b${b}`;
    for (const p of block.tracks) tracks.push({ ...p, at: p.at + dt, shopper: id(p.shopper) });
    for (const v of block.dwell) dwell.push({ ...v, enteredAt: v.enteredAt + dt, exitedAt: v.exitedAt + dt, shopper: id(v.shopper) });
    for (const g of block.gateEvents) gates.push({ ...g, at: g.at + dt, shopper: id(g.shopper) });
    for (const w of block.weightEvents) weights.push({ ...w, tStart: w.tStart + dt, tEnd: w.tEnd + dt, shopper: id(w.shopper) });
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'edge-bench-analytics-'));
  try {
    const t0 = performance.now();
    const score = await evaluateAnalytics(config, day, { missRate: 0.1, noiseM: 0.1, seed: 1, dataDir }, createRootLogger({ level: 'warn' }));
    const wallSeconds = (performance.now() - t0) / 1000;
    let first = Infinity;
    let last = -Infinity;
    for (const p of tracks) {
      if (p.at < first) first = p.at;
      if (p.at > last) last = p.at;
    }
    const simulatedSeconds = (last - first) / 1000;
    return {
      shoppers: score.shoppers,
      storeVisits: score.report.footfall.visits,
      zoneVisits: score.report.tableRows['zone_visits'] ?? 0,
      observations: score.observations,
      simulatedHours: Math.round((simulatedSeconds / 3600) * 100) / 100,
      wallSeconds: Math.round(wallSeconds * 1000) / 1000,
      observationsPerSecond: Math.round(score.observations / wallSeconds),
      timesRealTime: Math.round(simulatedSeconds / wallSeconds),
      tableRows: score.report.tableRows,
      dwellWithinOneSecond: score.dwell.shareWithinOneSecond,
      heatmapRelativeError: score.heatmap.relativeError,
      staffLeftOut: `${score.staff.leftOut}/${score.staff.truth}`,
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The truth of one busy block of the demo store, from the simulator (no recording written). */
async function simulateBlock(config: Awaited<ReturnType<typeof loadConfigFile>>['config'], shoppers: number): Promise<AnalyticsTruth> {
  const scenario = resolveScenario({ seed: 7, minutes: BLOCK_MINUTES, shoppers, profile: 'busy', knobs: { staffWalks: 3 } });
  const world = new StoreWorld({ config, scenario, cameras: false });
  const truth: AnalyticsTruth = { tracks: [], dwell: [], gateEvents: [], weightEvents: [] };
  await world.runUntil(Infinity, {
    serial() {},
    frame() {},
    truth(stream, record) {
      if (stream === 'tracks') (truth.tracks as TruthTrackPoint[]).push(record as TruthTrackPoint);
      else if (stream === 'dwell') (truth.dwell as TruthVisit[]).push(record as TruthVisit);
      else if (stream === 'gate-events') (truth.gateEvents as TruthGateEvent[]).push(record as TruthGateEvent);
      else if (stream === 'weight-events') (truth.weightEvents as TruthWeightEvent[]).push(record as TruthWeightEvent);
    },
  });
  return truth;
}
