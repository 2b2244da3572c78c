import type { Migration } from '../migrate.js';

/**
 * Outbox ids are never reused. The publisher reads rows after the last id it sent; with a plain
 * rowid a drained (empty) outbox handed the next message id 1 again, below that cursor, and the
 * message waited until the next reconnect. AUTOINCREMENT needs the table rebuilt.
 */
export const outboxIds: Migration = {
  version: 14,
  name: 'outbox-ids',
  up(db) {
    db.exec(`
      CREATE TABLE outbox_next (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        topic           TEXT    NOT NULL,
        payload         TEXT    NOT NULL,
        idempotency_key TEXT    NOT NULL UNIQUE,
        created_at      INTEGER NOT NULL
      );
      INSERT INTO outbox_next (id, topic, payload, idempotency_key, created_at)
        SELECT id, topic, payload, idempotency_key, created_at FROM outbox ORDER BY id;
      DROP TABLE outbox;
      ALTER TABLE outbox_next RENAME TO outbox;
    `);
  },
};
