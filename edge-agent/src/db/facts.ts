import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';

/**
 * The tables holding facts: what a replay must reproduce byte for byte. Bookkeeping tables
 * (runs, calibrations, snapshots) are not facts: they record when and how, not what happened.
 */
export const FACT_TABLES: readonly string[] = ['gate_events', 'weight_events', 'tag_events', 'tag_passages', 'alerts', 'zone_visits', 'store_visits'];

export interface FactsDigest {
  sha256: string;
  tables: Record<string, { rows: number; sha256: string }>;
}

/** A digest of every fact table, row by row in id order, so two replays can be compared exactly. */
export function factsDigest(db: Database): FactsDigest {
  const all = createHash('sha256');
  const tables: FactsDigest['tables'] = {};
  for (const table of FACT_TABLES) {
    const h = createHash('sha256');
    let rows = 0;
    for (const row of db.prepare(`SELECT * FROM ${table} ORDER BY id`).iterate()) {
      const line = JSON.stringify(row) + '\n';
      h.update(line);
      all.update(`${table}:${line}`);
      rows += 1;
    }
    tables[table] = { rows, sha256: h.digest('hex') };
  }
  return { sha256: all.digest('hex'), tables };
}
