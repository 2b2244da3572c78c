/**
 * Scores detected weight events against ground truth: which true picks and returns were found
 * (same shelf, same direction, overlapping in time), which detections match nothing, and whether
 * the top hypothesis named the right product and count.
 */
import type { ProductConfig } from '../../../device-config/schema.js';
import type { TruthWeightEvent } from '../sim/ground-truth.js';
import type { WeightEvent } from './weight-event.js';

export interface ShelfScore {
  truthEvents: number;
  detectedEvents: number;
  matched: number;
  recall: number;
  precision: number;
  /** Matched events whose top candidate is the true product and count. */
  itemCorrect: number;
  itemAccuracy: number;
  /**
   * The same over products of at least `minGrams` that weight can tell apart: no other product
   * that could be there (any product, for a misplaced return) comes within three sigmas at any count.
   */
  itemCorrectDistinguishable: number;
  itemEventsDistinguishable: number;
  itemAccuracyDistinguishable: number;
  /** |measured Δ − true Δ| of matched events. */
  deltaErrorMedianGrams: number;
  deltaErrorP95Grams: number;
  missed: TruthWeightEvent[];
  spurious: WeightEvent[];
  wrongItem: { truth: TruthWeightEvent; detected: WeightEvent }[];
}

const SLACK_MS = 1_000;

export function scoreWeightEvents(truth: readonly TruthWeightEvent[], detected: readonly WeightEvent[], products: readonly ProductConfig[], minGrams = 20): ShelfScore {
  const byId = new Map(products.map((p) => [p.id, p]));
  // Every plausible pair (same shelf and direction, overlapping in time), cheapest first: the
  // cost is the start-time gap plus the relative weight gap, and a pair sharing no plate is a last resort.
  const pairs: { t: number; d: number; cost: number }[] = [];
  truth.forEach((t, ti) => {
    const sign = t.kind === 'pick' ? -1 : 1;
    detected.forEach((d, di) => {
      if (d.shelf !== t.shelf || Math.sign(d.deltaGrams) !== sign) return;
      if (d.tEnd < t.tStart - SLACK_MS || d.tStart > t.tEnd + SLACK_MS) return;
      const sharesPlate = Object.keys(t.plates).some((p) => d.plates.includes(p));
      const cost = Math.abs(d.tStart - t.tStart) / 1000 + Math.abs(d.deltaGrams - t.deltaGrams) / Math.max(1, Math.abs(t.deltaGrams)) + (sharesPlate ? 0 : 100);
      pairs.push({ t: ti, d: di, cost });
    });
  });
  pairs.sort((a, b) => a.cost - b.cost);
  const truthTaken = new Set<number>();
  const detectedTaken = new Set<number>();
  const matches: { truth: TruthWeightEvent; detected: WeightEvent }[] = [];
  for (const p of pairs) {
    if (truthTaken.has(p.t) || detectedTaken.has(p.d)) continue;
    truthTaken.add(p.t);
    detectedTaken.add(p.d);
    matches.push({ truth: truth[p.t]!, detected: detected[p.d]! });
  }
  const missed = truth.filter((_, i) => !truthTaken.has(i));
  const spurious = detected.filter((_, i) => !detectedTaken.has(i));
  const isRight = (m: { truth: TruthWeightEvent; detected: WeightEvent }) => m.detected.candidates[0]?.product === m.truth.product && m.detected.candidates[0]?.count === m.truth.count;
  const heavy = matches.filter((m) => (byId.get(m.truth.product)?.unitWeight ?? 0) >= minGrams && distinguishable(m.truth, products));
  const errors = matches.map((m) => Math.abs(m.detected.deltaGrams - m.truth.deltaGrams)).sort((a, b) => a - b);
  const quantile = (q: number) => (errors.length === 0 ? 0 : errors[Math.min(errors.length - 1, Math.floor(q * errors.length))]!);
  const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);
  const itemCorrect = matches.filter(isRight).length;
  const itemCorrectDistinguishable = heavy.filter(isRight).length;
  return {
    truthEvents: truth.length,
    detectedEvents: detected.length,
    matched: matches.length,
    recall: ratio(matches.length, truth.length),
    precision: ratio(matches.length, detected.length),
    itemCorrect,
    itemAccuracy: ratio(itemCorrect, matches.length),
    itemCorrectDistinguishable,
    itemEventsDistinguishable: heavy.length,
    itemAccuracyDistinguishable: ratio(itemCorrectDistinguishable, heavy.length),
    deltaErrorMedianGrams: quantile(0.5),
    deltaErrorP95Grams: quantile(0.95),
    missed,
    spurious,
    wrongItem: matches.filter((m) => !isRight(m)),
  };
}

/** True when no other (product, count) that could explain the event's place comes within 3 sigmas of its weight. */
export function distinguishable(t: TruthWeightEvent, products: readonly ProductConfig[], maxCount = 12): boolean {
  const own = products.find((p) => p.id === t.product);
  if (!own) return false;
  const plates = Object.keys(t.plates);
  const rivals = t.misplaced ? products : products.filter((p) => p.plates.some((k) => plates.includes(k)));
  const weight = t.count * own.unitWeight;
  for (const p of rivals) {
    for (let n = 1; n <= maxCount; n++) {
      if (p.id === own.id && n === t.count) continue;
      const sigma = Math.sqrt(t.count * own.weightTolerance ** 2 + n * p.weightTolerance ** 2 + 2);
      if (Math.abs(n * p.unitWeight - weight) < 3 * sigma) return false;
    }
  }
  return true;
}
