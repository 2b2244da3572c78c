import type { Database } from 'better-sqlite3';
import { EdgeError, ErrorCode, describeError } from '../errors.js';

export interface Migration {
  /** 1, 2, 3, … without gaps; a released migration is never edited, only followed by a new one. */
  version: number;
  name: string;
  up(db: Database): void;
}

export interface MigrationReport {
  from: number;
  to: number;
  applied: string[];
}

const BOOKKEEPING = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
  )`;

export function schemaVersion(db: Database): number {
  db.exec(BOOKKEEPING);
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

export function assertMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list out of order: position ${i + 1} holds version ${m.version} (${m.name})`);
  });
}

/**
 * Applies every pending migration in one transaction: the database is either at its old
 * version or at the newest, never in between. A database written by a newer agent is refused
 * rather than touched.
 */
export function migrate(db: Database, migrations: readonly Migration[], now: () => number = Date.now): MigrationReport {
  assertMigrationList(migrations);
  const from = schemaVersion(db);
  const latest = migrations.length;
  if (from > latest) {
    throw new EdgeError(
      ErrorCode.DbSchemaTooNew,
      `database schema is version ${from} but this agent knows up to ${latest}; it was written by a newer agent — refusing to touch it`,
      { details: { from, latest } },
    );
  }
  const pending = migrations.slice(from);
  if (pending.length === 0) return { from, to: from, applied: [] };
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  let current: Migration | undefined;
  try {
    db.transaction(() => {
      for (const m of pending) {
        current = m;
        m.up(db);
        record.run(m.version, m.name, now());
      }
    })();
  } catch (err) {
    throw new EdgeError(
      ErrorCode.DbMigrationFailed,
      `migration ${current?.version} (${current?.name}) failed, database left at version ${from}: ${describeError(err)}`,
      { cause: err, details: { from, failed: current?.version } },
    );
  }
  // Mirrors the version where sqlite3 and other tools look for it.
  db.pragma(`user_version = ${latest}`);
  return { from, to: latest, applied: pending.map((m) => `${m.version}-${m.name}`) };
}
