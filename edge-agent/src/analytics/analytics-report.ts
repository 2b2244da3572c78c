/**
 * What the hourly tables say about a stretch of time: footfall, conversion, visit durations, the
 * zones shoppers spent longest in and the heatmap's mass. Read from the hourly tables only, the
 * way the admin page and the cloud summary see them.
 */
import type { Database } from 'better-sqlite3';
import type { StoreConfig } from '../../../device-config/schema.js';
import { AnalyticsRepository } from '../db/repositories/analytics.js';
import { FloorGrid } from './floor-grid.js';
import { DURATION_BUCKETS_MIN, HourlySummary } from './hourly-summary.js';
import { LocalHours } from './local-hours.js';
import { round3 } from '../numbers.js';

export interface ZoneDwellSummary {
  zone: string;
  name: string;
  type: string;
  visits: number;
  dwellSeconds: number;
  meanDwellSeconds: number;
  maxDwellSeconds: number;
  withPick: number;
  lingered: number;
}

export interface AnalyticsReport {
  hours: { hour: string; entries: number; exits: number; visits: number; conversion: number | null; peakOccupancy: number }[];
  footfall: {
    /** Gate passes when the store has gates, else store visits seen starting and ending. */
    entries: number;
    exits: number;
    countedBy: 'gates' | 'tracks';
    visits: number;
    visitsWithPick: number;
    conversion: number | null;
    meanVisitMinutes: number | null;
    peakOccupancy: number;
    durations: Record<string, number>;
  };
  topDwellZones: ZoneDwellSummary[];
  /** For the cloud: the heat's mass and its hottest cells (centre in metres, seconds). */
  heatmap: { cellM: number; occupiedCells: number; occupancySeconds: number; hotSpots: { x: number; y: number; seconds: number }[] };
  tableRows: Record<string, number>;
}

export function analyticsReport(db: Database, config: StoreConfig, from: number, to: number, topZones = 5): AnalyticsReport {
  const repo = new AnalyticsRepository(db);
  const summary = new HourlySummary(db, repo);
  const hours = new LocalHours(config.store.timezone);
  const first = hours.startOf(from);
  const footfall = summary.footfall(first, to + 1);
  const dwell = summary.dwell(first, to + 1);
  const byGates = config.gates.length > 0;
  const total = { entries: 0, exits: 0, visits: 0, withPick: 0, seconds: 0, peak: 0, durations: new Array<number>(DURATION_BUCKETS_MIN.length + 1).fill(0) };
  const perHour: AnalyticsReport['hours'] = [];
  for (const h of footfall) {
    const entries = byGates ? h.gateEntries : h.visitsStarted;
    const exits = byGates ? h.gateExits : h.visitsEnded;
    total.entries += entries;
    total.exits += exits;
    total.visits += h.visitsStarted;
    total.withPick += h.visitsWithPick;
    total.seconds += h.visitSeconds;
    total.peak = Math.max(total.peak, h.peakOccupancy);
    h.durationCounts.forEach((n, i) => (total.durations[i]! += n));
    perHour.push({
      hour: hours.label(h.hourStart),
      entries,
      exits,
      visits: h.visitsStarted,
      conversion: h.visitsStarted > 0 ? round3(h.visitsWithPick / h.visitsStarted) : null,
      peakOccupancy: h.peakOccupancy,
    });
  }
  const zones = new Map<string, ZoneDwellSummary>();
  for (const d of dwell) {
    const zc = config.zones.find((z) => z.id === d.zone);
    const z = zones.get(d.zone) ?? { zone: d.zone, name: zc?.name ?? d.zone, type: zc?.type ?? 'unknown', visits: 0, dwellSeconds: 0, meanDwellSeconds: 0, maxDwellSeconds: 0, withPick: 0, lingered: 0 };
    z.visits += d.visits;
    z.dwellSeconds += d.dwellSeconds;
    z.maxDwellSeconds = Math.max(z.maxDwellSeconds, d.maxSeconds);
    z.withPick += d.withPick;
    z.lingered += d.lingered;
    zones.set(d.zone, z);
  }
  for (const z of zones.values()) {
    z.dwellSeconds = round3(z.dwellSeconds);
    z.meanDwellSeconds = round3(z.dwellSeconds / z.visits);
  }
  const cellM = config.analytics.heatmap.cellM;
  const grid = new FloorGrid(config.store.floor.widthM, config.store.floor.depthM, cellM);
  const heat = repo.heat(first, to + 1, cellM);
  let seconds = 0;
  for (const s of heat.values()) seconds += s;
  const labels = [...DURATION_BUCKETS_MIN.map((m, i) => `${i === 0 ? 0 : DURATION_BUCKETS_MIN[i - 1]}-${m}m`), `${DURATION_BUCKETS_MIN[DURATION_BUCKETS_MIN.length - 1]}m+`];
  return {
    hours: perHour,
    footfall: {
      entries: total.entries,
      exits: total.exits,
      countedBy: byGates ? 'gates' : 'tracks',
      visits: total.visits,
      visitsWithPick: total.withPick,
      conversion: total.visits > 0 ? round3(total.withPick / total.visits) : null,
      meanVisitMinutes: total.visits > 0 ? round3(total.seconds / total.visits / 60) : null,
      peakOccupancy: total.peak,
      durations: Object.fromEntries(labels.map((l, i) => [l, total.durations[i]!])),
    },
    topDwellZones: [...zones.values()].sort((a, b) => b.dwellSeconds - a.dwellSeconds).slice(0, topZones),
    heatmap: {
      cellM,
      occupiedCells: heat.size,
      occupancySeconds: round3(seconds),
      hotSpots: [...heat]
        .sort((a, b) => b[1] - a[1] || a[0] - b[0])
        .slice(0, HOT_SPOTS)
        .map(([cell, s]) => ({ ...grid.centre(cell), seconds: round3(s) })),
    },
    tableRows: repo.tableRows(),
  };
}

const HOT_SPOTS = 5;
