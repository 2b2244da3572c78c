import { createHash } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';

/** Stores each distinct effective configuration once, keyed by the SHA-256 of its JSON. */
export class ConfigSnapshotRepository {
  private readonly upsert: Statement;
  private readonly byHash: Statement;

  constructor(db: Database) {
    this.upsert = db.prepare(`
      INSERT INTO config_snapshots (hash, config_json, first_used_at, last_used_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (hash) DO UPDATE SET last_used_at = excluded.last_used_at`);
    this.byHash = db.prepare('SELECT config_json FROM config_snapshots WHERE hash = ?');
  }

  record(config: unknown, at: number): string {
    const json = JSON.stringify(config);
    const hash = createHash('sha256').update(json).digest('hex');
    this.upsert.run(hash, json, at, at);
    return hash;
  }

  get(hash: string): unknown {
    const row = this.byHash.get(hash) as { config_json: string } | undefined;
    return row && JSON.parse(row.config_json);
  }
}
