import type { Database } from 'better-sqlite3';
import type { EventBus } from '../bus.js';
import { AlertRepository } from '../db/repositories/alerts.js';
import type { Logger } from '../log.js';

/**
 * Raising and resolving alerts the way every part of the agent does it: stored (with its outbox
 * message) first, then announced on the bus — once when raised, once when resolved.
 */
export class StaffAlerts {
  readonly repository: AlertRepository;

  constructor(
    db: Database,
    storeId: string,
    private readonly bus: EventBus,
    private readonly log?: Logger,
  ) {
    this.repository = new AlertRepository(db, storeId);
  }

  /** True when the alert is new (none of this kind and subject was open). */
  raise(kind: string, subject: string, detail: Record<string, unknown>, at: number): boolean {
    const r = this.repository.raise(kind, subject, detail, at);
    if (r.created) {
      this.log?.warn({ kind, subject, ...detail }, 'alert raised');
      this.bus.emit('alert.raised', r.alert);
    }
    return r.created;
  }

  /** True when an open alert of this kind and subject was resolved. */
  resolve(kind: string, subject: string, detail: Record<string, unknown>, at: number): boolean {
    const id = this.repository.resolve(kind, subject, detail, at);
    if (id === undefined) return false;
    this.log?.info({ kind, subject }, 'alert resolved');
    this.bus.emit('alert.resolved', { id, kind, subject, at });
    return true;
  }
}
