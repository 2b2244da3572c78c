/**
 * The checkout service in its real surroundings: a SQLite file, the typed bus, gate events,
 * shoppers on the floor and weight events as their components announce them. A receipt, its
 * lines, its review items and its outbox message are committed together before anyone hears of
 * it; a restart keeps an open session and its cart; staff decisions publish one adjustment.
 */
import BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoreConfig } from '../../device-config/schema.js';
import { EventBus, type BusEvents } from '../../edge-agent/src/bus.js';
import { CheckoutService } from '../../edge-agent/src/checkout/checkout-service.js';
import { ReviewQueue } from '../../edge-agent/src/checkout/review-queue.js';
import { StoreDatabase } from '../../edge-agent/src/db/database.js';
import { GateEventRepository } from '../../edge-agent/src/db/repositories/gate-events.js';
import { OutboxRepository } from '../../edge-agent/src/db/repositories/outbox.js';
import { WeightEventRepository } from '../../edge-agent/src/db/repositories/weight-events.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import type { ItemCandidate } from '../../edge-agent/src/shelf/weight-event.js';
import { StoreLayout } from '../../edge-agent/src/sim/store-layout.js';
import { demoConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);

interface Rig {
  config: StoreConfig;
  bus: EventBus;
  database: StoreDatabase;
  service: CheckoutService;
  receipts: { payload: BusEvents['checkout.receipt']; storedOutbox: number }[];
  at: number;
  gate(g: { gate: string; kind: 'scan' | 'pass'; token?: string; direction?: 'in' | 'out' }): void;
  /** Shoppers stand (or walk straight) for `seconds` at 5 fps. */
  move(paths: Record<string, [[number, number], [number, number]]>, seconds: number): void;
  end(...tracks: string[]): void;
  weight(plate: string, kind: 'pick' | 'return', candidates: ItemCandidate[], lastSeconds?: number, grams?: number): void;
  /** Where a shopper stands to reach a plate. */
  standAt(plate: string): [number, number];
}

const open: Rig[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) {
    await r.service.stop();
    if (r.database.isOpen) await r.database.stop();
  }
});

async function rig(dataDir = tempDir()): Promise<Rig> {
  const config = demoConfig(dataDir);
  const layout = new StoreLayout(config);
  const bus = new EventBus(silentLogger());
  const database = new StoreDatabase(dataDir, silentLogger());
  const service = new CheckoutService({ config, database, bus, log: silentLogger() });
  await database.start();
  await service.start();
  const gates = new GateEventRepository(database.handle);
  const weights = new WeightEventRepository(database.handle);
  const r: Rig = {
    config,
    bus,
    database,
    service,
    receipts: [],
    at: T0,
    gate(g) {
      r.at += 200;
      bus.emit('gate.event', gates.record({ ...g, at: r.at }));
    },
    move(paths, seconds) {
      const frames = Math.max(1, Math.round(seconds * 5));
      for (let f = 0; f < frames; f++) {
        r.at += 200;
        const u = frames === 1 ? 1 : f / (frames - 1);
        const tracks = Object.entries(paths).map(([id, [a, b]]) => ({ id, x: a[0] + (b[0] - a[0]) * u, y: a[1] + (b[1] - a[1]) * u, vx: 0, vy: 0, at: r.at, firstSeenAt: T0, sources: [{ camera: 'cam', trackId: 1 }] }));
        bus.emit('vision.shoppers', { at: r.at, tracks, ended: [] });
      }
    },
    end(...tracks) {
      r.at += 200;
      bus.emit('vision.shoppers', { at: r.at, tracks: [], ended: tracks });
    },
    standAt(plate) {
      const p = layout.plates.get(plate)!.standAt;
      return [p.x, p.y];
    },
    weight(plate, kind, candidates, lastSeconds = 1.5, grams = 500) {
      const p = layout.plates.get(plate)!;
      const tEnd = r.at;
      const delta = (kind === 'pick' ? -1 : 1) * grams;
      bus.emit(
        'shelf.weight-event',
        weights.record({ shelf: `${p.gondola}.${p.shelf}`, plates: [plate], tStart: tEnd - lastSeconds * 1000, tEnd, deltaGrams: delta, perPlate: { [plate]: delta }, noiseSigma: 1, kind, candidates, flags: [] }),
      );
    },
  };
  bus.on('checkout.receipt', 'test', (payload) => {
    const n = (database.handle.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    r.receipts.push({ payload, storedOutbox: n });
  });
  open.push(r);
  return r;
}

/** Stops a rig's checkout and database, as the agent does at shutdown, before the next one starts on its files. */
async function shutDown(r: Rig): Promise<void> {
  await r.service.stop();
  await r.database.stop();
  open.splice(open.indexOf(r), 1);
}

const sure = (product: string, count = 1): ItemCandidate[] => [{ product, count, probability: 0.98, misplaced: false }];

function enter(r: Rig, token: string, track: string): void {
  r.gate({ gate: 'gate-entry', kind: 'scan', token });
  r.gate({ gate: 'gate-entry', kind: 'pass', direction: 'in' });
  r.move({ [track]: [[1, 7], [1.2, 6.8]] }, 1);
}

function leave(r: Rig, track: string, from: [number, number]): void {
  r.move({ [track]: [from, [11, 7]] }, 3);
  r.gate({ gate: 'gate-exit', kind: 'pass', direction: 'out' });
}

describe('checkout service', () => {
  it('bills what a shopper took, less what they put back, with the receipt and its outbox message in one commit', async () => {
    const r = await rig();
    const at = r.standAt;
    enter(r, 'tok-1', 's1');
    r.move({ s1: [[1.2, 6.8], at('1.2.1')] }, 4);
    r.move({ s1: [at('1.2.1'), at('1.2.1')] }, 2);
    r.weight('1.2.1', 'pick', sure('cola-can-330', 2));
    r.move({ s1: [at('1.2.1'), at('1.1.3')] }, 2);
    r.move({ s1: [at('1.1.3'), at('1.1.3')] }, 2);
    r.weight('1.1.3', 'pick', sure('water-sparkling-500'));
    r.move({ s1: [at('1.1.3'), at('1.1.3')] }, 2);
    r.weight('1.1.3', 'return', sure('water-sparkling-500'));
    leave(r, 's1', at('1.1.3'));

    expect(r.receipts).toHaveLength(1);
    const announced = r.receipts[0]!;
    expect(announced.storedOutbox).toBe(1);
    expect(announced.payload.reviewLines).toBe(0);
    const queue = new ReviewQueue(r.database.handle, r.config);
    const receipt = queue.receipts.get(announced.payload.receiptId)!;
    expect(receipt.lines.map((l) => [l.product, l.quantity, l.status])).toEqual([['cola-can-330', 2, 'billed']]);
    expect(receipt.total).toBe(2 * r.config.planogram.products.find((p) => p.id === 'cola-can-330')!.price);
    const [message] = new OutboxRepository(r.database.handle).oldest(10);
    expect(message!.topic).toBe('receipt.created');
    expect(message!.payload).toMatchObject({ v: 1, token: 'tok-1', total: receipt.total, pendingReview: 0, idempotencyKey: `${r.config.store.id}:receipt:${receipt.id}:r0` });
    // Every receipt line is explained by its ledger lines.
    const ledger = r.database.handle.prepare('SELECT * FROM cart_lines ORDER BY id').all() as { weight_event_id: number; quantity: number; evidence: string }[];
    expect(ledger.map((l) => l.quantity)).toEqual([2, 1, -1]);
    expect(JSON.parse(ledger[0]!.evidence)).toMatchObject({ weightEvent: ledger[0]!.weight_event_id, shoppers: [{ track: 's1' }] });
  });

  it('sends a pick between two shoppers standing equally near to review, and publishes one adjustment when staff decide', async () => {
    const r = await rig();
    const layout = new StoreLayout(r.config);
    const p = layout.plates.get('1.2.1')!.standAt;
    enter(r, 'tok-a', 'a');
    enter(r, 'tok-b', 'b');
    r.move({ a: [[1.2, 6.8], [p.x - 0.2, p.y]], b: [[1.2, 6.8], [p.x + 0.2, p.y]] }, 4);
    r.move({ a: [[p.x - 0.2, p.y], [p.x - 0.2, p.y]], b: [[p.x + 0.2, p.y], [p.x + 0.2, p.y]] }, 2);
    r.weight('1.2.1', 'pick', sure('cola-can-330'));
    leave(r, 'a', [p.x - 0.2, p.y]);
    leave(r, 'b', [p.x + 0.2, p.y]);
    expect(r.receipts).toHaveLength(2);
    const queue = new ReviewQueue(r.database.handle, r.config);
    const items = queue.open();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ kind: 'uncertain-line', product: 'cola-can-330', quantity: 1 });
    const receipt = queue.receipts.get(items[0]!.receiptId!)!;
    expect(receipt.status).toBe('pending-review');
    expect(receipt.total).toBe(0);

    const outcome = queue.decide(items[0]!.id, { decision: 'accept', by: 'staff-1' }, T0 + 3_600_000);
    expect(outcome.adjusted?.revision).toBe(1);
    expect(outcome.adjusted?.total).toBe(r.config.planogram.products.find((x) => x.id === 'cola-can-330')!.price);
    expect(() => queue.decide(items[0]!.id, { decision: 'reject', by: 'staff-2' }, T0 + 3_700_000)).toThrow(/already decided/);
    const topics = new OutboxRepository(r.database.handle).oldest(10).map((m) => [m.topic, (m.payload as { idempotencyKey: string }).idempotencyKey]);
    expect(topics.filter(([t]) => t === 'receipt.adjusted')).toEqual([['receipt.adjusted', `${r.config.store.id}:receipt:${receipt.id}:r1`]]);
  });

  it('bills a decision staff made while the shopper was still inside', async () => {
    const r = await rig();
    const p = new StoreLayout(r.config).plates.get('1.2.1')!.standAt;
    enter(r, 'tok-u', 's1');
    r.move({ s1: [[1.2, 6.8], [p.x, p.y]] }, 4);
    r.move({ s1: [[p.x, p.y], [p.x, p.y]] }, 2);
    r.weight('1.2.1', 'pick', [{ product: null, count: 0, probability: 0.98, misplaced: false }]);
    const queue = new ReviewQueue(r.database.handle, r.config);
    const [unknown] = queue.open();
    expect(unknown).toMatchObject({ kind: 'unknown-item', receiptId: null });
    expect(queue.decide(unknown!.id, { decision: 'change', product: 'cola-can-330', quantity: 1, by: 'staff' }, r.at).adjusted).toBeUndefined();
    leave(r, 's1', [p.x, p.y]);
    const receipt = queue.receipts.get(r.receipts[0]!.payload.receiptId)!;
    expect(receipt).toMatchObject({ revision: 1, status: 'reviewed', total: r.config.planogram.products.find((x) => x.id === 'cola-can-330')!.price });
    expect(queue.receipts.reviewItem(unknown!.id)!.appliedRevision).toBe(1);
    expect(new OutboxRepository(r.database.handle).oldest(10).map((m) => m.topic)).toEqual(['receipt.created', 'receipt.adjusted']);
  });

  it('refunds a put-back that settles after the shopper left once staff confirm it', async () => {
    const r = await rig();
    const p = new StoreLayout(r.config).plates.get('1.2.1')!.standAt;
    enter(r, 'tok-l', 's1');
    r.move({ s1: [[1.2, 6.8], [p.x, p.y]] }, 4);
    r.move({ s1: [[p.x, p.y], [p.x, p.y]] }, 2);
    const can = r.config.planogram.products.find((x) => x.id === 'cola-can-330')!.unitWeight;
    r.weight('1.2.1', 'pick', sure('cola-can-330', 2), 1.5, 2 * can);
    r.move({ s1: [[p.x, p.y], [p.x, p.y]] }, 2);
    const putBackAt = r.at;
    leave(r, 's1', [p.x, p.y]);
    // The put-back's weight settles only now; it happened while the shopper stood at the shelf.
    const left = r.at;
    r.at = putBackAt + 1_000;
    r.weight('1.2.1', 'return', sure('cola-can-330', 1), 1.5, can);
    r.at = left;
    const queue = new ReviewQueue(r.database.handle, r.config);
    const [late] = queue.open();
    expect(late).toMatchObject({ kind: 'late-event', product: 'cola-can-330', quantity: -1 });
    const price = r.config.planogram.products.find((x) => x.id === 'cola-can-330')!.price;
    expect(queue.receipts.get(late!.receiptId!)!.total).toBe(2 * price);
    expect(queue.decide(late!.id, { decision: 'accept', by: 'staff' }, r.at + 1_000).adjusted?.total).toBe(price);
  });

  it('writes a receipt that failed once with the next event, and still bills the event that came with the failure', async () => {
    const r = await rig();
    const at = r.standAt;
    enter(r, 'tok-a', 'a');
    enter(r, 'tok-b', 'b');
    r.move({ a: [[1.2, 6.8], at('1.2.1')], b: [[1.2, 6.8], at('1.1.3')] }, 4);
    r.move({ a: [at('1.2.1'), at('1.2.1')], b: [at('1.1.3'), at('1.1.3')] }, 2);
    r.weight('1.2.1', 'pick', sure('cola-can-330'));
    // The database refuses receipts for a while (as a full disk would).
    r.database.handle.exec("CREATE TRIGGER refuse BEFORE INSERT ON receipts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    leave(r, 'a', at('1.2.1'));
    expect(r.receipts).toHaveLength(0);
    expect(r.service.health()).toMatchObject({ status: 'degraded', detail: expect.stringMatching(/disk is full/) });
    r.database.handle.exec('DROP TRIGGER refuse');
    r.move({ b: [at('1.1.3'), at('1.1.3')] }, 2);
    r.weight('1.1.3', 'pick', sure('water-sparkling-500'));
    expect(r.receipts.map((x) => x.payload.token)).toEqual(['tok-a']);
    leave(r, 'b', at('1.1.3'));
    const queue = new ReviewQueue(r.database.handle, r.config);
    const billed = r.receipts.map((x) => [x.payload.token, queue.receipts.get(x.payload.receiptId)!.lines.map((l) => [l.product, l.quantity, l.status])]);
    expect(billed).toEqual([
      ['tok-a', [['cola-can-330', 1, 'billed']]],
      ['tok-b', [['water-sparkling-500', 1, 'billed']]],
    ]);
  });

  it('still bills a slow pick that settles after another shopper left too', async () => {
    const r = await rig();
    const at = r.standAt;
    enter(r, 'tok-a', 'a');
    enter(r, 'tok-b', 'b');
    r.move({ a: [[1.2, 6.8], at('1.2.1')], b: [[1.2, 6.8], at('2.1.1')] }, 4);
    const reaching = r.at;
    r.move({ a: [at('1.2.1'), at('1.2.1')], b: [at('2.1.1'), at('2.1.1')] }, 9);
    leave(r, 'a', at('1.2.1'));
    r.move({ b: [at('2.1.1'), at('2.1.1')] }, 13);
    leave(r, 'b', at('2.1.1'));
    // a's pick settles only now, 16 s after a left and just after b did: a slow, wobbling plate.
    r.weight('1.2.1', 'pick', sure('cola-can-330'), (r.at - reaching) / 1000);
    const queue = new ReviewQueue(r.database.handle, r.config);
    const late = queue.open().filter((i) => i.kind === 'late-event');
    expect(late).toHaveLength(1);
    expect(queue.receipts.get(late[0]!.receiptId!)!.token).toBe('tok-a');
  });

  it('keeps an open session and its cart across a restart, and bills it when the shopper leaves', async () => {
    const dataDir = tempDir();
    const first = await rig(dataDir);
    const layout = new StoreLayout(first.config);
    const p = layout.plates.get('2.1.1')!.standAt;
    enter(first, 'tok-r', 's1');
    first.move({ s1: [[1.2, 6.8], [p.x, p.y]] }, 4);
    first.move({ s1: [[p.x, p.y], [p.x, p.y]] }, 2);
    const product = first.config.planogram.products.find((x) => x.plates.includes('2.1.1'))!.id;
    first.weight('2.1.1', 'pick', sure(product));
    const at = first.at;
    await shutDown(first);

    const second = await rig(dataDir);
    second.at = at + 5_000;
    // After the restart the shopper is a new track; it is found again where they were.
    second.move({ n1: [[p.x, p.y], [p.x + 0.3, p.y]] }, 1);
    leave(second, 'n1', [p.x + 0.3, p.y]);
    expect(second.receipts).toHaveLength(1);
    const receipt = new ReviewQueue(second.database.handle, second.config).receipts.get(second.receipts[0]!.payload.receiptId)!;
    expect(receipt.token).toBe('tok-r');
    expect(receipt.lines.map((l) => [l.product, l.quantity, l.status])).toEqual([[product, 1, 'billed']]);
  });

  it('finds a shopper who passed the gate just before a restart, before any camera saw them', async () => {
    const dataDir = tempDir();
    const first = await rig(dataDir);
    first.gate({ gate: 'gate-entry', kind: 'scan', token: 'tok-u' });
    first.gate({ gate: 'gate-entry', kind: 'pass', direction: 'in' });
    const at = first.at;
    await shutDown(first);

    const second = await rig(dataDir);
    second.at = at + 8_000;
    const p = new StoreLayout(second.config).plates.get('1.2.1')!.standAt;
    second.move({ n1: [[2, 6], [p.x, p.y]] }, 3);
    second.move({ n1: [[p.x, p.y], [p.x, p.y]] }, 2);
    second.weight('1.2.1', 'pick', sure('cola-can-330'));
    leave(second, 'n1', [p.x, p.y]);
    expect(second.receipts).toHaveLength(1);
    const receipt = new ReviewQueue(second.database.handle, second.config).receipts.get(second.receipts[0]!.payload.receiptId)!;
    expect(receipt.token).toBe('tok-u');
    expect(receipt.lines.map((l) => [l.product, l.quantity, l.status])).toEqual([['cola-can-330', 1, 'billed']]);
  });

  it('bills a tag that leaves through the exit gate with a shopper, decided after a restart', async () => {
    const dataDir = tempDir();
    const first = await rig(dataDir);
    const p = new StoreLayout(first.config).plates.get('1.2.1')!.standAt;
    enter(first, 'tok-t', 's1');
    first.move({ s1: [[1.2, 6.8], [p.x, p.y]] }, 4);
    leave(first, 's1', [p.x, p.y]);
    expect(first.receipts).toHaveLength(1);
    const exitPass = (first.database.handle.prepare("SELECT MAX(id) AS id FROM gate_events WHERE kind = 'pass' AND direction = 'out'").get() as { id: number }).id;
    const at = first.at;
    await shutDown(first);

    // The tag's passage through the exit gate is decided once the agent is back.
    const second = await rig(dataDir);
    second.bus.emit('rfid.passage', {
      id: 1, gate: 'gate-exit', epc: '3034257BF7194E4000001A85', gtin: null, serial: '6789', product: 'cola-can-330', direction: 'out',
      firstAt: at - 500, lastAt: at + 1_000, at: at + 4_000, confidence: 0.95, outcome: 'billable', billable: true, gateEventId: exitPass,
    });
    const queue = new ReviewQueue(second.database.handle, second.config);
    const receiptId = first.receipts[0]!.payload.receiptId;
    expect(queue.receipts.reviewsOf(receiptId)).toEqual([expect.objectContaining({ kind: 'exit-tag', product: 'cola-can-330' })]);
    // The demo store bills tagged items that leave (rfid.exitPolicy "bill"): the receipt's next revision has it.
    expect(second.config.rfid.exitPolicy).toBe('bill');
    expect(queue.receipts.get(receiptId)).toMatchObject({ revision: 1, total: second.config.planogram.products.find((x) => x.id === 'cola-can-330')!.price });
  });

  it('never writes a second receipt.created for one receipt', async () => {
    const r = await rig();
    enter(r, 'tok-x', 'x');
    leave(r, 'x', [1.2, 6.8]);
    const outbox = new OutboxRepository(r.database.handle);
    const [created] = outbox.oldest(10);
    expect(outbox.add('receipt.created', created!.payload as never, r.at)).toBe(false);
    expect(outbox.oldest(10)).toHaveLength(1);
    const db = new BetterSqlite3(join(r.config.dataDir, 'store.db'), { readonly: true });
    try {
      expect((db.prepare('SELECT COUNT(*) AS n FROM receipts').get() as { n: number }).n).toBe(1);
    } finally {
      db.close();
    }
  });
});
