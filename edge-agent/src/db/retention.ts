import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { DataClass, RetentionConfig } from '../../../device-config/schema.js';
import { describeError } from '../errors.js';
import type { Component, ComponentHealth } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { StoreDatabase } from './database.js';

/** A table whose rows expire after the days configured for their data class. */
export interface RetentionRule {
  dataClass: DataClass;
  table: string;
  /** Column holding the row's time in ms since the epoch. */
  timeColumn: string;
  /** SQL condition for rows kept regardless of age. */
  keep?: string;
}

/**
 * Every expiring table, by data class. Order matters where rows reference each other: runs go
 * before the configuration snapshots they point at.
 */
export const RETENTION_RULES: readonly RetentionRule[] = [
  // The newest run is the one in progress, however long it has been running.
  { dataClass: 'operations', table: 'agent_runs', timeColumn: 'started_at', keep: 'id = (SELECT MAX(id) FROM agent_runs)' },
  { dataClass: 'operations', table: 'config_snapshots', timeColumn: 'last_used_at', keep: 'hash IN (SELECT config_hash FROM agent_runs WHERE config_hash IS NOT NULL)' },
  { dataClass: 'sessions', table: 'gate_events', timeColumn: 'at' },
  { dataClass: 'observations', table: 'weight_events', timeColumn: 't_end' },
  { dataClass: 'observations', table: 'tag_events', timeColumn: 'at' },
  // Passages decide billing: kept as long as receipts, so a serial number is never billed twice.
  { dataClass: 'receipts', table: 'tag_passages', timeColumn: 'at' },
  { dataClass: 'sessions', table: 'cart_lines', timeColumn: 'at' },
  { dataClass: 'sessions', table: 'session_members', timeColumn: 'joined_at' },
  { dataClass: 'sessions', table: 'shopper_sessions', timeColumn: 'started_at', keep: "status = 'open'" },
  { dataClass: 'receipts', table: 'receipts', timeColumn: 'closed_at' },
  // The newest receipt outlives its age (below); so do its lines.
  { dataClass: 'receipts', table: 'receipt_lines', timeColumn: 'closed_at', keep: 'receipt_id = (SELECT MAX(id) FROM receipts)' },
  { dataClass: 'receipts', table: 'review_items', timeColumn: 'created_at', keep: 'decided_at IS NULL' },
  { dataClass: 'operations', table: 'alerts', timeColumn: 'state_at', keep: "state != 'resolved'" },
  { dataClass: 'analytics', table: 'zone_visits', timeColumn: 'entered_at' },
  { dataClass: 'analytics', table: 'store_visits', timeColumn: 'entered_at' },
  { dataClass: 'analytics', table: 'staff_marks', timeColumn: 'at' },
  { dataClass: 'analytics', table: 'heatmap_hourly', timeColumn: 'hour_start' },
  { dataClass: 'analytics', table: 'dwell_hourly', timeColumn: 'hour_start' },
  { dataClass: 'analytics', table: 'footfall_hourly', timeColumn: 'hour_start' },
  { dataClass: 'analytics', table: 'sync_summaries', timeColumn: 'hour_start' },
  { dataClass: 'analytics', table: 'screen_attributions', timeColumn: 'picked_at' },
  // Who changed what on the admin page is kept as long as the receipts it may have changed.
  { dataClass: 'receipts', table: 'audit_log', timeColumn: 'at' },
  { dataClass: 'analytics', table: 'stock_movements', timeColumn: 'at' },
  { dataClass: 'analytics', table: 'stock_outages', timeColumn: 'started_at', keep: 'ended_at IS NULL' },
  { dataClass: 'operations', table: 'user_sessions', timeColumn: 'expires_at' },
  { dataClass: 'analytics', table: 'screen_exposures', timeColumn: 'shown_at' },
  // Unsent messages never outlive the receipts they describe: the backlog alert fires long before.
  { dataClass: 'receipts', table: 'outbox', timeColumn: 'created_at' },
];

const DAY_MS = 86_400_000;
const BATCH_ROWS = 2_000;

export interface RetentionReport {
  at: number;
  deleted: Record<string, number>;
  ms: number;
}

/**
 * Deletes expired rows in small batches, yielding to the event loop between them so that a
 * first run over a long backlog never stalls sensor sampling.
 */
export class RetentionJob implements Component {
  readonly name = 'retention';
  readonly dependsOn = ['database'] as const;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionReport> | undefined;
  private last: RetentionReport | undefined;
  private lastError: string | undefined;
  private stopping = false;
  /** Tables whose rows are known by an integer id (the schema does not change while the agent runs). */
  private readonly integerIds = new Map<string, boolean>();

  constructor(
    private readonly database: StoreDatabase,
    private readonly config: RetentionConfig,
    private readonly log: Logger,
    private readonly rules: readonly RetentionRule[] = RETENTION_RULES,
    private readonly clock: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    this.stopping = false;
    this.timer = setInterval(() => void this.runGuarded(), this.config.intervalMinutes * 60_000);
    this.timer.unref();
    void this.runGuarded();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  health(): ComponentHealth {
    return {
      status: this.lastError ? 'degraded' : 'up',
      ...(this.lastError ? { detail: this.lastError } : {}),
      lastRunAt: this.last?.at ?? null,
      lastDeleted: this.last?.deleted ?? {},
    };
  }

  /** One pass over every rule; concurrent calls share the pass in progress. */
  runOnce(): Promise<RetentionReport> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runGuarded(): Promise<void> {
    try {
      await this.runOnce();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = describeError(err);
      this.log.error({ err }, 'retention pass failed; will retry at the next interval');
    }
  }

  private hasIntegerId(table: string): boolean {
    let known = this.integerIds.get(table);
    if (known === undefined) {
      const columns = this.database.handle.pragma(`table_info(${table})`) as { name: string; type: string; pk: number }[];
      known = columns.some((c) => c.name === 'id' && c.pk === 1 && c.type.toUpperCase() === 'INTEGER');
      this.integerIds.set(table, known);
    }
    return known;
  }

  private async pass(): Promise<RetentionReport> {
    const t0 = performance.now();
    const now = this.clock();
    const deleted: Record<string, number> = {};
    for (const rule of this.rules) {
      const cutoff = now - this.config[`${rule.dataClass}Days`] * DAY_MS;
      // A table's newest row always stays: SQLite gives an emptied table's next row id 1 again, and
      // ids are what receipts, sessions, gate passes and ledger lines are known by (the cloud's
      // idempotency keys, a receipt's unique session, the checkout's memory of exit passes).
      const newest = this.hasIntegerId(rule.table) ? ` AND id < (SELECT MAX(id) FROM ${rule.table})` : '';
      const keep = `${rule.keep ? ` AND NOT (${rule.keep})` : ''}${newest}`;
      const sql = `DELETE FROM ${rule.table} WHERE rowid IN (SELECT rowid FROM ${rule.table} WHERE ${rule.timeColumn} < ?${keep} LIMIT ${BATCH_ROWS})`;
      let total = 0;
      for (;;) {
        if (this.stopping || !this.database.isOpen) break;
        const changes = this.database.handle.prepare(sql).run(cutoff).changes;
        total += changes;
        if (changes < BATCH_ROWS) break;
        await yieldToLoop();
      }
      deleted[rule.table] = (deleted[rule.table] ?? 0) + total;
    }
    const report = { at: now, deleted, ms: Math.round(performance.now() - t0) };
    this.last = report;
    if (Object.values(deleted).some((n) => n > 0)) this.log.info(report, 'retention pass deleted expired rows');
    return report;
  }
}
