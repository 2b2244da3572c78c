/**
 * Staff tools for shopper analytics, on the store database (the agent may be running):
 * `analytics report` (footfall, dwell, heat per hour), `analytics heatmap` (a PNG for a time
 * range) and `analytics mark-staff` (a track that is a member of staff; the agent applies it).
 */
import { writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { analyticsReport } from '../analytics/analytics-report.js';
import { FloorGrid } from '../analytics/floor-grid.js';
import { HourlySummary } from '../analytics/hourly-summary.js';
import { renderHeatmapPng } from '../analytics/heatmap-image.js';
import { LocalHours } from '../analytics/local-hours.js';
import { AnalyticsRepository } from '../db/repositories/analytics.js';
import { isEdgeError } from '../errors.js';
import type { Logger } from '../log.js';
import { withStoreDatabase } from './load-store.js';
import { EXIT_BAD_INPUT, EXIT_OK, printResult, type CliIo } from './output.js';

export interface AnalyticsRangeOptions {
  config: string;
  dataDir?: string;
  /** ISO date-times; default: the last 24 hours. */
  from?: string;
  to?: string;
}

export interface HeatmapCliOptions extends AnalyticsRangeOptions {
  out: string;
  pixelsPerMetre?: number;
}

export interface MarkStaffOptions {
  config: string;
  dataDir?: string;
  shopper: string;
  by?: string;
}

type Range = { from: number; to: number };

function parseRange(options: AnalyticsRangeOptions, io: CliIo): Range | undefined {
  const to = options.to ? Date.parse(options.to) : Date.now();
  const from = options.from ? Date.parse(options.from) : to - 86_400_000;
  if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
    io.err('error: --from and --to take ISO date-times (e.g. 2026-11-02T09:00+01:00), --from before --to');
    return undefined;
  }
  return { from, to };
}

export async function analyticsReportCommand(options: AnalyticsRangeOptions, io: CliIo, log: Logger): Promise<number> {
  const range = parseRange(options, io);
  if (!range) return EXIT_BAD_INPUT;
  const result = await withStoreDatabase(options, io, log, async (config, database) => analyticsReport(database.handle, config, range.from, range.to));
  if (typeof result === 'number') return result;
  for (const h of result.hours) io.err(`${h.hour}: ${h.entries} in, ${h.exits} out, ${h.visits} visits, conversion ${h.conversion ?? '–'}, peak ${h.peakOccupancy} on the floor`);
  printResult(io, { ok: true, ...result });
  return EXIT_OK;
}

export async function analyticsHeatmapCommand(options: HeatmapCliOptions, io: CliIo, log: Logger): Promise<number> {
  const range = parseRange(options, io);
  if (!range) return EXIT_BAD_INPUT;
  if (options.pixelsPerMetre !== undefined && !(options.pixelsPerMetre > 0 && options.pixelsPerMetre <= 400)) {
    io.err('error: --pixels-per-metre takes a number in (0, 400]');
    return EXIT_BAD_INPUT;
  }
  const result = await withStoreDatabase(options, io, log, async (config, database) => {
    const { widthM, depthM, planImage } = config.store.floor;
    const grid = new FloorGrid(widthM, depthM, config.analytics.heatmap.cellM);
    const hours = new LocalHours(config.store.timezone);
    const heat = new AnalyticsRepository(database.handle).heat(hours.startOf(range.from), range.to, grid.cellM);
    const seconds = new Float64Array(grid.cells);
    let total = 0;
    for (const [cell, s] of heat) {
      if (cell >= 0 && cell < seconds.length) seconds[cell] = s;
      total += s;
    }
    try {
      const image = await renderHeatmapPng(
        { cols: grid.cols, rows: grid.rows, cellM: grid.cellM, seconds },
        { widthM, depthM, ...(planImage ? { planImage: resolve(planImage) } : {}), ...(options.pixelsPerMetre ? { pixelsPerMetre: options.pixelsPerMetre } : {}) },
      );
      writeFileSync(options.out, image.png);
      return { out: resolve(options.out), width: image.width, height: image.height, maxSeconds: image.maxSeconds, occupiedCells: heat.size, occupancySeconds: Math.round(total * 1000) / 1000 };
    } catch (err) {
      if (isEdgeError(err)) {
        io.err(`error: ${err.message}`);
        return EXIT_BAD_INPUT;
      }
      throw err;
    }
  });
  if (typeof result === 'number') return result;
  io.err(`heatmap of ${result.occupancySeconds} occupancy seconds over ${result.occupiedCells} cells written to ${result.out}`);
  printResult(io, { ok: true, ...result });
  return EXIT_OK;
}

export async function markStaffCommand(options: MarkStaffOptions, io: CliIo, log: Logger): Promise<number> {
  const shopper = options.shopper.trim();
  if (shopper === '') {
    io.err('error: name the shopper track to mark (its id as shown on the admin page or in the store visits)');
    return EXIT_BAD_INPUT;
  }
  const by = options.by ?? `${userInfo().username}@${hostname()}`;
  const result = await withStoreDatabase(options, io, log, async (config, database) => {
    const repo = new AnalyticsRepository(database.handle);
    const id = repo.recordStaffMark(shopper, 'admin', by, Date.now());
    // Facts already stored are withdrawn at once; a running agent also drops the live track.
    const spans = repo.exclude(shopper, 'staff');
    new HourlySummary(database.handle, repo).rebuild(new LocalHours(config.store.timezone).hoursCovering(spans));
    return { id, touched: spans.length };
  });
  if (typeof result === 'number') return result;
  if (result.touched === 0) io.err(`note: no stored visit of ${shopper} yet; a running agent leaves the track out from now on`);
  printResult(io, { ok: true, shopper, markedBy: by, mark: result.id, storedFactsWithdrawn: result.touched });
  return EXIT_OK;
}
