import type { Migration } from '../migrate.js';

/**
 * Shelf screens: every card shown is a fact (screen, trigger, products, when), picks attributed
 * to it, and the access tokens of screens whose configuration names no environment variable.
 */
export const signage: Migration = {
  version: 11,
  name: 'signage',
  up(db) {
    db.exec(`
      CREATE TABLE screen_exposures (
        id        INTEGER PRIMARY KEY,
        screen    TEXT    NOT NULL,
        trigger   TEXT    NOT NULL,
        rule      TEXT,
        shopper   TEXT,
        zone      TEXT,
        products  TEXT    NOT NULL,
        title     TEXT    NOT NULL,
        shown_at  INTEGER NOT NULL,
        until_at  INTEGER
      );
      CREATE INDEX screen_exposures_shown ON screen_exposures (shown_at);
      CREATE INDEX screen_exposures_screen ON screen_exposures (screen, shown_at);
      CREATE TABLE screen_attributions (
        id          INTEGER PRIMARY KEY,
        exposure_id INTEGER NOT NULL REFERENCES screen_exposures (id) ON DELETE CASCADE,
        screen      TEXT    NOT NULL,
        product     TEXT    NOT NULL,
        shopper     TEXT    NOT NULL,
        picked_at   INTEGER NOT NULL,
        UNIQUE (exposure_id, product, shopper)
      );
      CREATE INDEX screen_attributions_picked ON screen_attributions (picked_at);
      CREATE TABLE screen_tokens (
        screen     TEXT    PRIMARY KEY,
        token      TEXT    NOT NULL,
        created_at INTEGER NOT NULL
      );
    `);
  },
};
