import type { Migration } from '../migrate.js';

/**
 * What cloud sync keeps besides the outbox: the hourly summaries already written for the cloud
 * (a digest per kind and hour, so a summary whose hour changed afterwards is sent again as a new
 * revision, and an unchanged one never twice), and the content the cloud set for shelf screens.
 */
export const syncState: Migration = {
  version: 10,
  name: 'sync-state',
  up(db) {
    db.exec(`
      CREATE TABLE sync_summaries (
        kind       TEXT    NOT NULL,
        hour_start INTEGER NOT NULL,
        revision   INTEGER NOT NULL,
        digest     TEXT    NOT NULL,
        written_at INTEGER NOT NULL,
        PRIMARY KEY (kind, hour_start)
      );
      CREATE TABLE screen_content (
        screen     TEXT    PRIMARY KEY,
        content    TEXT    NOT NULL,
        set_at     INTEGER NOT NULL,
        expires_at INTEGER
      );
    `);
  },
};
