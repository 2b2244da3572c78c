import { describe, expect, it } from 'vitest';
import { SessionTracker, type SessionSink } from '../../edge-agent/src/checkout/session-tracker.js';
import type { ShopperSession, SessionMember } from '../../edge-agent/src/checkout/shopper-session.js';
import { associate, reachPlace } from '../../edge-agent/src/checkout/shopper-association.js';
import { fuseWeightEvent } from '../../edge-agent/src/checkout/item-fusion.js';
import { ItemInference } from '../../edge-agent/src/shelf/item-inference.js';
import { FloorHistory } from '../../edge-agent/src/checkout/floor-history.js';
import { buildReceipt } from '../../edge-agent/src/checkout/receipt-builder.js';
import type { CartLine } from '../../edge-agent/src/checkout/cart-line.js';
import { StoreLayout } from '../../edge-agent/src/sim/store-layout.js';
import type { GateEvent } from '../../edge-agent/src/devices/gate/gate-event.js';
import type { ShopperTrack } from '../../edge-agent/src/vision/store-tracks.js';
import { demoConfig } from '../support/demo-config.js';

const config = demoConfig('/tmp/unused');
const layout = new StoreLayout(config);
// Demo store: the entry zone is x 0–2, y 6.5–8; the exit zone x 10–12, y 6.5–8.
const T0 = 1_000_000;

function recordingSink() {
  const log: string[] = [];
  let next = 1;
  const sink: SessionSink = {
    open: (token, gate) => {
      log.push(`open ${token} ${gate}`);
      return next++;
    },
    joined: (s: ShopperSession, m: SessionMember) => void log.push(`join ${s.id} ${m.track} ${m.how}`),
    left: (s: ShopperSession, m: SessionMember) => void log.push(`left ${s.id} ${m.track} ${m.leftHow}`),
    ended: (s: ShopperSession) => void log.push(`end ${s.id} ${s.endReason}`),
  };
  return { sink, log };
}

let gateId = 1;
const gate = (g: Partial<GateEvent> & Pick<GateEvent, 'gate' | 'kind' | 'at'>): GateEvent => ({ id: gateId++, ...g });
const track = (id: string, at: number, x: number, y: number): ShopperTrack => ({ id, x, y, vx: 0, vy: 0, at, firstSeenAt: at, sources: [{ camera: 'c', trackId: 1 }] });

/** Picks never ask what a shopper holds. */
const noReturns = (): never => {
  throw new Error('a pick asked for put-back candidates');
};

describe('SessionTracker', () => {
  it('binds the tracks of a party passing in on one token to one session, and ends it when the last one leaves', () => {
    const { sink, log } = recordingSink();
    const t = new SessionTracker(config, layout, sink);
    t.gate(gate({ gate: 'gate-entry', kind: 'scan', token: 'tok-a', at: T0 }));
    t.gate(gate({ gate: 'gate-entry', kind: 'pass', direction: 'in', at: T0 + 1_000 }));
    t.shoppers({ at: T0 + 1_500, tracks: [track('s1', T0 + 1_500, 1, 7)], ended: [] });
    t.gate(gate({ gate: 'gate-entry', kind: 'pass', direction: 'in', at: T0 + 2_500 }));
    t.shoppers({ at: T0 + 3_000, tracks: [track('s1', T0 + 3_000, 1.5, 6), track('s2', T0 + 3_000, 1, 7.2)], ended: [] });
    expect(t.sessionOfTrack('s1')?.id).toBe(1);
    expect(t.sessionOfTrack('s2')?.id).toBe(1);
    // s1 walks to the exit and out; s2 later.
    t.shoppers({ at: T0 + 60_000, tracks: [track('s1', T0 + 60_000, 11, 7), track('s2', T0 + 60_000, 5, 4)], ended: [] });
    t.gate(gate({ gate: 'gate-exit', kind: 'pass', direction: 'out', at: T0 + 61_000 }));
    expect(log).toContain('left 1 s1 exit-gate');
    expect(log.some((l) => l.startsWith('end'))).toBe(false);
    t.shoppers({ at: T0 + 90_000, tracks: [track('s2', T0 + 90_000, 11.2, 7.1)], ended: [] });
    t.gate(gate({ gate: 'gate-exit', kind: 'pass', direction: 'out', at: T0 + 90_500 }));
    expect(log.slice(-2)).toEqual(['left 1 s2 exit-gate', 'end 1 exit']);
    expect(log.filter((l) => l.startsWith('open'))).toEqual(['open tok-a gate-entry']);
  });

  it('never binds a pass in without a scanned token (a tailgater pays nothing, nobody is billed for them)', () => {
    const { sink, log } = recordingSink();
    const t = new SessionTracker(config, layout, sink);
    t.gate(gate({ gate: 'gate-entry', kind: 'pass', direction: 'in', at: T0 }));
    t.shoppers({ at: T0 + 500, tracks: [track('x', T0 + 500, 1, 7)], ended: [] });
    expect(t.sessionOfTrack('x')).toBeUndefined();
    expect(t.counts.unpaidPasses).toBe(1);
    expect(log).toEqual([]);
  });

  it('re-associates a track lost mid-store with the new track that appears where the shopper could have walked', () => {
    const { sink, log } = recordingSink();
    const t = new SessionTracker(config, layout, sink);
    t.gate(gate({ gate: 'gate-entry', kind: 'scan', token: 'tok-b', at: T0 }));
    t.gate(gate({ gate: 'gate-entry', kind: 'pass', direction: 'in', at: T0 + 500 }));
    t.shoppers({ at: T0 + 1_000, tracks: [track('a', T0 + 1_000, 1, 7)], ended: [] });
    t.shoppers({ at: T0 + 20_000, tracks: [track('a', T0 + 20_000, 5, 4)], ended: [] });
    t.shoppers({ at: T0 + 21_000, tracks: [], ended: ['a'] });
    // Someone far away appears first: not them (12 m in 2 s).
    t.shoppers({ at: T0 + 22_000, tracks: [track('far', T0 + 22_000, 11, 1)], ended: [] });
    t.shoppers({ at: T0 + 24_000, tracks: [track('b', T0 + 24_000, 5.8, 4.3)], ended: [] });
    expect(t.sessionOfTrack('far')).toBeUndefined();
    expect(t.sessionOfTrack('b')?.id).toBe(1);
    expect(log).toContain('left 1 a replaced');
    expect(log).toContain('join 1 b reassociated');
    expect(t.counts.reassociated).toBe(1);
  });

  it('lets a member lost near the exit leave after the configured seconds, ending the session', () => {
    const { sink, log } = recordingSink();
    const t = new SessionTracker(config, layout, sink);
    t.gate(gate({ gate: 'gate-entry', kind: 'scan', token: 'tok-c', at: T0 }));
    t.gate(gate({ gate: 'gate-entry', kind: 'pass', direction: 'in', at: T0 + 500 }));
    t.shoppers({ at: T0 + 1_000, tracks: [track('c', T0 + 1_000, 1, 7)], ended: [] });
    t.shoppers({ at: T0 + 40_000, tracks: [track('c', T0 + 40_000, 10.5, 7)], ended: [] });
    t.shoppers({ at: T0 + 43_000, tracks: [], ended: ['c'] });
    t.advance(T0 + 40_000 + config.checkout.exitLostSeconds * 1000 - 1);
    expect(log.some((l) => l.startsWith('end'))).toBe(false);
    t.advance(T0 + 40_000 + config.checkout.exitLostSeconds * 1000 + 1);
    expect(log.slice(-2)).toEqual(['left 1 c lost-at-exit', 'end 1 exit']);
  });
});

describe('association and fusion', () => {
  const plate = layout.plates.get('1.1.3')!;
  const event = { tStart: T0, tEnd: T0 + 1_500, plates: ['1.1.3'], perPlate: { '1.1.3': -530 } };

  function historyWith(points: Record<string, { x: number; y: number }>): FloorHistory {
    const h = new FloorHistory(60_000);
    for (const [id, p] of Object.entries(points)) for (let t = T0 - 2_000; t <= T0 + 2_000; t += 200) h.observe(id, t, p.x, p.y);
    return h;
  }

  it('credits the shopper standing at the plate, not the neighbour a step along the shelf', () => {
    const place = reachPlace(layout, event)!;
    expect(Math.hypot(place.x - plate.standAt.x, place.y - plate.standAt.y)).toBeLessThan(1e-9);
    const h = historyWith({ at: { x: plate.standAt.x + 0.1, y: plate.standAt.y }, next: { x: plate.standAt.x + 0.8, y: plate.standAt.y } });
    const who = associate(event, place, [{ session: 1, tracks: ['at'] }, { session: 2, tracks: ['next'] }], h, config.checkout);
    expect(who[0]!.session).toBe(1);
    expect(who[0]!.probability).toBeGreaterThan(0.95);
  });

  it('leaves two shoppers equally near with about half each: too unsure to bill either', () => {
    const place = reachPlace(layout, event)!;
    const h = historyWith({ a: { x: plate.standAt.x - 0.2, y: plate.standAt.y }, b: { x: plate.standAt.x + 0.2, y: plate.standAt.y } });
    const who = associate(event, place, [{ session: 1, tracks: ['a'] }, { session: 2, tracks: ['b'] }], h, config.checkout);
    const fused = fuseWeightEvent({ kind: 'pick', candidates: [{ product: 'water-sparkling-500', count: 1, probability: 0.99, misplaced: false }] }, who, { tagsGone: new Map(), returnCandidates: noReturns });
    expect(fused!.probability).toBeLessThan(config.checkout.reviewBelow);
    expect(fused!.probability).toBeGreaterThan(0.4);
  });

  it('gives a put-back to the shopper holding the product when two stand at the shelf', () => {
    const place = reachPlace(layout, event)!;
    const h = historyWith({ holder: { x: plate.standAt.x + 0.25, y: plate.standAt.y }, other: { x: plate.standAt.x - 0.15, y: plate.standAt.y } });
    const who = associate(event, place, [{ session: 1, tracks: ['holder'] }, { session: 2, tracks: ['other'] }], h, config.checkout);
    expect(who[0]!.session).toBe(2);
    // A sparkling water (530 g) back on its own plate 1.1.3; only the farther shopper holds one.
    const inference = new ItemInference(config.planogram.products);
    const change = { perPlate: { '1.1.3': 530 }, deltaGrams: 530, noiseSigma: 1 };
    const fused = fuseWeightEvent({ kind: 'return', candidates: inference.explain(change) }, who, {
      tagsGone: new Map(),
      returnCandidates: (s) => inference.weigh({ ...change, held: s === 1 ? new Map([['water-sparkling-500', 1]]) : new Map() }),
    });
    expect(fused!.session).toBe(1);
    expect(fused!.product).toBe('water-sparkling-500');
  });

  it('gives a put-back to the shopper whose cart explains its weight, as the misplaced item they hold', () => {
    const place = reachPlace(layout, event)!;
    // The nearer shopper holds nothing that weighs 1,051 g; the other took an oat milk a moment ago.
    const h = historyWith({ holder: { x: plate.standAt.x + 0.25, y: plate.standAt.y }, other: { x: plate.standAt.x - 0.15, y: plate.standAt.y } });
    const who = associate(event, place, [{ session: 1, tracks: ['holder'] }, { session: 2, tracks: ['other'] }], h, config.checkout);
    expect(who[0]!.session).toBe(2);
    const carts = new Map([[1, new Map([['oat-milk-1000', 1]])], [2, new Map([['razor-blades-4', 1]])]]);
    const inference = new ItemInference(config.planogram.products);
    const change = { perPlate: { '1.1.3': 1051 }, deltaGrams: 1051, noiseSigma: 1 };
    const fused = fuseWeightEvent({ kind: 'return', candidates: inference.explain(change) }, who, {
      tagsGone: new Map(),
      returnCandidates: (s) => inference.weigh({ ...change, held: carts.get(s!) ?? new Map() }),
    });
    expect(fused).toMatchObject({ session: 1, product: 'oat-milk-1000', count: 1, misplaced: true });
  });

  it('lets a shelf tag gone silent decide between two products of the same weight', () => {
    const place = reachPlace(layout, event)!;
    const h = historyWith({ a: plate.standAt });
    const who = associate(event, place, [{ session: 1, tracks: ['a'] }], h, config.checkout);
    const candidates = [
      { product: 'p1', count: 1, probability: 0.5, misplaced: false },
      { product: 'p2', count: 1, probability: 0.5, misplaced: false },
    ];
    const fused = fuseWeightEvent({ kind: 'pick', candidates }, who, { tagsGone: new Map([['p2', 1]]), returnCandidates: noReturns });
    expect(fused!.product).toBe('p2');
    expect(fused!.probability).toBeGreaterThan(0.8);
  });
});

describe('buildReceipt', () => {
  const products = new Map(config.planogram.products.map((p) => [p.id, p]));
  let id = 1;
  const line = (product: string, quantity: number, confidence: number): CartLine => ({
    id: id++, sessionId: 1, product, quantity, source: 'weight', weightEventId: id, tagPassageId: null, deltaGrams: null,
    productProbability: confidence, associationProbability: 1, distanceM: 0.1, confidence, evidence: {}, at: T0,
  });

  it('bills confident net units, sends doubtful ones to review, and reviews a doubtful put-back that nets to nothing', () => {
    const draft = buildReceipt(
      [line('cola-can-330', 2, 0.99), line('cola-can-330', -1, 0.97), line('water-still-1500', 1, 0.5), line('oat-milk-1000', 1, 0.95), line('oat-milk-1000', -1, 0.4)],
      products,
      0.75,
    );
    expect(draft.lines.map((l) => [l.product, l.quantity, l.status])).toEqual([
      ['cola-can-330', 1, 'billed'],
      ['water-still-1500', 1, 'review'],
    ]);
    expect(draft.total).toBe(products.get('cola-can-330')!.price);
    expect(draft.review.map((r) => [r.kind, r.product, r.quantity])).toEqual([
      ['uncertain-line', 'water-still-1500', 1],
      ['uncertain-return', 'oat-milk-1000', 0],
    ]);
  });
});
