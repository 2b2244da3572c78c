/**
 * The analytics page's API: a summary of whole store hours (footfall, dwell per zone, conversion,
 * shelf screens) and the heatmap PNG of the same hours. Everything is read through the functions
 * the `analytics` CLI uses (analyticsReport, the hourly tables, renderHeatmapPng), so the page and
 * the CLI never disagree.
 */
import { resolve } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { FastifyInstance, FastifyReply, FastifySchemaValidationError } from 'fastify';
import Type from 'typebox';
import type { StoreConfig } from '../../../../device-config/schema.js';
import { analyticsReport, type AnalyticsReport } from '../../analytics/analytics-report.js';
import { FloorGrid } from '../../analytics/floor-grid.js';
import { renderHeatmapPng, type HeatmapImage } from '../../analytics/heatmap-image.js';
import { HourlySummary, type FootfallHour } from '../../analytics/hourly-summary.js';
import { HOUR, LocalHours } from '../../analytics/local-hours.js';
import { AnalyticsRepository } from '../../db/repositories/analytics.js';
import { ReceiptRepository } from '../../db/repositories/receipts.js';
import { ScreenExposureRepository } from '../../db/repositories/screen-exposures.js';
import { isEdgeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { round3 } from '../../numbers.js';
import type { AdminContext } from '../admin-context.js';

export const MAX_RANGE_DAYS = 31;
const DAY_MS = 86_400_000;
// A time zone is required: without one the instant would depend on the server's own zone.
const ISO_DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2})$';
const ISO_HINT = 'an ISO date-time with a time zone, e.g. 2026-03-02T00:00:00+01:00';

export const RangeQuery = Type.Object(
  {
    from: Type.String({ pattern: ISO_DATE_TIME, maxLength: 40 }),
    to: Type.String({ pattern: ISO_DATE_TIME, maxLength: 40 }),
  },
  { additionalProperties: false },
);

/** Whole store hours: the first one holds `from`, the last one starts before `to`. */
export interface HourRange {
  from: number;
  to: number;
}

export interface HourRow {
  hourStart: number;
  /** The store's wall clock, "2026-03-02 11:00". */
  hour: string;
  gateEntries: number;
  gateExits: number;
  visitsStarted: number;
  visitsWithPick: number;
  peakOccupancy: number;
  receipts: number;
  revenue: number;
  /** Receipts per visit started; null without visits. */
  conversion: number | null;
}

export interface ZoneRow {
  zone: string;
  name: string;
  type: string;
  visits: number;
  dwellSeconds: number;
  meanDwellSeconds: number | null;
  medianDwellSeconds: number | null;
  maxDwellSeconds: number;
  withPick: number;
  lingered: number;
}

export interface ScreenRow {
  screen: string;
  name: string;
  shown: number;
  byTrigger: Record<string, number>;
  attributedPicks: number;
  triggered: { exposures: number; attributed: number; perExposure: number };
  idle: { exposures: number; attributed: number; perExposure: number };
  /** Attributed picks per triggered card over those per idle card; null without idle evidence. */
  uplift: number | null;
}

export interface AnalyticsSummary {
  from: string;
  to: string;
  timezone: string;
  hours: HourRow[];
  zones: ZoneRow[];
  footfall: Omit<AnalyticsReport['footfall'], 'conversion'> & { pickRate: number | null };
  conversion: { receipts: number; revenue: number; currency: string; visits: number; rate: number | null };
  heatmap: AnalyticsReport['heatmap'];
  screens: ScreenRow[];
  /** Outlines drawn over the heatmap image (metres, y down the plan like the image). */
  floor: { widthM: number; depthM: number; zones: { id: string; name: string; type: string; polygon: [number, number][] }[]; gondolas: { id: number; name: string; corners: [number, number][] }[] };
}

/** The whole store hours of [from, to), or why the range is refused. */
export function hourRange(query: { from: string; to: string }, hours: LocalHours): HourRange | string {
  const from = Date.parse(query.from);
  const to = Date.parse(query.to);
  if (!Number.isFinite(from)) return `from is not a valid date-time: ${query.from}`;
  if (!Number.isFinite(to)) return `to is not a valid date-time: ${query.to}`;
  if (from >= to) return 'from must be before to';
  if (to - from > MAX_RANGE_DAYS * DAY_MS) return `the range is longer than ${MAX_RANGE_DAYS} days`;
  return { from: hours.startOf(from), to: hours.startOf(to - 1) + HOUR };
}

export function analyticsSummary(db: Database, config: StoreConfig, layout: AdminContext['layout'], range: HourRange): AnalyticsSummary {
  const hours = new LocalHours(config.store.timezone);
  // analyticsReport takes an inclusive end (the CLI's --to): the last millisecond of the range.
  const report = analyticsReport(db, config, range.from, range.to - 1, Number.POSITIVE_INFINITY);
  const analytics = new AnalyticsRepository(db);
  const footfall = new Map<number, FootfallHour>(new HourlySummary(db, analytics).footfall(range.from, range.to).map((f) => [f.hourStart, f]));

  const receipts = new Map<number, { n: number; revenue: number }>();
  for (const r of new ReceiptRepository(db).between(range.from, range.to)) {
    const h = hours.startOf(r.closedAt);
    const slot = receipts.get(h) ?? { n: 0, revenue: 0 };
    slot.n += 1;
    slot.revenue += r.total;
    receipts.set(h, slot);
  }
  const hourRows = hours.hoursBetween(range.from, range.to - 1).map((h): HourRow => {
    const f = footfall.get(h);
    const r = receipts.get(h) ?? { n: 0, revenue: 0 };
    const visits = f?.visitsStarted ?? 0;
    return {
      hourStart: h,
      hour: hours.label(h),
      gateEntries: f?.gateEntries ?? 0,
      gateExits: f?.gateExits ?? 0,
      visitsStarted: visits,
      visitsWithPick: f?.visitsWithPick ?? 0,
      peakOccupancy: f?.peakOccupancy ?? 0,
      receipts: r.n,
      revenue: r.revenue,
      conversion: visits > 0 ? round3(r.n / visits) : null,
    };
  });

  const { conversion: pickRate, ...footfallTotals } = report.footfall;
  const receiptCount = hourRows.reduce((s, h) => s + h.receipts, 0);
  return {
    from: new Date(range.from).toISOString(),
    to: new Date(range.to).toISOString(),
    timezone: config.store.timezone,
    hours: hourRows,
    zones: zoneRows(config, report, medianDwell(analytics, range)),
    footfall: { ...footfallTotals, pickRate },
    conversion: {
      receipts: receiptCount,
      revenue: hourRows.reduce((s, h) => s + h.revenue, 0),
      currency: config.store.currency,
      visits: report.footfall.visits,
      rate: report.footfall.visits > 0 ? round3(receiptCount / report.footfall.visits) : null,
    },
    heatmap: report.heatmap,
    screens: screenRows(db, config, range),
    floor: {
      widthM: config.store.floor.widthM,
      depthM: config.store.floor.depthM,
      zones: layout.zones.map((z) => ({ id: z.id, name: config.zones.find((c) => c.id === z.id)?.name ?? z.id, type: z.type, polygon: z.polygon.map((p): [number, number] => [p.x, p.y]) })),
      gondolas: layout.gondolas.map((g) => ({ id: g.id, name: config.gondolas.find((c) => c.id === g.id)?.name ?? `Gondola ${g.id}`, corners: g.corners.map((p): [number, number] => [p.x, p.y]) })),
    },
  };
}

/**
 * Median dwell per zone over the whole range, from the stored visits counted the way the hourly
 * table counts them (entered in the range, not excluded): hourly medians cannot be combined.
 */
function medianDwell(repo: AnalyticsRepository, range: HourRange): Map<string, number> {
  const byZone = new Map<string, number[]>();
  for (const v of repo.zoneVisits(range.from, range.to)) {
    if (v.excluded !== null) continue;
    const list = byZone.get(v.zone) ?? [];
    list.push(v.dwellSeconds);
    byZone.set(v.zone, list);
  }
  const out = new Map<string, number>();
  for (const [zone, list] of byZone) {
    list.sort((a, b) => a - b);
    const n = list.length;
    out.set(zone, round3(n % 2 === 1 ? list[(n - 1) / 2]! : (list[n / 2 - 1]! + list[n / 2]!) / 2));
  }
  return out;
}

/** Every shopper zone of the store in configuration order (zeros when unvisited), then any other zone seen. */
function zoneRows(config: StoreConfig, report: AnalyticsReport, medians: Map<string, number>): ZoneRow[] {
  const seen = new Map(report.topDwellZones.map((z) => [z.zone, z]));
  const ids = [...config.zones.filter((z) => z.type !== 'staff-only').map((z) => z.id), ...[...seen.keys()].filter((id) => !config.zones.some((z) => z.id === id && z.type !== 'staff-only'))];
  return ids.map((id) => {
    const z = seen.get(id);
    const zc = config.zones.find((c) => c.id === id);
    return {
      zone: id,
      name: z?.name ?? zc?.name ?? id,
      type: z?.type ?? zc?.type ?? 'unknown',
      visits: z?.visits ?? 0,
      dwellSeconds: z?.dwellSeconds ?? 0,
      meanDwellSeconds: z && z.visits > 0 ? z.meanDwellSeconds : null,
      medianDwellSeconds: medians.get(id) ?? null,
      maxDwellSeconds: z?.maxDwellSeconds ?? 0,
      withPick: z?.withPick ?? 0,
      lingered: z?.lingered ?? 0,
    };
  });
}

/** Configured screens (zeros when they showed nothing) and any other screen with stored cards. */
function screenRows(db: Database, config: StoreConfig, range: HourRange): ScreenRow[] {
  const repo = new ScreenExposureRepository(db);
  const shown = new Map(repo.hour(range.from, range.to).map((s) => [s.screen, s]));
  const uplift = new Map(repo.uplift(range.from, range.to).map((u) => [u.screen, u]));
  const ids = [...new Set([...config.screens.map((s) => s.id), ...shown.keys(), ...uplift.keys()])];
  const none = { exposures: 0, attributed: 0, perExposure: 0 };
  return ids.map((id) => {
    const s = shown.get(id);
    const u = uplift.get(id);
    return {
      screen: id,
      name: config.screens.find((c) => c.id === id)?.name ?? id,
      shown: s?.shown ?? 0,
      byTrigger: s?.byTrigger ?? {},
      attributedPicks: s?.attributedPicks ?? 0,
      triggered: u ? { ...u.triggered, perExposure: round3(u.triggered.perExposure) } : none,
      idle: u ? { ...u.idle, perExposure: round3(u.idle.perExposure) } : none,
      uplift: u?.uplift == null ? null : round3(u.uplift),
    };
  });
}

/** The heat of the range over the floor plan, as the `analytics heatmap` command draws it. */
export async function heatmapOf(db: Database, config: StoreConfig, range: HourRange, log: Logger): Promise<HeatmapImage> {
  const { widthM, depthM, planImage } = config.store.floor;
  const grid = new FloorGrid(widthM, depthM, config.analytics.heatmap.cellM);
  const seconds = new Float64Array(grid.cells);
  for (const [cell, s] of new AnalyticsRepository(db).heat(range.from, range.to, grid.cellM)) {
    if (cell >= 0 && cell < seconds.length) seconds[cell] = s;
  }
  const cells = { cols: grid.cols, rows: grid.rows, cellM: grid.cellM, seconds };
  if (!planImage) return renderHeatmapPng(cells, { widthM, depthM });
  try {
    return await renderHeatmapPng(cells, { widthM, depthM, planImage: resolve(planImage) });
  } catch (err) {
    // A missing or broken plan must not hide the heat: drawn on the plain background instead.
    if (!isEdgeError(err)) throw err;
    log.warn({ err }, 'floor plan image unreadable: heatmap drawn without it');
    return renderHeatmapPng(cells, { widthM, depthM });
  }
}

/** 400 reasons a person can act on, instead of the schema's pattern. */
function rangeSchemaError(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const e = errors[0];
  if (!e) return new Error(`bad ${dataVar}`);
  const field = e.instancePath.replace(/^\//, '') || String((e.params as { missingProperty?: string }).missingProperty ?? '');
  if (field === 'from' || field === 'to') return new Error(e.keyword === 'required' ? `${field} is required: ${ISO_HINT}` : `${field} must be ${ISO_HINT}`);
  return new Error(`${dataVar}${e.instancePath} ${e.message ?? 'is invalid'}`);
}

export function analyticsApi(app: FastifyInstance, ctx: AdminContext): void {
  const hours = new LocalHours(ctx.config.store.timezone);
  const routeOptions = { config: { role: 'viewer' as const }, schema: { querystring: RangeQuery }, schemaErrorFormatter: rangeSchemaError };

  /** The open database and the range asked for, or the refusal already sent. */
  const prepare = (query: unknown, reply: FastifyReply): { db: Database; range: HourRange } | undefined => {
    const range = hourRange(query as Type.Static<typeof RangeQuery>, hours);
    if (typeof range === 'string') {
      void reply.code(400).send({ statusCode: 400, error: range });
      return undefined;
    }
    const database = ctx.database();
    if (!database) {
      void reply.code(503).send({ statusCode: 503, error: 'the store database is not open' });
      return undefined;
    }
    return { db: database.handle, range };
  };

  app.get('/api/analytics/summary', routeOptions, async (request, reply) => {
    const ready = prepare(request.query, reply);
    if (!ready) return reply;
    reply.header('cache-control', 'no-store');
    return analyticsSummary(ready.db, ctx.config, ctx.layout, ready.range);
  });

  app.get('/api/analytics/heatmap.png', routeOptions, async (request, reply) => {
    const ready = prepare(request.query, reply);
    if (!ready) return reply;
    const image = await heatmapOf(ready.db, ctx.config, ready.range, ctx.log);
    return reply.header('cache-control', 'no-store').header('x-heatmap-max-seconds', String(round3(image.maxSeconds))).type('image/png').send(image.png);
  });
}
