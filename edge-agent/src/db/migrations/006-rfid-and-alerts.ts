import type { Migration } from '../migrate.js';

/**
 * RFID observations (a tag seen or gone at a shelf antenna), tags leaving or entering through the
 * exit gate with what was decided about billing, and alerts for staff.
 */
export const rfidAndAlerts: Migration = {
  version: 6,
  name: 'rfid-and-alerts',
  up(db) {
    db.exec(`
      CREATE TABLE tag_events (
        id       INTEGER PRIMARY KEY,
        reader   TEXT    NOT NULL,
        antenna  INTEGER NOT NULL,
        shelf    TEXT,
        epc      TEXT    NOT NULL,
        gtin     TEXT,
        serial   TEXT,
        product  TEXT,
        kind     TEXT    NOT NULL CHECK (kind IN ('seen', 'gone')),
        rssi     REAL,
        at       INTEGER NOT NULL
      );
      CREATE INDEX tag_events_at ON tag_events (at);

      CREATE TABLE tag_passages (
        id            INTEGER PRIMARY KEY,
        gate          TEXT    NOT NULL,
        epc           TEXT    NOT NULL,
        gtin          TEXT,
        serial        TEXT,
        product       TEXT,
        direction     TEXT    NOT NULL CHECK (direction IN ('out', 'in', 'linger')),
        first_at      INTEGER NOT NULL,
        last_at       INTEGER NOT NULL,
        at            INTEGER NOT NULL,
        confidence    REAL    NOT NULL,
        outcome       TEXT    NOT NULL,
        billable      INTEGER NOT NULL DEFAULT 0,
        gate_event_id INTEGER REFERENCES gate_events (id) ON DELETE SET NULL
      );
      CREATE INDEX tag_passages_at ON tag_passages (at);
      CREATE INDEX tag_passages_epc ON tag_passages (epc);
      -- Serial numbers make items unique: the database itself refuses to bill one twice.
      CREATE UNIQUE INDEX tag_passages_billed_once ON tag_passages (epc) WHERE billable = 1;

      CREATE TABLE alerts (
        id       INTEGER PRIMARY KEY,
        kind     TEXT    NOT NULL,
        subject  TEXT    NOT NULL,
        detail   TEXT    NOT NULL,
        at       INTEGER NOT NULL,
        state    TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
        state_at INTEGER NOT NULL
      );
      CREATE INDEX alerts_state ON alerts (state, at);
    `);
  },
};
