import type { Migration } from '../migrate.js';

/**
 * Stock on the shelves: the current count of each facing (kept so a restart starts from it), every
 * movement (sales, put-backs, restocks, corrections by weight) as a fact, and the spans a facing
 * was out of stock.
 */
export const shelfStock: Migration = {
  version: 13,
  name: 'shelf-stock',
  up(db) {
    db.exec(`
      CREATE TABLE stock_levels (
        plate      TEXT    PRIMARY KEY,
        product    TEXT    NOT NULL,
        units      INTEGER NOT NULL,
        zero       REAL    NOT NULL,
        foreign_items TEXT NOT NULL DEFAULT '[]',
        settled_at INTEGER,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE stock_movements (
        id           INTEGER PRIMARY KEY,
        at           INTEGER NOT NULL,
        plate        TEXT    NOT NULL,
        product      TEXT    NOT NULL,
        kind         TEXT    NOT NULL CHECK (kind IN ('counted', 'sale', 'put-back', 'restock', 'reconcile', 'misplaced', 'misplaced-removed')),
        delta        INTEGER NOT NULL,
        units        INTEGER NOT NULL,
        weight_event INTEGER
      );
      CREATE INDEX stock_movements_at ON stock_movements (at);
      CREATE TABLE stock_outages (
        id      INTEGER PRIMARY KEY,
        plate   TEXT    NOT NULL,
        product TEXT    NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at   INTEGER
      );
      CREATE INDEX stock_outages_started ON stock_outages (started_at);
    `);
  },
};
