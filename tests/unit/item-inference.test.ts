import { describe, expect, it } from 'vitest';
import { ItemInference } from '../../edge-agent/src/shelf/item-inference.js';
import { demoConfig } from '../support/demo-config.js';

const products = demoConfig('/tmp/unused').planogram.products;
const inference = new ItemInference(products);
const top = (c: ReturnType<ItemInference['explain']>) => c[0]!;

describe('ItemInference', () => {
  it('counts units of the product on the plates that changed, even off its catalogue weight by a few percent', () => {
    // Cola cans (350 g) live on 1.2.1–1.2.2; three cans measured 3 % light.
    const c = inference.explain({ perPlate: { '1.2.1': -600, '1.2.2': -418.5 }, deltaGrams: -1018.5, noiseSigma: 0.8 });
    expect(top(c)).toMatchObject({ product: 'cola-can-330', count: 3, misplaced: false });
    expect(top(c).probability).toBeGreaterThan(0.95);
  });

  it('names a misplaced return by its weight, flagged as misplaced', () => {
    // A 1.5 l water bottle (1560 g) put back on the chocolate plate 1.3.3.
    const c = inference.explain({ perPlate: { '1.3.3': 1561 }, deltaGrams: 1561, noiseSigma: 0.8 });
    expect(top(c)).toMatchObject({ product: 'water-still-1500', count: 1, misplaced: true });
  });

  it('prefers a correct return over a misplaced one when both fit', () => {
    const c = inference.explain({ perPlate: { '1.3.3': 106 }, deltaGrams: 106, noiseSigma: 0.8 });
    expect(top(c)).toMatchObject({ product: 'chocolate-dark-100', count: 1, misplaced: false });
  });

  it('answers "unknown" when no product and count fits', () => {
    const c = inference.explain({ perPlate: { '1.1.1': -777 }, deltaGrams: -777, noiseSigma: 0.5 });
    expect(top(c).product).toBeNull();
  });

  it('gives probabilities that sum to at most 1, best first', () => {
    const c = inference.explain({ perPlate: { '2.4.1': -105 }, deltaGrams: -105, noiseSigma: 1 });
    const total = c.reduce((s, x) => s + x.probability, 0);
    expect(total).toBeLessThanOrEqual(1.000001);
    expect([...c].sort((a, b) => b.probability - a.probability)).toEqual(c);
  });
});

describe('ItemInference with strays', () => {
  it('understands a pick of an item someone left on a foreign plate', () => {
    const strays = new Map([['1.3.3', ['water-still-1500']]]);
    const c = inference.explain({ perPlate: { '1.3.3': -1561 }, deltaGrams: -1561, noiseSigma: 0.8, strays });
    expect(c[0]).toMatchObject({ product: 'water-still-1500', count: 1, misplaced: true });
    const without = inference.explain({ perPlate: { '1.3.3': -1561 }, deltaGrams: -1561, noiseSigma: 0.8 });
    expect(without[0]!.probability).toBeLessThan(c[0]!.probability);
  });
});

describe('ItemInference for a put-back by a shopper whose cart is known', () => {
  // An oat milk (1,060 g) put back on the orange juice plate 1.1.5 (juice: 1,080 g), measured 1,051 g.
  const change = { perPlate: { '1.1.5': 1051 }, deltaGrams: 1051, noiseSigma: 1 };

  it('reads it as the juice of the plate when nothing says who put it back', () => {
    expect(top(inference.explain(change))).toMatchObject({ product: 'juice-orange-1000', misplaced: false });
  });

  it('reads it as the oat milk the shopper holds, misplaced, when they hold no juice', () => {
    const held = new Map([['oat-milk-1000', 1], ['razor-blades-4', 1]]);
    expect(top(inference.explain({ ...change, held }))).toMatchObject({ product: 'oat-milk-1000', count: 1, misplaced: true });
  });

  it('still reads the juice when the shopper holds juice too', () => {
    const held = new Map([['oat-milk-1000', 1], ['juice-orange-1000', 1]]);
    expect(top(inference.explain({ ...change, held }))).toMatchObject({ product: 'juice-orange-1000', misplaced: false });
  });

  it('does not take three cans back from a shopper holding one when a held item weighs the same', () => {
    // 1,050 g on the cola plate: three cans (350 g), or the oat milk the shopper holds.
    const cola = { perPlate: { '1.2.2': 1050 }, deltaGrams: 1050, noiseSigma: 1 };
    expect(top(inference.explain(cola))).toMatchObject({ product: 'cola-can-330', count: 3 });
    const held = new Map([['cola-can-330', 1], ['oat-milk-1000', 1]]);
    expect(top(inference.explain({ ...cola, held }))).toMatchObject({ product: 'oat-milk-1000', misplaced: true });
  });

  it('says how well each cart explains the weight', () => {
    const holder = inference.weigh({ ...change, held: new Map([['oat-milk-1000', 1]]) });
    const other = inference.weigh({ ...change, held: new Map([['razor-blades-4', 2]]) });
    expect(holder.logEvidence).toBeGreaterThan(other.logEvidence + Math.log(5));
  });
});
