import type { Migration } from '../migrate.js';

/**
 * Every load-cell calibration ever made, append-only: the newest per plate is in force, the
 * older ones explain the grams of their day. Never expires.
 */
export const plateCalibrations: Migration = {
  version: 4,
  name: 'plate-calibrations',
  up(db) {
    db.exec(`
      CREATE TABLE plate_calibrations (
        id               INTEGER PRIMARY KEY,
        plate            TEXT    NOT NULL,
        zero_counts      REAL    NOT NULL,
        counts_per_gram  REAL    NOT NULL CHECK (counts_per_gram <> 0),
        known_mass_grams REAL,
        operator         TEXT    NOT NULL,
        calibrated_at    INTEGER NOT NULL,
        source           TEXT    NOT NULL
      );
      CREATE INDEX plate_calibrations_plate ON plate_calibrations (plate, calibrated_at);
    `);
  },
};
