import type { Database, Statement } from 'better-sqlite3';
import { OutboxRepository } from './outbox.js';

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
  private readonly setState: Statement;
  private readonly ack: Statement;
  private readonly recentList: Statement;
  private readonly outbox: OutboxRepository;
  private readonly resolveTx: (kind: string, subject: string, detail: Record<string, unknown>, at: number) => number | undefined;

  /** With a store id, each new alert is also an `alert.raised` message in the outbox. */
  constructor(
    db: Database,
    private readonly storeId?: string,
  ) {
    this.outbox = new OutboxRepository(db);
    this.raiseTx = db.transaction((kind: string, subject: string, detail: Record<string, unknown>, at: number) => this.raiseNow(kind, subject, detail, at));
    this.findOpen = db.prepare("SELECT id FROM alerts WHERE kind = ? AND subject = ? AND state != 'resolved'");
    this.insert = db.prepare('INSERT INTO alerts (kind, subject, detail, at, state, state_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.openList = db.prepare("SELECT * FROM alerts WHERE state != 'resolved' ORDER BY id");
    this.setState = db.prepare('UPDATE alerts SET state = ?, state_at = ? WHERE id = ?');
    this.ack = db.prepare("UPDATE alerts SET state = 'acknowledged', state_at = ? WHERE id = ? AND state = 'open'");
    this.recentList = db.prepare("SELECT id, kind, subject, detail, at, state FROM alerts WHERE state != 'resolved' OR state_at >= ? ORDER BY id DESC LIMIT 500");
    this.resolveTx = db.transaction((kind: string, subject: string, detail: Record<string, unknown>, at: number) => {
      const existing = this.findOpen.get(kind, subject) as { id: number } | undefined;
      if (!existing) return undefined;
      this.setState.run('resolved', Math.round(at), existing.id);
      if (this.storeId !== undefined) {
        this.outbox.add('alert.resolved', { v: 1, idempotencyKey: `${this.storeId}:alert:${existing.id}:resolved`, storeId: this.storeId, alertId: existing.id, kind, subject, detail, at: new Date(Math.round(at)).toISOString() }, at);
      }
      return existing.id;
    });
  }

  /** Resolves the open alert of this kind and subject (the fault went away); its id, or undefined when none was open. */
  resolve(kind: string, subject: string, detail: Record<string, unknown>, at: number): number | undefined {
    return this.resolveTx(kind, subject, detail, at);
  }

  /** Raises an alert unless one of the same kind and subject is still open; returns it, and whether it is new. */
  raise(kind: string, subject: string, detail: Record<string, unknown>, at: number): { alert: Alert; created: boolean } {
    return this.raiseTx(kind, subject, detail, at);
  }

  private readonly raiseTx: (kind: string, subject: string, detail: Record<string, unknown>, at: number) => { alert: Alert; created: boolean };

  private raiseNow(kind: string, subject: string, detail: Record<string, unknown>, at: number): { alert: Alert; created: boolean } {
    const existing = this.findOpen.get(kind, subject) as { id: number } | undefined;
    if (existing) return { alert: { id: existing.id, kind, subject, detail, at, state: 'open' }, created: false };
    const id = Number(this.insert.run(kind, subject, JSON.stringify(detail), Math.round(at), 'open', Math.round(at)).lastInsertRowid);
    const alert: Alert = { id, kind, subject, detail, at: Math.round(at), state: 'open' };
    // The cloud hears of it through the outbox, in the same transaction as the alert itself.
    if (this.storeId !== undefined) {
      this.outbox.add('alert.raised', { v: 1, idempotencyKey: `${this.storeId}:alert:${id}`, storeId: this.storeId, alertId: id, kind, subject, detail, at: new Date(alert.at).toISOString() }, at);
    }
    return { alert, created: true };
  }

  /** Staff saw it: acknowledged alerts stay until the fault ends (resolved), but stop asking for attention. */
  acknowledge(id: number, at: number): boolean {
    return this.ack.run(Math.round(at), id).changes === 1;
  }

  /** Alerts not resolved, and those resolved since `resolvedSince`. */
  recent(resolvedSince: number): Alert[] {
    return (this.recentList.all(Math.round(resolvedSince)) as { id: number; kind: string; subject: string; detail: string; at: number; state: Alert['state'] }[]).map((r) => ({
      ...r,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }

  open(): Alert[] {
    return (this.openList.all() as { id: number; kind: string; subject: string; detail: string; at: number; state: Alert['state'] }[]).map((r) => ({
      ...r,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }
}
