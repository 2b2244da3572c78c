/**
 * Shelf screens' decisions without devices: co-purchase rules recover associations planted in a
 * synthetic receipt history; the trigger gate's cooldowns, quiet hours and change budget; and a
 * product whose plates are empty never appears on a card.
 */
import { describe, expect, it } from 'vitest';
import type { SignageRuleConfig } from '../../device-config/schema.js';
import { Random } from '../../edge-agent/src/sim/random.js';
import { CardPicker } from '../../edge-agent/src/signage/card-picker.js';
import { CoPurchaseModel } from '../../edge-agent/src/signage/co-purchase.js';
import { StockBook } from '../../edge-agent/src/stock/stock-book.js';
import { TriggerGate } from '../../edge-agent/src/signage/trigger-gate.js';
import { demoConfig } from '../support/demo-config.js';

const THRESHOLDS = { minSupport: 0.005, minConfidence: 0.1, minLift: 1.2, minBaskets: 20 };

/** Baskets of 1–4 products drawn by a skewed popularity, with planted partners. */
function history(seed: number, baskets: number, planted: [string, string, number][], products: string[]): string[][] {
  const rng = new Random(seed);
  const weights = products.map((_, i) => 1 / (i + 1));
  const total = weights.reduce((s, w) => s + w, 0);
  const draw = () => {
    let u = rng.float() * total;
    for (let i = 0; i < products.length; i++) if ((u -= weights[i]!) <= 0) return products[i]!;
    return products[products.length - 1]!;
  };
  const out: string[][] = [];
  for (let b = 0; b < baskets; b++) {
    const basket = Array.from({ length: rng.int(1, 4) }, draw);
    for (const [from, to, p] of planted) if (basket.includes(from) && rng.chance(p)) basket.push(to);
    out.push(basket);
  }
  return out;
}

describe('co-purchase rules', () => {
  const products = Array.from({ length: 40 }, (_, i) => `p${String(i).padStart(2, '0')}`);
  const planted: [string, string, number][] = [
    ['p03', 'p27', 0.7],
    ['p10', 'p33', 0.5],
    ['p21', 'p05', 0.6],
  ];

  it('recovers planted associations as the strongest rule of each anchor, far above chance', () => {
    const model = CoPurchaseModel.mine(history(7, 5_000, planted, products), THRESHOLDS);
    expect(model.baskets).toBe(5_000);
    const found = planted.map(([from, to]) => ({ from, to, rule: model.rulesFrom(from)[0]! }));
    for (const f of found) expect(f.rule.to).toBe(f.to);
    const plantedLift = Math.min(...found.map((f) => f.rule.lift));
    // Every other rule is chance co-occurrence: well under the weakest planted one.
    const others = products.flatMap((p) => model.rulesFrom(p)).filter((r) => !planted.some(([a, b]) => (r.from === a && r.to === b) || (r.from === b && r.to === a)));
    const strongestOther = Math.max(1, ...others.map((r) => r.lift));
    console.log(
      `planted: ${found.map((f) => `${f.from}→${f.to} lift ${f.rule.lift.toFixed(2)} conf ${f.rule.confidence.toFixed(2)} supp ${f.rule.support.toFixed(3)}`).join('; ')}; strongest other rule lift ${strongestOther.toFixed(2)}`,
    );
    expect(plantedLift).toBeGreaterThan(3);
    expect(strongestOther).toBeLessThan(plantedLift / 2);
  });

  it('finds no rules without enough baskets, and none in independent purchases', () => {
    expect(CoPurchaseModel.mine(history(1, 10, planted, products), THRESHOLDS).ruleCount).toBe(0);
    const independent = CoPurchaseModel.mine(history(2, 5_000, [], products), { ...THRESHOLDS, minLift: 1.5, minSupport: 0.01 });
    expect(independent.ruleCount).toBe(0);
  });
});

describe('trigger gate', () => {
  const base = demoConfig('/tmp/unused');
  const rule: SignageRuleConfig = { id: 'linger', on: 'lingering', cooldownSeconds: 20, shopperCooldownSeconds: 300 };
  // 10:00 in Berlin (CET, UTC+1).
  const T = Date.UTC(2026, 10, 2, 9, 0, 0);

  it('holds a rule back on a screen during its cooldown, and a shopper during theirs', () => {
    const gate = new TriggerGate({ ...base.signage, maxChangesPerMinute: 60 }, 'Europe/Berlin');
    expect(gate.admit('s1', rule, 'a', T)).toBeNull();
    expect(gate.admit('s1', rule, 'b', T + 10_000)).toBe('cooldown');
    expect(gate.admit('s2', rule, 'b', T + 10_000)).toBeNull();
    expect(gate.admit('s1', rule, 'b', T + 20_000)).toBeNull();
    // Shopper a again after the screen's cooldown but within their own.
    expect(gate.admit('s1', rule, 'a', T + 45_000)).toBe('shopper-cooldown');
    expect(gate.admit('s1', rule, 'a', T + 301_000)).toBeNull();
  });

  it('shows nothing triggered in quiet hours, on the store clock, across midnight', () => {
    const gate = new TriggerGate({ ...base.signage, quietHours: [{ from: '22:00', to: '07:30' }] }, 'Europe/Berlin');
    const at = (h: number, m: number) => Date.UTC(2026, 10, 2, h - 1, m);
    expect(gate.admit('s1', rule, 'a', at(23, 10))).toBe('quiet-hours');
    expect(gate.admit('s1', rule, 'a', at(7, 29))).toBe('quiet-hours');
    expect(gate.admit('s1', rule, 'a', at(7, 30))).toBeNull();
    // A rule's own quiet hours replace the section's.
    expect(gate.admit('s1', { ...rule, id: 'other', quietHours: [] }, 'b', at(23, 10))).toBeNull();
  });

  it('changes a screen at most maxChangesPerMinute times in any minute', () => {
    const gate = new TriggerGate({ ...base.signage, maxChangesPerMinute: 3 }, 'UTC');
    const fast: SignageRuleConfig = { ...rule, cooldownSeconds: 0, shopperCooldownSeconds: 0 };
    const results = Array.from({ length: 6 }, (_, i) => gate.admit('s1', fast, `s${i}`, T + i * 5_000));
    expect(results).toEqual([null, null, null, 'rate', 'rate', 'rate']);
    expect(gate.admit('s1', fast, 'late', T + 60_000)).toBeNull();
  });
});

describe('out-of-stock suppression', () => {
  it('never puts a product whose plates are empty on a card, and shows it again once restocked', () => {
    const config = demoConfig('/tmp/unused');
    const screen = config.screens[0]!;
    const onScreenShelves = config.planogram.products.filter((p) => p.plates.some((plate) => screen.shelves.some((s) => plate.startsWith(`${s}.`))));
    expect(onScreenShelves.length).toBeGreaterThan(3);
    const grams = new Map<string, number>();
    for (const p of config.planogram.products) for (const plate of p.plates) grams.set(plate, p.unitWeight * 5);
    const popular = onScreenShelves.map((p) => p.id);
    // Receipts make the first shelf product the most popular: it would lead every card.
    const model = CoPurchaseModel.mine(Array.from({ length: 50 }, (_, i) => [popular[0]!, popular[1 + (i % 3)]!]), { ...THRESHOLDS, minLift: 0 });
    // The stock book reads the settled plates, as the agent's stock service does.
    const book = new StockBook(config.planogram.products, 0);
    const settle = (at: number) => {
      for (const [plate, g] of grams) book.settle(plate, g, 1, at);
    };
    const picker = new CardPicker(config, () => model, { inStock: (p) => book.inStock(p) });
    const T = Date.UTC(2026, 10, 2, 9);
    settle(T);
    expect(picker.forTrigger(screen, 'lingering', {}, T)!.cards[0]!.product).toBe(popular[0]);
    // The shelf runs out: a little crumb of weight is not a unit.
    const empty = onScreenShelves[0]!;
    for (const plate of empty.plates) grams.set(plate, empty.unitWeight * 0.2);
    // (The stock book believes a changed count on the second look in a row.)
    settle(T + 1_000);
    settle(T + 2_000);
    const lingering = picker.forTrigger(screen, 'lingering', {}, T)!;
    expect(lingering.cards.map((c) => c.product)).not.toContain(empty.id);
    expect(picker.forTrigger(screen, 'pick', { product: popular[1]! }, T)?.cards.map((c) => c.product) ?? []).not.toContain(empty.id);
    expect(picker.idle(screen, { products: [empty.id, popular[1]!], title: 'Tonight' }, T).cards.map((c) => c.product)).toEqual([popular[1]]);
    for (const plate of empty.plates) grams.set(plate, empty.unitWeight * 3);
    settle(T + 3_000);
    settle(T + 4_000);
    expect(picker.forTrigger(screen, 'lingering', {}, T)!.cards[0]!.product).toBe(empty.id);
  });
});
