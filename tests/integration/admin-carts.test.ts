/**
 * The carts page's API on a running agent (real SQLite, real HTTP): receipts and review items are
 * made by the agent's own checkout service from gate events, shoppers on the floor and weight
 * events on its bus; staff decide an item through the API and the receipt's new revision, its
 * `receipt.adjusted` outbox message and the audit entry are there — refusals for everyone else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../edge-agent/src/agent.js';
import type { StoreConfig } from '../../device-config/schema.js';
import { GateEventRepository } from '../../edge-agent/src/db/repositories/gate-events.js';
import { UserRepository } from '../../edge-agent/src/db/repositories/users.js';
import { WeightEventRepository } from '../../edge-agent/src/db/repositories/weight-events.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import type { ItemCandidate } from '../../edge-agent/src/shelf/weight-event.js';
import { StoreLayout } from '../../edge-agent/src/sim/store-layout.js';
import { addUsers, PASSWORDS, signIn, type Signed } from '../support/admin.js';
import { demoConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

/** Drives the agent's checkout the way its devices would: gate passes, floor tracks, weight events. */
function storeDriver(agent: Agent, config: StoreConfig, start: number) {
  const layout = new StoreLayout(config);
  const gates = new GateEventRepository(agent.database.handle);
  const weights = new WeightEventRepository(agent.database.handle);
  const d = {
    at: start,
    standAt: (plate: string): [number, number] => [layout.plates.get(plate)!.standAt.x, layout.plates.get(plate)!.standAt.y],
    gate(g: { gate: string; kind: 'scan' | 'pass'; token?: string; direction?: 'in' | 'out' }) {
      d.at += 200;
      agent.bus.emit('gate.event', gates.record({ ...g, at: d.at }));
    },
    move(paths: Record<string, [[number, number], [number, number]]>, seconds: number) {
      const frames = Math.max(1, Math.round(seconds * 5));
      for (let f = 0; f < frames; f++) {
        d.at += 200;
        const u = frames === 1 ? 1 : f / (frames - 1);
        const tracks = Object.entries(paths).map(([id, [a, b]]) => ({ id, x: a[0] + (b[0] - a[0]) * u, y: a[1] + (b[1] - a[1]) * u, vx: 0, vy: 0, at: d.at, firstSeenAt: start, sources: [{ camera: 'cam', trackId: 1 }] }));
        agent.bus.emit('vision.shoppers', { at: d.at, tracks, ended: [] });
      }
    },
    weight(plate: string, kind: 'pick' | 'return', candidates: ItemCandidate[]) {
      const p = layout.plates.get(plate)!;
      const delta = (kind === 'pick' ? -1 : 1) * 330;
      agent.bus.emit(
        'shelf.weight-event',
        weights.record({ shelf: `${p.gondola}.${p.shelf}`, plates: [plate], tStart: d.at - 1500, tEnd: d.at, deltaGrams: delta, perPlate: { [plate]: delta }, noiseSigma: 1, kind, candidates, flags: [] }),
      );
    },
    enter(token: string, track: string) {
      d.gate({ gate: 'gate-entry', kind: 'scan', token });
      d.gate({ gate: 'gate-entry', kind: 'pass', direction: 'in' });
      d.move({ [track]: [[1, 7], [1.2, 6.8]] }, 1);
    },
    leave(track: string, from: [number, number]) {
      d.move({ [track]: [from, [11, 7]] }, 3);
      d.gate({ gate: 'gate-exit', kind: 'pass', direction: 'out' });
    },
  };
  return d;
}

const sure = (product: string, count = 1): ItemCandidate[] => [{ product, count, probability: 0.98, misplaced: false }];

/** Two shoppers equally near a shelf when a can is picked (a review item); a third still shopping. */
function shop(agent: Agent, config: StoreConfig, start: number): void {
  const d = storeDriver(agent, config, start);
  const [x, y] = d.standAt('1.2.1');
  d.enter('tok-alpha-1111', 'a');
  d.enter('tok-bravo-2222', 'b');
  d.move({ a: [[1.2, 6.8], [x - 0.2, y]], b: [[1.2, 6.8], [x + 0.2, y]] }, 4);
  d.move({ a: [[x - 0.2, y], [x - 0.2, y]], b: [[x + 0.2, y], [x + 0.2, y]] }, 2);
  d.weight('1.2.1', 'pick', sure('cola-can-330'));
  d.leave('a', [x - 0.2, y]);
  d.leave('b', [x + 0.2, y]);
  const [cx, cy] = d.standAt('1.3.3');
  d.enter('tok-charlie-3333', 'c');
  d.move({ c: [[1.2, 6.8], [cx, cy]] }, 4);
  d.move({ c: [[cx, cy], [cx, cy]] }, 2);
  d.weight('1.3.3', 'pick', sure('chocolate-dark-100', 2));
}

interface ReviewItemJson {
  id: number;
  kind: string;
  product: string | null;
  quantity: number;
  receiptId: number | null;
  decidedAt: number | null;
  cartLines: { deltaGrams: number | null; distanceM: number | null; evidence: { shoppers?: unknown[] } }[];
  receipt: { id: number; revision: number; total: number; status: string } | null;
}

describe('carts page API', { timeout: 60_000 }, () => {
  let agent: Agent;
  let config: StoreConfig;
  let url: string;
  let viewer: Signed;
  let staff: Signed;
  const start = Date.now() - 120_000;

  beforeAll(async () => {
    const base = demoConfig(tempDir());
    // Gates stay configured (their zones place shoppers); without a simulator their devices only retry.
    config = { ...base, cameras: [], rfid: { ...base.rfid, readers: [] }, alerts: { ...base.alerts, diskLowMb: 0 } };
    agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
    await agent.start();
    await addUsers(agent.database);
    url = agent.adminUrl!;
    shop(agent, config, start);
    viewer = await signIn(url, 'viewer', PASSWORDS.viewer);
    staff = await signIn(url, 'staff', PASSWORDS.staff);
  });
  afterAll(async () => {
    await agent?.stop('test');
  });

  const price = (id: string) => config.planogram.products.find((p) => p.id === id)!.price;
  const range = () => `from=${encodeURIComponent(new Date(start - 60_000).toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`;

  it('refuses anonymous callers on every route', async () => {
    for (const path of ['/api/carts', '/api/receipts', '/api/receipts/1', '/api/review']) {
      const res = await fetch(`${url}${path}`, { headers: { accept: 'application/json' } });
      expect(res.status, path).toBe(401);
    }
    const post = await fetch(`${url}/api/review/1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'accept' }) });
    expect(post.status).toBe(401);
    const page = await fetch(`${url}/carts`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(page.status).toBe(302);
  });

  it('shows viewers the open carts with their evidence, the receipts and the review queue', async () => {
    const page = await viewer.fetch('/carts', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/assets/carts.js');

    const carts = (await (await viewer.fetch('/api/carts')).json()) as {
      currency: string;
      carts: { session: { token: string }; items: { product: string; name: string; quantity: number; confidence: number }[]; lines: { deltaGrams: number; distanceM: number; weightEventId: number }[] }[];
    };
    expect(carts.currency).toBe(config.store.currency);
    expect(carts.carts).toHaveLength(1);
    const [cart] = carts.carts;
    expect(cart!.session.token).toBe('…3333');
    expect(cart!.items).toEqual([expect.objectContaining({ product: 'chocolate-dark-100', name: 'Dark chocolate 100 g', quantity: 2 })]);
    expect(cart!.items[0]!.confidence).toBeGreaterThan(0.5);
    expect(cart!.lines[0]).toMatchObject({ deltaGrams: -330, weightEventId: expect.any(Number) });
    expect(cart!.lines[0]!.distanceM).toBeLessThan(1);

    const receipts = (await (await viewer.fetch(`/api/receipts?${range()}`)).json()) as { receipts: { id: number; status: string; revision: number; total: number; token: string; lines: { status: string }[] }[] };
    expect(receipts.receipts).toHaveLength(2);
    expect(receipts.receipts.map((r) => r.token)).toEqual(['…1111', '…2222']);
    expect(JSON.stringify(receipts)).not.toContain('tok-alpha');
    // The default is the store's today, which holds these receipts unless the test straddles midnight.
    const today = (await (await viewer.fetch('/api/receipts')).json()) as { day: string; receipts: unknown[]; timezone: string };
    expect(today.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(today.timezone).toBe(config.store.timezone);

    const review = (await (await viewer.fetch('/api/review')).json()) as { items: ReviewItemJson[]; products: { id: string }[] };
    expect(review.products.length).toBe(config.planogram.products.length);
    expect(review.items).toHaveLength(1);
    const [item] = review.items;
    expect(item).toMatchObject({ kind: 'uncertain-line', product: 'cola-can-330', quantity: 1, decidedAt: null, receipt: { revision: 0, total: 0, status: 'pending-review' } });
    expect(item!.cartLines[0]!.deltaGrams).toBe(-330);
    expect(item!.cartLines[0]!.evidence.shoppers).toHaveLength(2);

    const one = await viewer.fetch(`/api/receipts/${item!.receiptId}`);
    expect(one.status).toBe(200);
    expect(((await one.json()) as { receipt: { lines: { status: string }[] } }).receipt.lines.map((l) => l.status)).toEqual(['review']);
    expect((await viewer.fetch('/api/receipts/999999')).status).toBe(404);

    // A viewer looks but may not decide.
    const refused = await viewer.fetch(`/api/review/${item!.id}`, { method: 'POST', body: { decision: 'accept' } });
    expect(refused.status).toBe(403);
  });

  it('answers bad queries and bodies with 400 and a reason, never a stack trace', async () => {
    const cases: [string, RegExp][] = [
      ['/api/receipts?from=yesterday', /ISO date-times/],
      ['/api/receipts?from=2026-11-02T10:00:00Z&to=2026-11-02T09:00:00Z', /before/],
      ['/api/receipts?day=2026-02-30', /not a date/],
      ['/api/receipts?day=soon', /day/],
      ['/api/receipts?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z', /31 days/],
      ['/api/receipts/abc', /id/],
      ['/api/review?all=maybe', /all/],
    ];
    for (const [path, reason] of cases) {
      const res = await viewer.fetch(path);
      const text = await res.text();
      expect(res.status, path).toBe(400);
      expect(JSON.parse(text).error, path).toMatch(reason);
      expect(text).not.toMatch(/\n\s+at /);
    }
    const item = ((await (await staff.fetch('/api/review')).json()) as { items: ReviewItemJson[] }).items[0]!;
    const bodies: [unknown, RegExp][] = [
      [{ decision: 'maybe' }, /decision/],
      [{ decision: 'change', quantity: -1 }, /quantity/],
      [{ decision: 'change', quantity: 1.5 }, /quantity/],
      [{ decision: 'change' }, /needs a product, a quantity/],
      [{ decision: 'accept', quantity: 2 }, /go with the decision "change"/],
      [{ decision: 'change', product: 'caviar-50' }, /caviar-50 is not in the planogram/],
      [{ decision: 'accept', extra: 1 }, /extra is not a field/],
    ];
    for (const [body, reason] of bodies) {
      const res = await staff.fetch(`/api/review/${item.id}`, { method: 'POST', body });
      const text = await res.text();
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(JSON.parse(text).error, JSON.stringify(body)).toMatch(reason);
      expect(text).not.toMatch(/\n\s+at /);
    }
    // None of them decided anything.
    expect(((await (await staff.fetch('/api/review')).json()) as { items: ReviewItemJson[] }).items).toHaveLength(1);
  });

  it('lets staff correct a line: a new revision with the corrected total, its outbox message and the audit entry', async () => {
    const item = ((await (await staff.fetch('/api/review')).json()) as { items: ReviewItemJson[] }).items[0]!;
    const noCsrf = await fetch(`${url}/api/review/${item.id}`, {
      method: 'POST',
      headers: { cookie: staff.cookie, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ decision: 'change', quantity: 3 }),
    });
    expect(noCsrf.status).toBe(403);
    const wrongCsrf = await fetch(`${url}/api/review/${item.id}`, {
      method: 'POST',
      headers: { cookie: staff.cookie, 'content-type': 'application/json', 'x-csrf-token': viewer.csrf },
      body: JSON.stringify({ decision: 'change', quantity: 3 }),
    });
    expect(wrongCsrf.status).toBe(403);

    const res = await staff.fetch(`/api/review/${item.id}`, { method: 'POST', body: { decision: 'change', product: 'energy-can-250', quantity: 3 } });
    expect(res.status).toBe(200);
    const outcome = (await res.json()) as {
      item: { decision: string; decidedBy: string; decidedProduct: string; decidedQuantity: number; appliedRevision: number };
      adjusted: { id: number; revision: number; total: number; status: string; pendingReview: number; lines: { product: string; quantity: number; status: string }[] };
    };
    expect(outcome.item).toMatchObject({ decision: 'change', decidedBy: 'staff', decidedProduct: 'energy-can-250', decidedQuantity: 3, appliedRevision: 1 });
    expect(outcome.adjusted).toMatchObject({ id: item.receiptId, revision: 1, total: 3 * price('energy-can-250'), status: 'reviewed', pendingReview: 0 });
    expect(outcome.adjusted.lines.map((l) => [l.product, l.quantity, l.status])).toEqual([
      ['cola-can-330', 1, 'rejected'],
      ['energy-can-250', 3, 'billed'],
    ]);

    // What the page reads afterwards agrees.
    const receipt = ((await (await viewer.fetch(`/api/receipts/${item.receiptId}`)).json()) as { receipt: { revision: number; total: number } }).receipt;
    expect(receipt).toMatchObject({ revision: 1, total: 3 * price('energy-can-250') });
    expect(((await (await viewer.fetch('/api/review')).json()) as { items: unknown[] }).items).toHaveLength(0);
    const all = ((await (await viewer.fetch('/api/review?all=true')).json()) as { items: ReviewItemJson[] }).items;
    expect(all.map((i) => [i.id, i.decidedAt !== null])).toEqual([[item.id, true]]);

    const adjusted = agent.database.handle.prepare("SELECT payload, idempotency_key AS key FROM outbox WHERE topic = 'receipt.adjusted'").all() as { payload: string; key: string }[];
    expect(adjusted).toHaveLength(1);
    expect(adjusted[0]!.key).toBe(`${config.store.id}:receipt:${item.receiptId}:r1`);
    expect(JSON.parse(adjusted[0]!.payload)).toMatchObject({ revision: 1, total: 3 * price('energy-can-250'), previousTotal: 0, reason: 'staff review' });

    const audit = new UserRepository(agent.database.handle).auditLog(20).filter((a) => a.action === 'review.decide');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ user: 'staff', subject: `review-item:${item.id}`, detail: { item: item.id, decision: 'change', product: 'energy-can-250', quantity: 3, receipt: item.receiptId, revision: 1 } });

    // Deciding again is a conflict with the reason; an unknown item is 404.
    const again = await staff.fetch(`/api/review/${item.id}`, { method: 'POST', body: { decision: 'reject' } });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toMatch(/already decided \(change by staff\)/);
    const unknown = await staff.fetch('/api/review/999999', { method: 'POST', body: { decision: 'accept' } });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toMatch(/no review item 999999/);
    expect(new UserRepository(agent.database.handle).auditLog(20).filter((a) => a.action === 'review.decide')).toHaveLength(1);
    expect(agent.database.handle.prepare("SELECT COUNT(*) AS n FROM outbox WHERE topic = 'receipt.adjusted'").get()).toEqual({ n: 1 });
  });
});
