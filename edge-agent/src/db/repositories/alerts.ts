import type { Database, Statement } from 'better-sqlite3';

export interface Alert {
  id: number;
  kind: string;
  subject: string;
  detail: Record<string, unknown>;
  at: number;
  state: 'open' | 'acknowledged' | 'resolved';
}

/** Alerts for staff: one open alert per (kind, subject), so a repeating fault is not a storm. */
export class AlertRepository {
  private readonly findOpen: Statement;
  private readonly insert: Statement;
  private readonly openList: Statement;

  constructor(db: Database) {
    this.findOpen = db.prepare("SELECT id FROM alerts WHERE kind = ? AND subject = ? AND state != 'resolved'");
    this.insert = db.prepare('INSERT INTO alerts (kind, subject, detail, at, state, state_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.openList = db.prepare("SELECT * FROM alerts WHERE state != 'resolved' ORDER BY id");
  }

  /** Raises an alert unless one of the same kind and subject is still open; returns it, and whether it is new. */
  raise(kind: string, subject: string, detail: Record<string, unknown>, at: number): { alert: Alert; created: boolean } {
    const existing = this.findOpen.get(kind, subject) as { id: number } | undefined;
    if (existing) return { alert: { id: existing.id, kind, subject, detail, at, state: 'open' }, created: false };
    const id = Number(this.insert.run(kind, subject, JSON.stringify(detail), Math.round(at), 'open', Math.round(at)).lastInsertRowid);
    return { alert: { id, kind, subject, detail, at: Math.round(at), state: 'open' }, created: true };
  }

  open(): Alert[] {
    return (this.openList.all() as { id: number; kind: string; subject: string; detail: string; at: number; state: Alert['state'] }[]).map((r) => ({
      ...r,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }
}
