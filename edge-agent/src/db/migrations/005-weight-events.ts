import type { Migration } from '../migrate.js';

/** Shelf weight events with the product hypotheses that explain them. */
export const weightEvents: Migration = {
  version: 5,
  name: 'weight-events',
  up(db) {
    db.exec(`
      CREATE TABLE weight_events (
        id           INTEGER PRIMARY KEY,
        shelf        TEXT    NOT NULL,
        plates       TEXT    NOT NULL,
        t_start      INTEGER NOT NULL,
        t_end        INTEGER NOT NULL,
        delta_grams  REAL    NOT NULL,
        per_plate    TEXT    NOT NULL,
        noise_sigma  REAL    NOT NULL,
        kind         TEXT    NOT NULL CHECK (kind IN ('pick', 'return')),
        candidates   TEXT    NOT NULL,
        top_product  TEXT,
        top_count    INTEGER NOT NULL,
        confidence   REAL    NOT NULL,
        flags        TEXT    NOT NULL
      );
      CREATE INDEX weight_events_t_end ON weight_events (t_end);
      CREATE INDEX weight_events_shelf ON weight_events (shelf, t_end);
    `);
  },
};
