import { describe, expect, it } from 'vitest';
import { ProductGallery } from '../../edge-agent/src/vision/products/product-gallery.js';
import { Random } from '../../edge-agent/src/sim/random.js';

const DIM = 16;

/** A unit vector near `centre` (noise of the given size per component). */
function near(centre: Float32Array, noise: number, random: Random): Float32Array {
  const v = Float32Array.from(centre, (c) => c + random.normal(0, noise));
  let n = 0;
  for (const x of v) n += x * x;
  return v.map((x) => x / Math.sqrt(n));
}

function axis(i: number, j = -1): Float32Array {
  const v = new Float32Array(DIM);
  v[i] = 1;
  if (j >= 0) {
    v[i] = Math.SQRT1_2;
    v[j] = Math.SQRT1_2;
  }
  return v;
}

/** Products a–f on their own axes, g half-way between a and b (a close cousin). */
function gallery(random: Random, refs = 8, noise = 0.15): { gallery: ProductGallery; centres: Map<string, Float32Array> } {
  const centres = new Map<string, Float32Array>([
    ['a', axis(0)],
    ['b', axis(1)],
    ['c', axis(2)],
    ['d', axis(3)],
    ['e', axis(4)],
    ['f', axis(5)],
    ['g', axis(0, 1)],
  ]);
  const g = new ProductGallery(DIM);
  for (const [product, centre] of centres) for (let k = 0; k < refs; k++) g.add(product, near(centre, noise, random));
  return { gallery: g, centres };
}

describe('product gallery', () => {
  it('finds the product whose references a query is nearest to, with probabilities that add up', () => {
    const random = new Random(1);
    const { gallery: g, centres } = gallery(random);
    expect(g.products.sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(g.size).toBe(56);
    let right = 0;
    for (let k = 0; k < 200; k++) {
      const truth = random.pick([...centres.keys()]);
      const answer = g.search(near(centres.get(truth)!, 0.15, random), { topK: 7 });
      expect(answer.matches).toHaveLength(7);
      expect(answer.matches.reduce((s, m) => s + m.probability, 0)).toBeCloseTo(1, 6);
      for (let i = 1; i < answer.matches.length; i++) expect(answer.matches[i - 1]!.similarity).toBeGreaterThanOrEqual(answer.matches[i]!.similarity);
      if (answer.matches[0]!.product === truth) right++;
    }
    expect(right).toBeGreaterThan(180);
  });

  it('calibrates a temperature and an unknown threshold by leaving each reference out', () => {
    const random = new Random(2);
    const { gallery: g, centres } = gallery(random, 10, 0.12);
    const c = g.calibration;
    expect(c.basis).toBe(70);
    expect(c.temperature).toBeGreaterThan(1);
    expect(c.temperature).toBeLessThan(500);
    // About 95 % of a product's own left-out references clear the threshold.
    expect(c.unknownBelow).toBeGreaterThan(0.5);
    expect(c.unknownBelow).toBeLessThan(1);
    // Calibrated probabilities are honest: a confident answer is right about as often as it says.
    let sumP = 0;
    let right = 0;
    const n = 300;
    for (let k = 0; k < n; k++) {
      const truth = random.pick([...centres.keys()]);
      const best = g.search(near(centres.get(truth)!, 0.12, random)).matches[0]!;
      sumP += best.probability;
      if (best.product === truth) right++;
    }
    expect(Math.abs(sumP / n - right / n)).toBeLessThan(0.1);
  });

  it('says unknown for a product it has never seen, and not for one it has', () => {
    const random = new Random(3);
    const { gallery: g, centres } = gallery(random);
    const stranger = g.search(near(axis(9), 0.1, random));
    expect(stranger.unknown).toBe(true);
    expect(g.search(near(centres.get('c')!, 0.1, random)).unknown).toBe(false);
    // A fixed threshold from the configuration wins over the calibrated one.
    const strict = new ProductGallery(DIM, 0.999);
    strict.add('a', axis(0));
    strict.add('a', near(axis(0), 0.05, random));
    expect(strict.search(near(axis(0), 0.1, random)).unknown).toBe(true);
  });

  it('chooses among the candidates only, with probabilities renormalised over them', () => {
    const random = new Random(4);
    const { gallery: g } = gallery(random);
    // Half-way between a and g, nearer a: with a out of the running, g is the answer.
    const query = near(Float32Array.from(axis(0), (v, i) => 0.9 * v + 0.45 * axis(0, 1)[i]!), 0.01, random);
    expect(g.search(query).matches[0]!.product).toBe('a');
    const within = g.search(query, { candidates: ['g', 'c', 'd'] });
    expect(within.matches.map((m) => m.product)).toEqual(['g', 'c', 'd']);
    expect(within.matches.reduce((s, m) => s + m.probability, 0)).toBeCloseTo(1, 6);
    expect(g.search(query, { candidates: ['nothing-like-it'] })).toEqual({ matches: [], unknown: true });
  });

  it('scores a product by its nearest references: a pack shot from two sides is recognised from either', () => {
    const random = new Random(5);
    const g = new ProductGallery(DIM);
    // Front and back of one pack look nothing alike; a mixed display sits between them.
    for (let k = 0; k < 4; k++) {
      g.add('pack', near(axis(0), 0.1, random));
      g.add('pack', near(axis(2), 0.1, random));
      g.add('display', near(axis(0, 2), 0.1, random));
      g.add('other', near(axis(5), 0.1, random));
    }
    for (const side of [axis(0), axis(2)]) {
      const best = g.search(near(side, 0.1, random)).matches[0]!;
      expect(best.product).toBe('pack');
      // The mean of the nearest references (front or back), not of a centroid half-way between.
      expect(best.similarity).toBeGreaterThan(0.78);
    }
    expect(g.search(near(axis(0, 2), 0.05, random)).matches[0]!.product).toBe('display');
    expect(g.referencesOf('pack')).toBe(8);
  });

  it('falls back to default calibration until a product has two references, and refuses vectors of the wrong length', () => {
    const g = new ProductGallery(DIM);
    g.add('a', axis(0));
    g.add('b', axis(1));
    expect(g.calibration).toEqual({ temperature: 20, unknownBelow: 0.5, basis: 0 });
    expect(g.search(axis(1)).matches[0]).toMatchObject({ product: 'b', similarity: 1 });
    expect(() => g.add('c', new Float32Array(3))).toThrow(/16-number vectors, not 3/);
    expect(new ProductGallery(DIM).search(axis(0))).toEqual({ matches: [], unknown: true });
  });
});
