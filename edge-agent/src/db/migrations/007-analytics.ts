import type { Migration } from '../migrate.js';

/**
 * Shopper analytics. Facts: zone visits (dwell) and store visits, each of an anonymous track id
 * with floor times only, and staff marks. Hourly tables summarise them for the admin page and
 * the cloud; heat is kept only hourly (positions are never stored one by one).
 */
export const analytics: Migration = {
  version: 7,
  name: 'analytics',
  up(db) {
    db.exec(`
      CREATE TABLE zone_visits (
        id            INTEGER PRIMARY KEY,
        shopper       TEXT    NOT NULL,
        zone          TEXT    NOT NULL,
        entered_at    INTEGER NOT NULL,
        exited_at     INTEGER NOT NULL,
        dwell_seconds REAL    NOT NULL,
        picks         INTEGER NOT NULL DEFAULT 0,
        lingered      INTEGER NOT NULL DEFAULT 0,
        excluded      TEXT
      );
      CREATE INDEX zone_visits_entered ON zone_visits (entered_at);
      CREATE INDEX zone_visits_shopper ON zone_visits (shopper);

      CREATE TABLE store_visits (
        id          INTEGER PRIMARY KEY,
        shopper     TEXT    NOT NULL,
        entered_at  INTEGER NOT NULL,
        exited_at   INTEGER NOT NULL,
        picks       INTEGER NOT NULL DEFAULT 0,
        entry_zone  TEXT,
        exit_zone   TEXT,
        excluded    TEXT
      );
      CREATE INDEX store_visits_entered ON store_visits (entered_at);
      CREATE INDEX store_visits_exited ON store_visits (exited_at);
      CREATE INDEX store_visits_shopper ON store_visits (shopper);

      -- Written by the agent (staff zone, badge) and by staff tools (admin); the agent applies new rows.
      CREATE TABLE staff_marks (
        id        INTEGER PRIMARY KEY,
        shopper   TEXT    NOT NULL,
        reason    TEXT    NOT NULL CHECK (reason IN ('staff-zone', 'badge', 'admin')),
        marked_by TEXT,
        at        INTEGER NOT NULL
      );
      CREATE INDEX staff_marks_shopper ON staff_marks (shopper);

      -- Hourly tables keep rowids: retention deletes by rowid in batches.
      CREATE TABLE heatmap_hourly (
        hour_start INTEGER NOT NULL,
        cell_m     REAL    NOT NULL,
        cell       INTEGER NOT NULL,
        seconds    REAL    NOT NULL,
        PRIMARY KEY (hour_start, cell_m, cell)
      );

      CREATE TABLE dwell_hourly (
        hour_start     INTEGER NOT NULL,
        zone           TEXT    NOT NULL,
        visits         INTEGER NOT NULL,
        dwell_seconds  REAL    NOT NULL,
        median_seconds REAL    NOT NULL,
        max_seconds    REAL    NOT NULL,
        with_pick      INTEGER NOT NULL,
        lingered       INTEGER NOT NULL,
        PRIMARY KEY (hour_start, zone)
      );

      CREATE TABLE footfall_hourly (
        hour_start       INTEGER PRIMARY KEY,
        gate_entries     INTEGER NOT NULL,
        gate_exits       INTEGER NOT NULL,
        visits_started   INTEGER NOT NULL,
        visits_ended     INTEGER NOT NULL,
        visits_with_pick INTEGER NOT NULL,
        visit_seconds    REAL    NOT NULL,
        peak_occupancy   INTEGER NOT NULL,
        -- visits started this hour by duration: <1, 1–3, 3–5, 5–10, 10–20, ≥20 minutes
        duration_counts  TEXT    NOT NULL
      );
    `);
  },
};
