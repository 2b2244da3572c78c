import { createHash, randomBytes } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';

export type Role = 'admin' | 'staff' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'staff', 'viewer'];

export interface User {
  id: number;
  username: string;
  role: Role;
  createdAt: number;
  createdBy: string;
  disabledAt: number | null;
  lockedUntil: number | null;
}

interface UserRow extends User {
  passwordHash: string;
  failedLogins: number;
}

export interface Session {
  user: User;
  csrf: string;
  expiresAt: number;
}

const USER_COLUMNS =
  'id, username, role, password_hash AS passwordHash, created_at AS createdAt, created_by AS createdBy, disabled_at AS disabledAt, failed_logins AS failedLogins, locked_until AS lockedUntil';

const tokenId = (token: string) => createHash('sha256').update(token).digest('hex');

function publicUser(r: UserRow): User {
  return { id: r.id, username: r.username, role: r.role, createdAt: r.createdAt, createdBy: r.createdBy, disabledAt: r.disabledAt, lockedUntil: r.lockedUntil };
}

/** Admin page users, their sessions (only a hash of each cookie token is stored) and the audit log. */
export class UserRepository {
  private readonly s: Record<string, Statement>;

  constructor(db: Database) {
    this.s = {
      insert: db.prepare('INSERT INTO users (username, role, password_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?)'),
      byName: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`),
      byId: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`),
      all: db.prepare(`SELECT ${USER_COLUMNS} FROM users ORDER BY username`),
      admins: db.prepare("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL"),
      setPassword: db.prepare('UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE id = ?'),
      setRole: db.prepare('UPDATE users SET role = ? WHERE id = ?'),
      disable: db.prepare('UPDATE users SET disabled_at = ? WHERE id = ?'),
      enable: db.prepare('UPDATE users SET disabled_at = NULL, failed_logins = 0, locked_until = NULL WHERE id = ?'),
      failed: db.prepare('UPDATE users SET failed_logins = failed_logins + 1, locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END WHERE id = ?'),
      succeeded: db.prepare('UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?'),
      insertSession: db.prepare('INSERT INTO user_sessions (id, user_id, csrf, address, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      session: db.prepare('SELECT user_id AS userId, csrf, expires_at AS expiresAt, last_seen_at AS lastSeenAt FROM user_sessions WHERE id = ?'),
      touch: db.prepare('UPDATE user_sessions SET last_seen_at = ? WHERE id = ?'),
      endSession: db.prepare('DELETE FROM user_sessions WHERE id = ?'),
      endUserSessions: db.prepare('DELETE FROM user_sessions WHERE user_id = ?'),
      audit: db.prepare('INSERT INTO audit_log (at, user, action, subject, detail) VALUES (?, ?, ?, ?, ?)'),
      auditRecent: db.prepare('SELECT id, at, user, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT ?'),
    };
  }

  add(username: string, role: Role, passwordHash: string, createdBy: string, at: number): User {
    const id = Number(this.s['insert']!.run(username, role, passwordHash, Math.round(at), createdBy).lastInsertRowid);
    return this.get(id)!;
  }

  get(id: number): User | undefined {
    const r = this.s['byId']!.get(id) as UserRow | undefined;
    return r ? publicUser(r) : undefined;
  }

  /** With the password hash and failure count: for signing in only. */
  credentials(username: string): (User & { passwordHash: string; failedLogins: number }) | undefined {
    const r = this.s['byName']!.get(username) as UserRow | undefined;
    return r ? { ...publicUser(r), passwordHash: r.passwordHash, failedLogins: r.failedLogins } : undefined;
  }

  find(username: string): User | undefined {
    const r = this.s['byName']!.get(username) as UserRow | undefined;
    return r ? publicUser(r) : undefined;
  }

  list(): User[] {
    return (this.s['all']!.all() as UserRow[]).map(publicUser);
  }

  activeAdmins(): number {
    return (this.s['admins']!.get() as { n: number }).n;
  }

  setPassword(id: number, passwordHash: string): void {
    this.s['setPassword']!.run(passwordHash, id);
    this.s['endUserSessions']!.run(id);
  }

  setRole(id: number, role: Role): void {
    this.s['setRole']!.run(role, id);
  }

  setDisabled(id: number, disabled: boolean, at: number): void {
    if (disabled) {
      this.s['disable']!.run(Math.round(at), id);
      this.s['endUserSessions']!.run(id);
    } else this.s['enable']!.run(id);
  }

  /** Counts a wrong password; the `maxFailures`-th in a row locks the account until `lockUntil`. */
  loginFailed(id: number, maxFailures: number, lockUntil: number): void {
    this.s['failed']!.run(maxFailures, Math.round(lockUntil), id);
  }

  loginSucceeded(id: number): void {
    this.s['succeeded']!.run(id);
  }

  /** A new session; returns the cookie token (only its hash is stored) and the CSRF token. */
  openSession(userId: number, address: string | null, at: number, lifetimeMs: number): { token: string; csrf: string } {
    const token = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    this.s['insertSession']!.run(tokenId(token), userId, csrf, address, Math.round(at), Math.round(at), Math.round(at + lifetimeMs));
    return { token, csrf };
  }

  /** The live session of a cookie token (expired, disabled or unknown: undefined). */
  session(token: string, at: number): Session | undefined {
    const id = tokenId(token);
    const r = this.s['session']!.get(id) as { userId: number; csrf: string; expiresAt: number; lastSeenAt: number } | undefined;
    if (!r) return undefined;
    if (r.expiresAt <= at) {
      this.s['endSession']!.run(id);
      return undefined;
    }
    const user = this.get(r.userId);
    if (!user || user.disabledAt !== null) return undefined;
    // Written at most once a minute: every request of a live page would otherwise be a write.
    if (at - r.lastSeenAt > 60_000) this.s['touch']!.run(Math.round(at), id);
    return { user, csrf: r.csrf, expiresAt: r.expiresAt };
  }

  closeSession(token: string): void {
    this.s['endSession']!.run(tokenId(token));
  }

  audit(user: string, action: string, subject: string | null, detail: Record<string, unknown>, at: number): void {
    this.s['audit']!.run(Math.round(at), user, action, subject, JSON.stringify(detail));
  }

  auditLog(limit: number): { id: number; at: number; user: string; action: string; subject: string | null; detail: Record<string, unknown> }[] {
    return (this.s['auditRecent']!.all(limit) as { id: number; at: number; user: string; action: string; subject: string | null; detail: string }[]).map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }
}
