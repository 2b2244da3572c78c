import type { Database, Statement } from 'better-sqlite3';
import type { OutboxMessages } from '../../../../sync/receipt-payloads.js';

export interface OutboxRow {
  id: number;
  topic: keyof OutboxMessages;
  payload: unknown;
  idempotencyKey: string;
  createdAt: number;
}

/**
 * Messages for the cloud, written in the same transaction as the fact they announce. The
 * idempotency key is unique: a message offered twice is stored once.
 */
export class OutboxRepository {
  private readonly insert: Statement;
  private readonly pending: Statement;
  private readonly remove: Statement;
  private readonly afterId: Statement;
  private readonly count: Statement;

  private readonly removeMany: (ids: readonly number[]) => void;

  constructor(db: Database) {
    this.insert = db.prepare('INSERT OR IGNORE INTO outbox (topic, payload, idempotency_key, created_at) VALUES (?, ?, ?, ?)');
    this.pending = db.prepare('SELECT id, topic, payload, idempotency_key AS idempotencyKey, created_at AS createdAt FROM outbox ORDER BY id LIMIT ?');
    this.remove = db.prepare('DELETE FROM outbox WHERE id = ?');
    this.removeMany = db.transaction((ids: readonly number[]) => {
      for (const id of ids) this.remove.run(id);
    });
    this.afterId = db.prepare('SELECT id, topic, payload, idempotency_key AS idempotencyKey, created_at AS createdAt FROM outbox WHERE id > ? ORDER BY id LIMIT ?');
    this.count = db.prepare('SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox');
  }

  /** Returns false when a message with this key is already there. */
  add<K extends keyof OutboxMessages>(topic: K, payload: OutboxMessages[K] & { idempotencyKey: string }, at: number): boolean {
    return this.insert.run(topic, JSON.stringify(payload), payload.idempotencyKey, Math.round(at)).changes === 1;
  }

  /** The oldest messages first. */
  oldest(limit: number): OutboxRow[] {
    return (this.pending.all(limit) as (Omit<OutboxRow, 'payload'> & { payload: string })[]).map((r) => ({ ...r, payload: JSON.parse(r.payload) as unknown }));
  }

  /** Rows after `id`, oldest first, with their payload as stored (the exact bytes to publish). */
  after(id: number, limit: number): (Omit<OutboxRow, 'payload'> & { payload: string })[] {
    return this.afterId.all(id, limit) as (Omit<OutboxRow, 'payload'> & { payload: string })[];
  }

  /** Rows waiting, and when the oldest was written. */
  backlog(): { rows: number; oldestAt: number | null } {
    const r = this.count.get() as { n: number; oldest: number | null };
    return { rows: r.n, oldestAt: r.oldest };
  }

  /** After the broker acknowledged it. */
  acknowledged(id: number): void {
    this.remove.run(id);
  }

  /** Several acknowledged rows in one transaction (one WAL commit instead of one per row). */
  acknowledgedAll(ids: readonly number[]): void {
    this.removeMany(ids);
  }
}
