/**
 * Staff decisions on a real SQLite file: each review item changes the receipt as the items decided
 * before it left it — a doubtful line is its own, a late pick or an exit tag adds units, a late
 * put-back refunds them — whatever else of the same product the receipt holds.
 */
import { describe, expect, it } from 'vitest';
import { ReviewQueue } from '../../edge-agent/src/checkout/review-queue.js';
import type { ReviewKind } from '../../edge-agent/src/checkout/receipt-builder.js';
import { StoreDatabase } from '../../edge-agent/src/db/database.js';
import { OutboxRepository } from '../../edge-agent/src/db/repositories/outbox.js';
import type { DraftReceiptLine } from '../../edge-agent/src/checkout/receipt-builder.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { demoConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const T0 = Date.UTC(2026, 10, 2, 9);
const COLA = 'cola-can-330';

async function queueWith(lines: { quantity: number; status: DraftReceiptLine['status'] }[]) {
  const dir = tempDir();
  const config = demoConfig(dir);
  const database = new StoreDatabase(dir, silentLogger());
  await database.start();
  const queue = new ReviewQueue(database.handle, config);
  const price = config.planogram.products.find((p) => p.id === COLA)!.price;
  const billed = lines.filter((l) => l.status === 'billed').reduce((s, l) => s + l.quantity * price, 0);
  const receiptId = queue.receipts.create(
    { sessionId: 1, token: 't', currency: 'EUR', total: billed, confidence: 0.5, status: 'final', closedAt: T0, createdAt: T0 },
    lines.map((l) => ({ product: COLA, name: 'Cola', quantity: l.quantity, unitPrice: price, total: l.quantity * price, confidence: 0.5, status: l.status, cartLines: [] })),
  );
  let n = 0;
  const item = (kind: ReviewKind, quantity: number) =>
    queue.receipts.addReview({ kind, product: COLA, quantity, confidence: 0.5, reason: kind, evidence: {}, receiptId, sessionId: 1 }, T0 + ++n);
  const billedUnits = () => queue.receipts.get(receiptId)!.lines.filter((l) => l.status === 'billed').reduce((s, l) => s + l.quantity, 0);
  return { database, queue, receiptId, price, item, billedUnits };
}

describe('staff review decisions', () => {
  it('bills a doubtful line of 3 and a late pick of 1 as 4 when both are confirmed', async () => {
    const r = await queueWith([{ quantity: 3, status: 'review' }]);
    const line = r.item('uncertain-line', 3);
    const late = r.item('late-event', 1);
    expect(r.queue.decide(line, { decision: 'accept', by: 's' }, T0 + 10).adjusted).toBeUndefined();
    const out = r.queue.decide(late, { decision: 'accept', by: 's' }, T0 + 20);
    expect(out.adjusted).toMatchObject({ revision: 1, total: 4 * r.price, status: 'reviewed' });
    await r.database.stop();
  });

  it('keeps the confirmed line when the late pick of the same product is removed', async () => {
    const r = await queueWith([{ quantity: 3, status: 'review' }]);
    const line = r.item('uncertain-line', 3);
    const late = r.item('late-event', 1);
    r.queue.decide(line, { decision: 'accept', by: 's' }, T0 + 10);
    expect(r.queue.decide(late, { decision: 'reject', by: 's' }, T0 + 20).adjusted?.total).toBe(3 * r.price);
    await r.database.stop();
  });

  it('adds one unit for each of two exit tags of one product', async () => {
    const r = await queueWith([{ quantity: 1, status: 'billed' }]);
    const a = r.item('exit-tag', 1);
    const b = r.item('exit-tag', 1);
    r.queue.decide(a, { decision: 'accept', by: 'staff' }, T0 + 10);
    expect(r.queue.decide(b, { decision: 'accept', by: 'staff' }, T0 + 20).adjusted?.total).toBe(3 * r.price);
    expect(r.billedUnits()).toBe(3);
    await r.database.stop();
  });

  it('decides an item whose receipt retention has already deleted', async () => {
    const r = await queueWith([{ quantity: 1, status: 'review' }]);
    const line = r.item('uncertain-line', 1);
    r.database.handle.prepare('DELETE FROM receipts WHERE id = ?').run(r.receiptId);
    expect(r.queue.decide(line, { decision: 'reject', by: 's' }, T0 + 10)).toEqual({ item: expect.objectContaining({ id: line, decision: 'reject' }) });
    await r.database.stop();
  });

  it('refunds a put-back that settled after the receipt: confirmed, or corrected to the units really put back', async () => {
    const r = await queueWith([{ quantity: 3, status: 'billed' }]);
    const back = r.item('late-event', -2);
    const out = r.queue.decide(back, { decision: 'accept', by: 's' }, T0 + 10);
    expect(out.item).toMatchObject({ decision: 'accept', decidedQuantity: 2 });
    expect(out.adjusted).toMatchObject({ revision: 1, total: r.price });
    // A second late put-back: staff saw one unit go back, not two.
    const again = r.item('late-event', -2);
    expect(r.queue.decide(again, { decision: 'change', product: COLA, quantity: 1, by: 's' }, T0 + 20).adjusted).toMatchObject({ revision: 2, total: 0 });
    // Never below nothing: a refund of more than was billed stops at zero.
    const more = r.item('late-event', -1);
    expect(r.queue.decide(more, { decision: 'accept', by: 's' }, T0 + 30).adjusted?.total).toBe(0);
    const adjusted = new OutboxRepository(r.database.handle).oldest(10).filter((m) => m.topic === 'receipt.adjusted').map((m) => (m.payload as { total: number }).total);
    expect(adjusted).toEqual([r.price, 0, 0]);
    await r.database.stop();
  });
});
