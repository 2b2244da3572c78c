import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { StoreDatabase, openDatabase } from '../../edge-agent/src/db/database.js';
import { migrate, schemaVersion, type Migration } from '../../edge-agent/src/db/migrate.js';
import { MIGRATIONS } from '../../edge-agent/src/db/migrations/index.js';
import { AgentRunRepository } from '../../edge-agent/src/db/repositories/agent-runs.js';
import { ConfigSnapshotRepository } from '../../edge-agent/src/db/repositories/config-snapshots.js';
import { AlertRepository } from '../../edge-agent/src/db/repositories/alerts.js';
import { OutboxRepository } from '../../edge-agent/src/db/repositories/outbox.js';
import { RetentionJob } from '../../edge-agent/src/db/retention.js';
import { ErrorCode, isEdgeError } from '../../edge-agent/src/errors.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

const tables = (db: BetterSqlite3.Database) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);

describe('database migrations', () => {
  it('creates the whole schema on an empty database, with WAL and NORMAL sync', async () => {
    const dir = tempDir();
    const database = new StoreDatabase(join(dir, 'data'), silentLogger());
    await database.start();
    const db = database.handle;
    expect(tables(db)).toEqual([
      'agent_runs', 'alerts', 'audit_log', 'cart_lines', 'config_snapshots', 'dwell_hourly', 'footfall_hourly', 'gate_events', 'heatmap_hourly', 'outbox', 'plate_calibrations',
      'product_references', 'receipt_lines', 'receipts', 'review_items', 'schema_migrations', 'screen_attributions', 'screen_content', 'screen_exposures', 'screen_tokens', 'session_members', 'shopper_sessions', 'sqlite_sequence', 'staff_marks', 'stock_levels', 'stock_movements', 'stock_outages', 'store_visits',
      'sync_summaries', 'tag_events', 'tag_passages', 'user_sessions', 'users', 'weight_events', 'zone_visits',
    ]);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(database.health()).toMatchObject({ status: 'up', schema: MIGRATIONS.length });
    await database.stop();
    // No backup for a brand-new database: there was nothing to lose.
    expect(existsSync(join(dir, 'data', 'backups'))).toBe(false);
    // Clean stop checkpoints the WAL into the main file.
    expect(existsSync(join(dir, 'data', 'store.db-wal'))).toBe(false);
  });

  it('upgrades an old database in place, keeping its rows, after backing it up', async () => {
    const dataDir = tempDir();
    const file = join(dataDir, 'store.db');
    // A database as the first release left it: schema version 1 with a run recorded.
    const old = openDatabase(file);
    migrate(old, MIGRATIONS.slice(0, 1));
    old.prepare("INSERT INTO agent_runs (started_at, stopped_at, stop_reason, agent_version, hostname, pid) VALUES (1000, 2000, 'SIGTERM', '0.0.1', 'box', 42)").run();
    old.close();

    const database = new StoreDatabase(dataDir, silentLogger());
    await database.start();
    const db = database.handle;
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    const runs = new AgentRunRepository(db);
    const newRun = runs.begin({ startedAt: 3000, agentVersion: '0.1.0', hostname: 'box', pid: 43, configHash: null });
    expect(runs.before(newRun)).toEqual([
      { id: 1, startedAt: 1000, stoppedAt: 2000, stopReason: 'SIGTERM', agentVersion: '0.0.1', hostname: 'box', pid: 42, configHash: null },
    ]);
    await database.stop();

    const backups = readdirSync(join(dataDir, 'backups'));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(/^store-schema1-.*\.db$/);
    const backup = new BetterSqlite3(join(dataDir, 'backups', backups[0]!), { readonly: true });
    expect(schemaVersion(backup)).toBe(1);
    backup.close();
  });

  it('keeps the messages waiting in the outbox when its ids become never-reused', () => {
    const db = openDatabase(join(tempDir(), 'store.db'));
    migrate(db, MIGRATIONS.slice(0, 13));
    const add = db.prepare("INSERT INTO outbox (id, topic, payload, idempotency_key, created_at) VALUES (?, 'alert.raised', '{}', ?, 1)");
    add.run(7, 'k7');
    add.run(9, 'k9');
    migrate(db, MIGRATIONS);
    expect(db.prepare('SELECT id, idempotency_key AS k FROM outbox ORDER BY id').all()).toEqual([{ id: 7, k: 'k7' }, { id: 9, k: 'k9' }]);
    db.prepare('DELETE FROM outbox').run();
    expect(Number(add.run(null, 'k10').lastInsertRowid)).toBe(10);
    db.close();
  });

  it('applies all pending migrations in one transaction: a failure leaves the old version intact', () => {
    const db = openDatabase(join(tempDir(), 'store.db'));
    migrate(db, MIGRATIONS.slice(0, 1));
    const broken: Migration[] = [
      ...MIGRATIONS,
      { version: MIGRATIONS.length + 1, name: 'half-done', up: (d) => d.exec('CREATE TABLE half (x); SELECT nonsense FROM nowhere;') },
    ];
    const err = (() => {
      try {
        migrate(db, broken);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isEdgeError(err, ErrorCode.DbMigrationFailed)).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`^migration ${MIGRATIONS.length + 1} \\(half-done\\) failed, database left at version 1: no such table: nowhere`));
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(['agent_runs', 'schema_migrations']);
    db.close();
  });

  it('is a no-op when the database is current', () => {
    const db = openDatabase(join(tempDir(), 'store.db'));
    expect(migrate(db, MIGRATIONS).applied).toEqual(['1-agent-runs', '2-config-snapshots', '3-gate-events', '4-plate-calibrations', '5-weight-events', '6-rfid-and-alerts', '7-analytics', '8-product-gallery', '9-checkout', '10-sync-state', '11-signage', '12-admin-users', '13-shelf-stock', '14-outbox-ids', '15-member-exits']);
    expect(migrate(db, MIGRATIONS)).toEqual({ from: MIGRATIONS.length, to: MIGRATIONS.length, applied: [] });
    db.close();
  });

  it('refuses a database written by a newer agent and leaves it untouched', async () => {
    const dataDir = tempDir();
    const db = openDatabase(join(dataDir, 'store.db'));
    migrate(db, [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'from-the-future', up: (d) => d.exec('CREATE TABLE future (x)') }]);
    db.close();
    const database = new StoreDatabase(dataDir, silentLogger());
    const err = await database.start().catch((e: unknown) => e);
    expect(isEdgeError(err, ErrorCode.DbSchemaTooNew)).toBe(true);
    expect(database.isOpen).toBe(false);
    const check = new BetterSqlite3(join(dataDir, 'store.db'), { readonly: true });
    expect(schemaVersion(check)).toBe(MIGRATIONS.length + 1);
    check.close();
  });

  it('rejects a file that is not a SQLite database with a clear error', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'store.db'), 'this is not a database, it is a shopping list'.repeat(100));
    const err = await new StoreDatabase(dataDir, silentLogger()).start().catch((e: unknown) => e);
    expect(isEdgeError(err, ErrorCode.DbOpenFailed)).toBe(true);
    expect((err as Error).message).toMatch(/is not usable: file is not a database/);
  });
});

describe('retention', () => {
  const DAY = 86_400_000;
  const retention = { observationsDays: 7, sessionsDays: 30, receiptsDays: 400, analyticsDays: 400, operationsDays: 90, intervalMinutes: 60 };

  it('deletes rows older than their data class allows, in batches, and keeps the current run', async () => {
    const database = new StoreDatabase(tempDir(), silentLogger());
    await database.start();
    const db = database.handle;
    const now = 1_000 * DAY;
    const runs = new AgentRunRepository(db);
    const snapshots = new ConfigSnapshotRepository(db);
    const oldHash = snapshots.record({ old: true }, now - 200 * DAY);
    const insertMany = db.transaction(() => {
      for (let i = 0; i < 4500; i++) {
        runs.begin({ startedAt: now - 100 * DAY - i, agentVersion: 'x', hostname: 'h', pid: i, configHash: oldHash });
      }
    });
    insertMany();
    const recentHash = snapshots.record({ recent: true }, now - DAY);
    const recent = runs.begin({ startedAt: now - DAY, agentVersion: 'x', hostname: 'h', pid: 1, configHash: recentHash });
    // The run in progress started long ago but must survive: it is still being written to.
    const current = runs.begin({ startedAt: now - 365 * DAY, agentVersion: 'x', hostname: 'h', pid: 2, configHash: oldHash });

    const job = new RetentionJob(database, retention, silentLogger(), undefined, () => now);
    const report = await job.runOnce();
    expect(report.deleted).toEqual({ agent_runs: 4500, config_snapshots: 0, gate_events: 0, weight_events: 0, tag_events: 0, tag_passages: 0, cart_lines: 0, session_members: 0, shopper_sessions: 0, receipts: 0, receipt_lines: 0, review_items: 0, alerts: 0, zone_visits: 0, store_visits: 0, staff_marks: 0, heatmap_hourly: 0, dwell_hourly: 0, footfall_hourly: 0, sync_summaries: 0, screen_attributions: 0, audit_log: 0, stock_movements: 0, stock_outages: 0, user_sessions: 0, screen_exposures: 0, outbox: 0 });
    const left = (db.prepare('SELECT id FROM agent_runs ORDER BY id').all() as { id: number }[]).map((r) => r.id);
    expect(left).toEqual([recent, current]);
    // The old snapshot is still referenced by the current run.
    expect(snapshots.get(oldHash)).toEqual({ old: true });
    expect(job.health()).toMatchObject({ status: 'up', lastRunAt: now, lastDeleted: { agent_runs: 4500 } });
    await database.stop();
  });

  it('drops configuration snapshots no run refers to any more', async () => {
    const database = new StoreDatabase(tempDir(), silentLogger());
    await database.start();
    const now = 1_000 * DAY;
    const snapshots = new ConfigSnapshotRepository(database.handle);
    const orphan = snapshots.record({ orphan: true }, now - 120 * DAY);
    const job = new RetentionJob(database, retention, silentLogger(), undefined, () => now);
    expect((await job.runOnce()).deleted).toEqual({ agent_runs: 0, config_snapshots: 1, gate_events: 0, weight_events: 0, tag_events: 0, tag_passages: 0, cart_lines: 0, session_members: 0, shopper_sessions: 0, receipts: 0, receipt_lines: 0, review_items: 0, alerts: 0, zone_visits: 0, store_visits: 0, staff_marks: 0, heatmap_hourly: 0, dwell_hourly: 0, footfall_hourly: 0, sync_summaries: 0, screen_attributions: 0, audit_log: 0, stock_movements: 0, stock_outages: 0, user_sessions: 0, screen_exposures: 0, outbox: 0 });
    expect(snapshots.get(orphan)).toBeUndefined();
    await database.stop();
  });

  it('never hands an id out twice: a drained outbox; expired receipts, alerts, staff marks, sessions and gate passes', async () => {
    const database = new StoreDatabase(tempDir(), silentLogger());
    await database.start();
    const db = database.handle;
    const now = 1_000 * DAY;
    const outbox = new OutboxRepository(db);
    const alerts = new AlertRepository(db, 'store-1');
    const receipt = db.prepare("INSERT INTO receipts (session_id, token, currency, total, confidence, status, closed_at, created_at) VALUES (?, 't', 'EUR', 100, 1, 'final', ?, ?)");
    const line = db.prepare("INSERT INTO receipt_lines (receipt_id, product, name, quantity, unit_price, total, confidence, status, cart_lines, closed_at) VALUES (?, 'cola', 'Cola', 1, 100, 100, 1, 'final', '[]', ?)");
    const mark = db.prepare("INSERT INTO staff_marks (shopper, reason, at) VALUES ('s', 'badge', ?)");
    const session = db.prepare("INSERT INTO shopper_sessions (token, gate, started_at, status) VALUES ('t', 'gate-entry', ?, 'closed')");
    const gate = db.prepare("INSERT INTO gate_events (gate, kind, direction, at) VALUES ('gate-exit', 'pass', 'out', ?)");
    const old = now - 500 * DAY;
    for (let n = 1; n <= 3; n++) {
      const id = Number(receipt.run(n, old, old).lastInsertRowid);
      line.run(id, old);
      mark.run(old);
      session.run(old);
      gate.run(old);
      alerts.raise('device-down', `scale-${n}`, {}, old);
      alerts.resolve('device-down', `scale-${n}`, {}, old);
    }
    // Every outbox row acknowledged: the publisher's cursor stands at the last id it sent.
    const sent = outbox.oldest(100).map((r) => r.id);
    outbox.acknowledgedAll(sent);
    expect(outbox.backlog().rows).toBe(0);
    const report = await new RetentionJob(database, retention, silentLogger(), undefined, () => now).runOnce();
    // The newest of each stays (with its lines) so the next id follows it.
    expect(report.deleted).toMatchObject({ receipts: 2, receipt_lines: 2, alerts: 2, staff_marks: 2, shopper_sessions: 2, gate_events: 2 });
    expect(db.prepare('SELECT receipt_id AS id FROM receipt_lines').all()).toEqual([{ id: 3 }]);

    outbox.add('receipt.created', { v: 1, idempotencyKey: 'store-1:receipt:4:r0', storeId: 'store-1', receiptId: 4, revision: 0, sessionId: 4, token: 't', closedAt: new Date(now).toISOString(), currency: 'EUR', lines: [], total: 1, pendingReview: 0 }, now);
    expect(outbox.after(Math.max(...sent), 10).map((r) => r.idempotencyKey)).toEqual(['store-1:receipt:4:r0']);
    expect(Number(receipt.run(4, now, now).lastInsertRowid)).toBe(4);
    expect(alerts.raise('device-down', 'scale-9', {}, now).alert.id).toBe(4);
    expect(Number(mark.run(now).lastInsertRowid)).toBe(4);
    // A session's id names its one receipt: a reused id could never be billed.
    expect(Number(session.run(now).lastInsertRowid)).toBe(4);
    expect(Number(gate.run(now).lastInsertRowid)).toBe(4);
    await database.stop();
  });

  it('honours the configured days per class', async () => {
    const database = new StoreDatabase(tempDir(), silentLogger());
    await database.start();
    const now = 1_000 * DAY;
    const runs = new AgentRunRepository(database.handle);
    runs.begin({ startedAt: now - 10 * DAY, agentVersion: 'x', hostname: 'h', pid: 1, configHash: null });
    runs.begin({ startedAt: now, agentVersion: 'x', hostname: 'h', pid: 2, configHash: null });
    const keepLong = new RetentionJob(database, retention, silentLogger(), undefined, () => now);
    expect((await keepLong.runOnce()).deleted['agent_runs']).toBe(0);
    const keepShort = new RetentionJob(database, { ...retention, operationsDays: 5 }, silentLogger(), undefined, () => now);
    expect((await keepShort.runOnce()).deleted['agent_runs']).toBe(1);
    await database.stop();
  });
});
