/**
 * Hourly summaries for the cloud: for each closed local hour (closed for `mqtt.summaryDelayMinutes`
 * so late visits settle) within `mqtt.summaryLookbackHours`, one footfall, dwell and heatmap
 * message (and exposures when a source is given) is written into the outbox. A digest per kind
 * and hour in `sync_summaries` keeps an unchanged summary from being sent twice and sends a
 * changed one again with the next revision. Reads the hourly tables the analytics component
 * rebuilds; never rebuilds them itself.
 */
import { createHash } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type { StoreConfig } from '../device-config/schema.js';
import { FloorGrid } from '../edge-agent/src/analytics/floor-grid.js';
import { DURATION_BUCKETS_MIN, HourlySummary } from '../edge-agent/src/analytics/hourly-summary.js';
import { HOUR, LocalHours } from '../edge-agent/src/analytics/local-hours.js';
import type { StoreDatabase } from '../edge-agent/src/db/database.js';
import { AnalyticsRepository } from '../edge-agent/src/db/repositories/analytics.js';
import { OutboxRepository } from '../edge-agent/src/db/repositories/outbox.js';
import { describeError } from '../edge-agent/src/errors.js';
import type { Component, ComponentHealth } from '../edge-agent/src/lifecycle.js';
import type { Logger } from '../edge-agent/src/log.js';
import { round3 } from '../edge-agent/src/numbers.js';
import type { ExposureSummaryPayload, StockSummaryPayload, SummaryMessages } from './summary-payloads.js';

export type SummaryKind = 'footfall' | 'dwell' | 'heatmap' | 'exposures' | 'stock';

/** Shelf-screen exposures of [hourStart, hourEnd); undefined when they are not known. */
export type ExposureSource = (hourStart: number, hourEnd: number) => ExposureSummaryPayload['screens'] | undefined;

/** Stock per product of [hourStart, hourEnd); undefined when the store counts no stock. */
export type StockSource = (hourStart: number, hourEnd: number) => StockSummaryPayload['products'] | undefined;

type Body<K extends keyof SummaryMessages> = Omit<SummaryMessages[K], 'idempotencyKey' | 'revision'>;

interface Candidate {
  kind: SummaryKind;
  body: Body<keyof SummaryMessages>;
  digest: string;
}

export class SummaryWriter {
  private readonly hours: LocalHours;
  private readonly summary: HourlySummary;
  private readonly analytics: AnalyticsRepository;
  private readonly outbox: OutboxRepository;
  private readonly grid: FloorGrid;
  private readonly firstRun: Statement;
  private readonly receiptsIn: Statement;
  private readonly previous: Statement;
  private readonly upsert: Statement;
  private readonly writeHour: (hourStart: number, candidates: readonly Candidate[], at: number) => number;
  private lastHour: number | null = null;

  constructor(
    db: Database,
    private readonly config: StoreConfig,
    private readonly exposures?: ExposureSource,
    private readonly stock?: StockSource,
  ) {
    this.hours = new LocalHours(config.store.timezone);
    this.analytics = new AnalyticsRepository(db);
    this.summary = new HourlySummary(db, this.analytics);
    this.outbox = new OutboxRepository(db);
    this.grid = new FloorGrid(config.store.floor.widthM, config.store.floor.depthM, config.analytics.heatmap.cellM);
    this.firstRun = db.prepare('SELECT MIN(started_at) AS at FROM agent_runs');
    this.receiptsIn = db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(total), 0) AS revenue FROM receipts WHERE closed_at >= ? AND closed_at < ?');
    this.previous = db.prepare('SELECT revision, digest FROM sync_summaries WHERE kind = ? AND hour_start = ?');
    this.upsert = db.prepare(
      'INSERT INTO sync_summaries (kind, hour_start, revision, digest, written_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, hour_start) DO UPDATE SET revision = excluded.revision, digest = excluded.digest, written_at = excluded.written_at',
    );
    this.writeHour = db.transaction((hourStart: number, candidates: readonly Candidate[], at: number) => {
      let written = 0;
      for (const c of candidates) {
        const prev = this.previous.get(c.kind, hourStart) as { revision: number; digest: string } | undefined;
        if (prev?.digest === c.digest) continue;
        const revision = prev ? prev.revision + 1 : 0;
        const idempotencyKey = `${this.config.store.id}:${c.kind}:${new Date(hourStart).toISOString()}:r${revision}`;
        const topic = `summary.${c.kind}` as keyof SummaryMessages;
        this.outbox.add(topic, { ...c.body, idempotencyKey, revision } as SummaryMessages[typeof topic], at);
        this.upsert.run(c.kind, hourStart, revision, c.digest, Math.round(at));
        written += 1;
      }
      return written;
    });
  }

  /** Start of the latest hour a summary was written for by this writer, null before the first. */
  get lastWrittenHour(): number | null {
    return this.lastHour;
  }

  /** Writes the summaries of every closed hour in the lookback that are new or changed. */
  writeClosedHours(now: number): { written: number } {
    const first = (this.firstRun.get() as { at: number | null }).at;
    if (first === null) return { written: 0 };
    const { summaryDelayMinutes, summaryLookbackHours } = this.config.mqtt;
    const oldest = now - summaryLookbackHours * HOUR;
    const delay = summaryDelayMinutes * 60_000;
    let written = 0;
    for (const h of this.hours.hoursBetween(Math.max(oldest, first), now)) {
      if (h < oldest) continue;
      if (h + HOUR + delay > now) break;
      const n = this.writeHour(h, this.candidates(h), now);
      if (n > 0) {
        written += n;
        this.lastHour = Math.max(this.lastHour ?? h, h);
      }
    }
    return { written };
  }

  private candidates(h: number): Candidate[] {
    const end = h + HOUR;
    const head = {
      v: 1 as const,
      storeId: this.config.store.id,
      hourStart: new Date(h).toISOString(),
      hourEnd: new Date(end).toISOString(),
      hourLabel: this.hours.label(h),
    };

    const ff = this.summary.footfall(h, end)[0];
    const receipts = this.receiptsIn.get(h, end) as { n: number; revenue: number };
    const footfall: Body<'summary.footfall'> = {
      ...head,
      gateEntries: ff?.gateEntries ?? 0,
      gateExits: ff?.gateExits ?? 0,
      visitsStarted: ff?.visitsStarted ?? 0,
      visitsEnded: ff?.visitsEnded ?? 0,
      visitsWithPick: ff?.visitsWithPick ?? 0,
      visitSeconds: ff?.visitSeconds ?? 0,
      peakOccupancy: ff?.peakOccupancy ?? 0,
      durationBuckets: {
        upToMinutes: [...DURATION_BUCKETS_MIN],
        counts: ff?.durationCounts ?? new Array<number>(DURATION_BUCKETS_MIN.length + 1).fill(0),
      },
      receipts: receipts.n,
      revenue: receipts.revenue,
    };

    const dwell: Body<'summary.dwell'> = {
      ...head,
      zones: this.summary.dwell(h, end).map((d) => ({
        zone: d.zone,
        visits: d.visits,
        dwellSeconds: d.dwellSeconds,
        medianSeconds: d.medianSeconds,
        maxSeconds: d.maxSeconds,
        withPick: d.withPick,
        lingered: d.lingered,
      })),
    };

    const cellM = this.config.analytics.heatmap.cellM;
    const cells = [...this.analytics.heat(h, end, cellM)].sort((a, b) => a[0] - b[0]).map(([cell, s]): [number, number] => [cell, round3(s)]);
    const heatmap: Body<'summary.heatmap'> = {
      ...head,
      cellM,
      cols: this.grid.cols,
      rows: this.grid.rows,
      cells,
      totalSeconds: round3(cells.reduce((sum, [, s]) => sum + s, 0)),
    };

    const out: Candidate[] = [
      { kind: 'footfall', body: footfall, digest: digestOf(footfall) },
      { kind: 'dwell', body: dwell, digest: digestOf(dwell) },
      { kind: 'heatmap', body: heatmap, digest: digestOf(heatmap) },
    ];
    const screens = this.exposures?.(h, end);
    if (screens) {
      // Configured screens that showed nothing are sent as zeros, like an empty footfall hour.
      const byScreen = new Map(screens.map((s) => [s.screen, s]));
      for (const s of this.config.screens) if (!byScreen.has(s.id)) byScreen.set(s.id, { screen: s.id, shown: 0, byTrigger: {}, attributedPicks: 0 });
      const exposures: Body<'summary.exposures'> = { ...head, screens: [...byScreen.values()].sort((a, b) => (a.screen < b.screen ? -1 : a.screen > b.screen ? 1 : 0)) };
      out.push({ kind: 'exposures', body: exposures, digest: digestOf(exposures) });
    }
    const products = this.stock?.(h, end);
    if (products) {
      const stock: Body<'summary.stock'> = { ...head, products };
      out.push({ kind: 'stock', body: stock, digest: digestOf(stock) });
    }
    return out;
  }
}

/** sha256 of the body as JSON with object keys sorted, so key order never reads as a change. */
function digestOf(body: object): string {
  const json = JSON.stringify(body, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  );
  return createHash('sha256').update(json).digest('hex');
}

export interface HourlySummariesOptions {
  config: StoreConfig;
  database: StoreDatabase;
  log: Logger;
  clock?: () => number;
  /** How often closed hours are looked at (default 60 s). */
  checkMs?: number;
  exposures?: ExposureSource;
  stock?: StockSource;
}

export class HourlySummaries implements Component {
  readonly name = 'summaries';
  readonly dependsOn = ['database'] as const;
  private writer: SummaryWriter | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: () => number;
  private readonly checkMs: number;
  private written = 0;
  private failures = 0;
  private lastError: string | undefined;

  constructor(private readonly options: HourlySummariesOptions) {
    this.clock = options.clock ?? Date.now;
    this.checkMs = options.checkMs ?? 60_000;
  }

  async start(): Promise<void> {
    this.writer = new SummaryWriter(this.options.database.handle, this.options.config, this.options.exposures, this.options.stock);
    this.check();
    this.timer = setInterval(() => this.check(), this.checkMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.writer = undefined;
  }

  health(): ComponentHealth {
    const last = this.writer?.lastWrittenHour ?? null;
    return {
      status: this.lastError ? 'degraded' : 'up',
      ...(this.lastError ? { detail: `hourly summaries not written: ${this.lastError}` } : {}),
      lastWrittenHour: last === null ? null : new Date(last).toISOString(),
      counters: { written: this.written, failures: this.failures },
    };
  }

  /** One look at the closed hours; a failure is counted and logged, never thrown into the timer. */
  check(): void {
    if (!this.writer) return;
    try {
      const { written } = this.writer.writeClosedHours(this.clock());
      this.written += written;
      this.lastError = undefined;
      if (written > 0) this.options.log.debug({ written }, 'hourly summaries written to the outbox');
    } catch (err) {
      this.failures += 1;
      this.lastError = describeError(err);
      this.options.log.error({ err }, 'hourly summaries not written');
    }
  }
}
