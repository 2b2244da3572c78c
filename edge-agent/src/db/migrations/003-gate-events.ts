import type { Migration } from '../migrate.js';

/** What the gates saw: a token scanned or a person passing the beam, stored before anyone reacts. */
export const gateEvents: Migration = {
  version: 3,
  name: 'gate-events',
  up(db) {
    db.exec(`
      CREATE TABLE gate_events (
        id        INTEGER PRIMARY KEY,
        gate      TEXT    NOT NULL,
        kind      TEXT    NOT NULL CHECK (kind IN ('scan', 'pass')),
        token     TEXT,
        direction TEXT    CHECK (direction IN ('in', 'out')),
        device_ts INTEGER,
        at        INTEGER NOT NULL,
        CHECK ((kind = 'scan' AND token IS NOT NULL AND direction IS NULL) OR (kind = 'pass' AND direction IS NOT NULL AND token IS NULL))
      );
      CREATE INDEX gate_events_at ON gate_events (at);
    `);
  },
};
