import type { Migration } from '../migrate.js';

/**
 * Staff on the admin page: users with a role and a scrypt password hash (never a default
 * password: the first admin is made with the CLI), their sessions (the cookie's token is stored
 * only as a hash), and the audit log of every change made through the page.
 */
export const adminUsers: Migration = {
  version: 12,
  name: 'admin-users',
  up(db) {
    db.exec(`
      CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
        role          TEXT    NOT NULL CHECK (role IN ('admin', 'staff', 'viewer')),
        password_hash TEXT    NOT NULL,
        created_at    INTEGER NOT NULL,
        created_by    TEXT    NOT NULL,
        disabled_at   INTEGER,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until  INTEGER
      );
      CREATE TABLE user_sessions (
        id           TEXT    PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        csrf         TEXT    NOT NULL,
        address      TEXT,
        created_at   INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL
      );
      CREATE INDEX user_sessions_expires ON user_sessions (expires_at);
      CREATE TABLE audit_log (
        id      INTEGER PRIMARY KEY,
        at      INTEGER NOT NULL,
        user    TEXT    NOT NULL,
        action  TEXT    NOT NULL,
        subject TEXT,
        detail  TEXT    NOT NULL
      );
      CREATE INDEX audit_log_at ON audit_log (at);
    `);
  },
};
