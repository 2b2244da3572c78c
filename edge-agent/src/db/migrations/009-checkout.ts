import type { Migration } from '../migrate.js';

/**
 * Grab-and-go checkout. A shopper session is one paying token (a party may share it); its
 * members are the floor tracks bound to it. The cart ledger is append-only: each line adds or
 * removes units with the evidence behind it, and the live cart is their sum. A receipt is written
 * with its lines and its outbox message in one transaction; lines the agent is not sure of wait
 * in the review queue. The outbox holds messages for the cloud until the broker acknowledged
 * them, each with an idempotency key the table keeps unique.
 */
export const checkout: Migration = {
  version: 9,
  name: 'checkout',
  up(db) {
    db.exec(`
      CREATE TABLE shopper_sessions (
        id          INTEGER PRIMARY KEY,
        token       TEXT    NOT NULL,
        gate        TEXT    NOT NULL,
        started_at  INTEGER NOT NULL,
        ended_at    INTEGER,
        end_reason  TEXT,
        status      TEXT    NOT NULL DEFAULT 'open'
      );
      CREATE INDEX shopper_sessions_open ON shopper_sessions (status);
      CREATE INDEX shopper_sessions_started ON shopper_sessions (started_at);

      CREATE TABLE session_members (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER NOT NULL,
        track       TEXT    NOT NULL,
        joined_at   INTEGER NOT NULL,
        how         TEXT    NOT NULL,
        left_at     INTEGER,
        left_how    TEXT
      );
      CREATE INDEX session_members_session ON session_members (session_id);

      CREATE TABLE cart_lines (
        id              INTEGER PRIMARY KEY,
        session_id      INTEGER NOT NULL,
        product         TEXT    NOT NULL,
        quantity        INTEGER NOT NULL,
        source          TEXT    NOT NULL,
        weight_event_id INTEGER,
        tag_passage_id  INTEGER,
        delta_grams     REAL,
        product_probability     REAL NOT NULL,
        association_probability REAL NOT NULL,
        distance_m      REAL,
        confidence      REAL    NOT NULL,
        evidence        TEXT    NOT NULL,
        at              INTEGER NOT NULL
      );
      CREATE INDEX cart_lines_session ON cart_lines (session_id);
      CREATE INDEX cart_lines_at ON cart_lines (at);

      CREATE TABLE receipts (
        id              INTEGER PRIMARY KEY,
        session_id      INTEGER NOT NULL UNIQUE,
        token           TEXT    NOT NULL,
        currency        TEXT    NOT NULL,
        total           INTEGER NOT NULL,
        confidence      REAL    NOT NULL,
        status          TEXT    NOT NULL,
        revision        INTEGER NOT NULL DEFAULT 0,
        closed_at       INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        adjusted_at     INTEGER
      );
      CREATE INDEX receipts_closed ON receipts (closed_at);

      CREATE TABLE receipt_lines (
        id          INTEGER PRIMARY KEY,
        receipt_id  INTEGER NOT NULL,
        product     TEXT    NOT NULL,
        name        TEXT    NOT NULL,
        quantity    INTEGER NOT NULL,
        unit_price  INTEGER NOT NULL,
        total       INTEGER NOT NULL,
        confidence  REAL    NOT NULL,
        status      TEXT    NOT NULL,
        cart_lines  TEXT    NOT NULL,
        closed_at   INTEGER NOT NULL
      );
      CREATE INDEX receipt_lines_receipt ON receipt_lines (receipt_id);

      CREATE TABLE review_items (
        id           INTEGER PRIMARY KEY,
        receipt_id   INTEGER,
        session_id   INTEGER,
        kind         TEXT    NOT NULL,
        product      TEXT,
        quantity     INTEGER NOT NULL,
        confidence   REAL    NOT NULL,
        reason       TEXT    NOT NULL,
        evidence     TEXT    NOT NULL,
        created_at   INTEGER NOT NULL,
        decided_at   INTEGER,
        decision     TEXT,
        decided_product  TEXT,
        decided_quantity INTEGER,
        decided_by   TEXT,
        applied_revision INTEGER
      );
      CREATE INDEX review_items_open ON review_items (decided_at);
      CREATE INDEX review_items_receipt ON review_items (receipt_id);

      CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        topic           TEXT    NOT NULL,
        payload         TEXT    NOT NULL,
        idempotency_key TEXT    NOT NULL UNIQUE,
        created_at      INTEGER NOT NULL
      );
    `);
  },
};
