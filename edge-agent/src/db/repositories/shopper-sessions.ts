import type { Database, Statement } from 'better-sqlite3';
import type { JoinHow, LeaveHow, SessionEndReason, SessionMember, ShopperSession } from '../../checkout/shopper-session.js';

interface SessionRow {
  id: number;
  token: string;
  gate: string;
  started_at: number;
  ended_at: number | null;
  end_reason: SessionEndReason | null;
}

interface MemberRow {
  track: string;
  joined_at: number;
  how: JoinHow;
  left_at: number | null;
  left_how: LeaveHow | null;
  exit_gate_event: number | null;
}

export interface StoredSession {
  id: number;
  token: string;
  gate: string;
  startedAt: number;
  endedAt: number | null;
  endReason: SessionEndReason | null;
  status: 'open' | 'closed';
}

/** Shopper sessions and their members as stored facts. */
export class ShopperSessionRepository {
  private readonly insertSession: Statement;
  private readonly insertMember: Statement;
  private readonly updateMember: Statement;
  private readonly endSession: Statement;
  private readonly openRows: Statement;
  private readonly membersOf: Statement;
  private readonly byId: Statement;
  private readonly range: Statement;
  private readonly exitsSince: Statement;

  constructor(db: Database) {
    this.insertSession = db.prepare("INSERT INTO shopper_sessions (token, gate, started_at, status) VALUES (?, ?, ?, 'open')");
    this.insertMember = db.prepare('INSERT INTO session_members (session_id, track, joined_at, how) VALUES (?, ?, ?, ?)');
    this.updateMember = db.prepare('UPDATE session_members SET left_at = ?, left_how = ?, exit_gate_event = ? WHERE session_id = ? AND track = ? AND left_at IS NULL');
    this.exitsSince = db.prepare('SELECT exit_gate_event AS gateEventId, session_id AS sessionId, left_at AS at FROM session_members WHERE left_at >= (SELECT MAX(left_at) FROM session_members) - ? AND exit_gate_event IS NOT NULL ORDER BY left_at');
    this.endSession = db.prepare("UPDATE shopper_sessions SET ended_at = ?, end_reason = ?, status = 'closed' WHERE id = ?");
    this.openRows = db.prepare("SELECT * FROM shopper_sessions WHERE status = 'open' ORDER BY id");
    this.membersOf = db.prepare('SELECT * FROM session_members WHERE session_id = ? ORDER BY id');
    this.byId = db.prepare('SELECT * FROM shopper_sessions WHERE id = ?');
    this.range = db.prepare('SELECT * FROM shopper_sessions WHERE started_at >= ? AND started_at < ? ORDER BY id');
  }

  open(token: string, gate: string, at: number): number {
    return Number(this.insertSession.run(token, gate, Math.round(at)).lastInsertRowid);
  }

  joined(sessionId: number, track: string, at: number, how: JoinHow): void {
    this.insertMember.run(sessionId, track, Math.round(at), how);
  }

  left(sessionId: number, track: string, at: number, how: LeaveHow, exitGateEventId: number | null): void {
    this.updateMember.run(Math.round(at), how, exitGateEventId, sessionId, track);
  }

  /** The exit passes members left through within `ms` of the newest departure, oldest first. */
  recentExits(ms: number): { gateEventId: number; sessionId: number; at: number }[] {
    return this.exitsSince.all(ms) as { gateEventId: number; sessionId: number; at: number }[];
  }

  ended(sessionId: number, at: number, reason: SessionEndReason): void {
    this.endSession.run(Math.round(at), reason, sessionId);
  }

  get(id: number): StoredSession | undefined {
    const r = this.byId.get(id) as (SessionRow & { status: 'open' | 'closed' }) | undefined;
    return r ? fromRow(r) : undefined;
  }

  between(from: number, to: number): StoredSession[] {
    return (this.range.all(from, to) as (SessionRow & { status: 'open' | 'closed' })[]).map(fromRow);
  }

  /** Sessions still open (after a restart), with their members, as the tracker holds them. */
  openSessions(): ShopperSession[] {
    return (this.openRows.all() as SessionRow[]).map((r) => ({
      id: r.id,
      token: r.token,
      gate: r.gate,
      startedAt: r.started_at,
      members: (this.membersOf.all(r.id) as MemberRow[]).map(
        (m): SessionMember => ({ track: m.track, joinedAt: m.joined_at, how: m.how, leftAt: m.left_at, leftHow: m.left_how, lost: null, exitGateEventId: m.exit_gate_event }),
      ),
      awaitingTracks: 0,
      endedAt: null,
      endReason: null,
    }));
  }
}

function fromRow(r: SessionRow & { status: 'open' | 'closed' }): StoredSession {
  return { id: r.id, token: r.token, gate: r.gate, startedAt: r.started_at, endedAt: r.ended_at, endReason: r.end_reason, status: r.status };
}
