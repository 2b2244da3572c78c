/**
 * The stock book's arithmetic on its own: units lying across the seam of two plates of their
 * product, a noisy single look that must not move a count, and staff filling a shelf with weight
 * that resembles another product.
 */
import { describe, expect, it } from 'vitest';
import type { ProductConfig } from '../../device-config/schema.js';
import type { WeightEvent } from '../../edge-agent/src/shelf/weight-event.js';
import { StockBook } from '../../edge-agent/src/stock/stock-book.js';

const product = (id: string, unitWeight: number, plates: string[]): ProductConfig =>
  ({ id, name: id, gtin: '4006380000001', unitWeight, weightTolerance: 1, price: 100, plates }) as ProductConfig;

const pasta = product('pasta', 500, ['1.1.1', '1.1.2']);
const water = product('water', 1530, ['1.1.3']);

function event(perPlate: Record<string, number>, candidates: WeightEvent['candidates'], id = 1, at = 10_000): WeightEvent {
  const delta = Object.values(perPlate).reduce((a, b) => a + b, 0);
  return { id, shelf: '1.1', plates: Object.keys(perPlate), tStart: at - 1_000, tEnd: at, deltaGrams: delta, perPlate, noiseSigma: 1, kind: delta < 0 ? 'pick' : 'return', candidates, flags: [] };
}

describe('stock book', () => {
  it('counts a unit lying across the seam of its two plates on the lower plate only', () => {
    const book = new StockBook([pasta, water], 0);
    // Two whole packs on each plate and one across the seam: 250 g on each side.
    book.settle('1.1.1', 1250, 1, 0);
    book.settle('1.1.2', 1250, 1, 0);
    expect(book.facing('1.1.1')!.units).toBe(3);
    expect(book.facing('1.1.2')!.units).toBe(2);
    // Taking the seam pack takes one unit, from the lower plate.
    book.weightEvent(event({ '1.1.1': -250, '1.1.2': -250 }, [{ product: 'pasta', count: 1, probability: 1, misplaced: false }]), false);
    expect(book.facing('1.1.1')!.units).toBe(2);
    expect(book.facing('1.1.2')!.units).toBe(2);
  });

  it('does not believe one noisy look against the count the events say; two looks in a row it does', () => {
    const book = new StockBook([pasta, water], 0);
    book.settle('1.1.3', 3 * 1530, 1, 0);
    expect(book.facing('1.1.3')!.units).toBe(3);
    // One look a unit short (a hand resting on the plate, a knock): nothing changes yet.
    expect(book.settle('1.1.3', 2 * 1530, 1, 1_000)).toBeUndefined();
    expect(book.settle('1.1.3', 3 * 1530, 1, 2_000)).toBeUndefined();
    expect(book.facing('1.1.3')!.units).toBe(3);
    // A unit really gone unseen: the second look in a row corrects the count.
    expect(book.settle('1.1.3', 2 * 1530, 1, 3_000)).toBeUndefined();
    expect(book.settle('1.1.3', 2 * 1530, 1, 4_000)).toMatchObject({ kind: 'reconcile', delta: -1, units: 2 });
  });

  it('takes weight staff put on a shelf as its own goods, even when it weighs like something else', () => {
    const book = new StockBook([pasta, water], 0);
    book.settle('1.1.2', 1000, 1, 0);
    // Three packs of pasta (1,530 g) weigh what a water pack does: while restocking they are pasta.
    const filled = book.weightEvent(event({ '1.1.2': 1530 }, [{ product: 'water', count: 1, probability: 0.7, misplaced: true }, { product: 'pasta', count: 3, probability: 0.3, misplaced: false }]), true);
    expect(filled).toEqual([expect.objectContaining({ kind: 'restock', product: 'pasta', delta: 3, units: 5 })]);
    expect(book.facing('1.1.2')!.foreign).toEqual([]);
    // The same weight from a shopper is the misplaced water pack.
    const left = book.weightEvent(event({ '1.1.2': 1530 }, [{ product: 'water', count: 1, probability: 0.7, misplaced: true }], 2, 20_000), false);
    expect(left).toEqual([expect.objectContaining({ kind: 'misplaced', product: 'water', delta: 1 })]);
  });

  it('learns what a unit really weighs from its own picks, and counts a full facing by it', () => {
    // The catalogue says 487 g; the jars weigh 474 g. Twenty-one of them read as 20.4 catalogue units.
    const jars = product('jars', 487, ['1.1.5']);
    const book = new StockBook([jars], 0.1);
    book.settle('1.1.5', 21 * 474, 1, 0);
    expect(book.facing('1.1.5')!.units).toBe(20);
    const pick = (id: number, at: number) => book.weightEvent(event({ '1.1.5': -474 }, [{ product: 'jars', count: 1, probability: 1, misplaced: false }], id, at), false);
    pick(1, 10_000);
    pick(2, 20_000);
    expect(book.facing('1.1.5')!.unitWeight).toBeCloseTo(474, 5);
    // 19 jars on the plate, 18 by the events: two looks at the learnt weight put it right.
    book.settle('1.1.5', 19 * 474, 1, 30_000);
    expect(book.settle('1.1.5', 19 * 474, 1, 31_000)).toMatchObject({ kind: 'reconcile', delta: 1, units: 19 });
  });

  it('lets the zero follow drift no faster than a load cell drifts', () => {
    const book = new StockBook([pasta, water], 1);
    book.settle('1.1.3', 2 * 1530, 1, 0);
    // A reading 300 g heavy a second later is not drift: the zero moves by a few hundredths of a gram.
    book.settle('1.1.3', 2 * 1530 + 300, 1, 1_000);
    expect(Math.abs(book.facing('1.1.3')!.zero)).toBeLessThan(0.05);
    // Slow drift over an hour is followed.
    for (let t = 1; t <= 3600; t++) book.settle('1.1.3', 2 * 1530 + (30 * t) / 3600, 1, 1_000 + t * 1_000);
    expect(book.facing('1.1.3')!.zero).toBeGreaterThan(25);
    expect(book.facing('1.1.3')!.units).toBe(2);
  });
});
