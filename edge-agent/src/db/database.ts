import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { EdgeError, ErrorCode, describeError } from '../errors.js';
import type { Component, ComponentHealth } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { migrate, schemaVersion, type Migration } from './migrate.js';
import { MIGRATIONS } from './migrations/index.js';

export type { Database };

export const DATABASE_FILE = 'store.db';
const BACKUPS_KEPT = 3;

/** Opens a store database with the settings every connection must have. */
export function openDatabase(file: string): Database {
  let db: Database;
  try {
    db = new BetterSqlite3(file);
  } catch (err) {
    throw new EdgeError(ErrorCode.DbOpenFailed, `cannot open database ${file}: ${describeError(err)}`, { cause: err });
  }
  try {
    // WAL + NORMAL: a committed transaction survives a process crash; only an OS crash or power
    // loss can roll back the last few, and the file itself never corrupts.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
  } catch (err) {
    db.close();
    throw new EdgeError(ErrorCode.DbOpenFailed, `database ${file} is not usable: ${describeError(err)}`, { cause: err });
  }
  return db;
}

/**
 * The agent's SQLite database, as a component: opened and migrated on start (after a backup
 * when an existing database is about to change), checkpointed and closed last on stop.
 */
export class StoreDatabase implements Component {
  readonly name = 'database';
  private db: Database | undefined;
  private lastVersion = 0;

  constructor(
    readonly dataDir: string,
    private readonly log: Logger,
    private readonly migrations: readonly Migration[] = MIGRATIONS,
  ) {}

  get file(): string {
    return join(this.dataDir, DATABASE_FILE);
  }

  get handle(): Database {
    if (!this.db) throw new EdgeError(ErrorCode.DbNotOpen, 'database is not open');
    return this.db;
  }

  get isOpen(): boolean {
    return this.db !== undefined;
  }

  async start(): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    const db = openDatabase(this.file);
    try {
      const from = schemaVersion(db);
      if (from > 0 && from < this.migrations.length) await this.backup(db, from);
      const report = migrate(db, this.migrations);
      this.lastVersion = report.to;
      if (report.applied.length > 0) this.log.info({ from: report.from, to: report.to, applied: report.applied }, 'database migrated');
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
    this.log.info({ file: this.file, schema: this.lastVersion }, 'database open');
  }

  async stop(): Promise<void> {
    const db = this.db;
    if (!db) return;
    this.db = undefined;
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
    this.log.info('database closed');
  }

  health(): ComponentHealth {
    if (!this.db) return { status: 'down', detail: 'not open' };
    const t0 = performance.now();
    try {
      this.db.prepare('SELECT 1').get();
    } catch (err) {
      return { status: 'down', detail: describeError(err) };
    }
    return { status: 'up', schema: this.lastVersion, latencyMs: Math.round((performance.now() - t0) * 1000) / 1000 };
  }

  private async backup(db: Database, fromVersion: number): Promise<void> {
    const dir = join(this.dataDir, 'backups');
    await mkdir(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const target = join(dir, `store-schema${fromVersion}-${stamp}.db`);
    await db.backup(target);
    this.log.info({ target }, 'database backed up before migration');
    const old = (await readdir(dir)).filter((f) => f.startsWith('store-schema') && f.endsWith('.db')).sort();
    for (const f of old.slice(0, Math.max(0, old.length - BACKUPS_KEPT))) await rm(join(dir, f), { force: true });
  }
}
