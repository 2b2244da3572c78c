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
