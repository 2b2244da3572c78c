import type { Migration } from '../migrate.js';

/**
 * The effective configuration of every run, stored once per distinct content, so a receipt can
 * always be explained with the planogram and prices that were in force when it was made.
 */
export const configSnapshots: Migration = {
  version: 2,
  name: 'config-snapshots',
  up(db) {
    db.exec(`
      CREATE TABLE config_snapshots (
        hash          TEXT    PRIMARY KEY,
        config_json   TEXT    NOT NULL,
        first_used_at INTEGER NOT NULL,
        last_used_at  INTEGER NOT NULL
      );
      CREATE INDEX config_snapshots_last_used_at ON config_snapshots (last_used_at);
      ALTER TABLE agent_runs ADD COLUMN config_hash TEXT REFERENCES config_snapshots (hash) ON DELETE SET NULL;
    `);
  },
};
