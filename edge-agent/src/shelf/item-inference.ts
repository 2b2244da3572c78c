/**
 * Which product, and how many, explain a weight change: a posterior over (product, count)
 * hypotheses, never an exact-match lookup. Each hypothesis is judged by how far its expected
 * weight is from the measured change, given the measurement noise and the product's own weight
 * spread (which grows with the count), and by where it happened: products that live on the
 * plates that changed are likely; any other product is possible only as a misplaced item — put
 * back where it does not belong, or taken from where someone left it.
 *
 * Catalogue weights are often a few percent off what the shelf measures, so the likelihood has a
 * heavy tail: a product that is where the change happened still wins when its weight is off by
 * more than its tolerance says, rather than some far-away product that happens to fit.
 */
import type { ProductConfig } from '../../../device-config/schema.js';
import type { ItemCandidate } from './weight-event.js';

export interface InferenceSettings {
  /** Prior mass of products that do not belong on the changed plates: put back there by mistake… */
  foreignReturnPrior: number;
  /** …or taken from there (only possible when someone left one there unnoticed). */
  foreignPickPrior: number;
  /** Share of the likelihood given to catalogue weights that are off by `tailRelative`. */
  tailWeight: number;
  tailRelative: number;
  /** Prior of "nothing in the planogram fits". */
  unknownPrior: number;
  /** Ratio of P(n+1 units) to P(n units) for picks, and for returns (rarely more than one at a time). */
  countDecay: number;
  returnCountDecay: number;
  maxCount: number;
  /** For a put-back by a known shopper, the chance of each unit they do not hold (a missed pick). */
  returnNotHeld: number;
  /** Spread of the change no product explains: uniform over ± this many grams. */
  unknownRangeGrams: number;
  /** Relative error of the scale itself (calibration span). */
  relativeScaleError: number;
  keep: number;
}

export const DEFAULT_INFERENCE_SETTINGS: InferenceSettings = {
  foreignReturnPrior: 0.05,
  foreignPickPrior: 0.0005,
  tailWeight: 0.1,
  tailRelative: 0.05,
  unknownPrior: 0.002,
  countDecay: 0.35,
  returnCountDecay: 0.08,
  maxCount: 12,
  returnNotHeld: 0.03,
  unknownRangeGrams: 10_000,
  relativeScaleError: 0.002,
  keep: 5,
};

export interface ChangeToExplain {
  /** Plates ("G.S.P") with their change in grams; the larger ones say where it happened. */
  perPlate: Record<string, number>;
  deltaGrams: number;
  noiseSigma: number;
  /** Products known to lie on these plates although they do not belong there (earlier misplaced returns). */
  strays?: ReadonlyMap<string, readonly string[]>;
  /**
   * For a put-back by a known shopper: the units of each product they hold. What they put back is
   * then one of those (a foreign one is a misplacement, not any of the catalogue's foreign
   * products); each unit they do not hold is a pick the cart missed.
   */
  held?: ReadonlyMap<string, number>;
}

export class ItemInference {
  private readonly byPlate = new Map<string, ProductConfig[]>();

  constructor(
    private readonly products: readonly ProductConfig[],
    private readonly settings: InferenceSettings = DEFAULT_INFERENCE_SETTINGS,
  ) {
    for (const p of products) {
      for (const plate of p.plates) {
        const list = this.byPlate.get(plate) ?? [];
        list.push(p);
        this.byPlate.set(plate, list);
      }
    }
  }

  explain(change: ChangeToExplain): ItemCandidate[] {
    return this.weigh(change).candidates;
  }

  /**
   * The candidates and the log of how likely the change was at all under this change's priors (the
   * sum over every hypothesis): for one put-back, comparing it between shoppers says whose
   * holdings explain the weight better.
   */
  weigh(change: ChangeToExplain): { candidates: ItemCandidate[]; logEvidence: number } {
    const s = this.settings;
    const magnitude = Math.abs(change.deltaGrams);
    // Where the change happened: each plate weighted by its share of the total change.
    const where = new Map<string, number>();
    let total = 0;
    for (const [plate, d] of Object.entries(change.perPlate)) {
      if (!Number.isFinite(d) || Math.sign(d) !== Math.sign(change.deltaGrams)) continue;
      where.set(plate, Math.abs(d));
      total += Math.abs(d);
    }
    const local = new Map<string, number>();
    const stray = new Set<string>();
    for (const [plate, w] of where) {
      for (const p of this.byPlate.get(plate) ?? []) local.set(p.id, (local.get(p.id) ?? 0) + w / Math.max(total, 1e-9));
      if (change.deltaGrams < 0) {
        for (const id of change.strays?.get(plate) ?? []) {
          if (!local.has(id)) stray.add(id);
          local.set(id, (local.get(id) ?? 0) + w / Math.max(total, 1e-9));
        }
      }
    }
    const localMass = [...local.values()].reduce((a, b) => a + b, 0);
    const foreignPrior = change.deltaGrams > 0 ? s.foreignReturnPrior : s.foreignPickPrior;
    const held = change.deltaGrams > 0 ? change.held : undefined;
    // A known shopper's misplaced put-back is one of the foreign products they hold.
    let heldForeign = 0;
    if (held) for (const [id, units] of held) if (units > 0 && !local.has(id)) heldForeign += 1;
    const foreignPool = this.products.length - local.size;
    const foreignMass = local.size === 0 ? 1 - s.unknownPrior : foreignPrior;
    const priorOf = (localShare: number | undefined, units: number): number => {
      if (localShare !== undefined) return ((1 - foreignPrior - s.unknownPrior) * localShare) / localMass;
      if (heldForeign === 0) return foreignMass / foreignPool;
      // Foreign products the shopper does not hold come back only as a missed pick.
      return units > 0 ? foreignMass / heldForeign : foreignPrior / foreignPool;
    };
    const hypotheses: { product: string | null; count: number; logPost: number; misplaced: boolean }[] = [];
    const decay = change.deltaGrams > 0 ? s.returnCountDecay : s.countDecay;
    const countNorm = (1 - decay) / (1 - decay ** s.maxCount);
    for (const product of this.products) {
      const localShare = local.get(product.id);
      const units = held?.get(product.id) ?? 0;
      const prior = priorOf(localShare, units);
      if (!(prior > 0 && Number.isFinite(prior))) continue;
      const maxN = Math.min(s.maxCount, Math.floor(magnitude / product.unitWeight) + 2);
      for (let n = 1; n <= maxN; n++) {
        const expected = n * product.unitWeight;
        const variance = n * product.weightTolerance ** 2 + change.noiseSigma ** 2 + (s.relativeScaleError * magnitude) ** 2;
        const tailVariance = variance + (s.tailRelative * expected) ** 2;
        const logLikelihood = Math.log(
          (1 - s.tailWeight) * gaussian(magnitude - expected, variance) + s.tailWeight * gaussian(magnitude - expected, tailVariance),
        );
        const missed = held && n > units ? (n - units) * Math.log(s.returnNotHeld) : 0;
        const logPrior = Math.log(prior) + Math.log(countNorm) + (n - 1) * Math.log(decay) + missed;
        hypotheses.push({ product: product.id, count: n, logPost: logLikelihood + logPrior, misplaced: localShare === undefined || stray.has(product.id) });
      }
    }
    hypotheses.push({ product: null, count: 0, logPost: Math.log(s.unknownPrior) - Math.log(2 * s.unknownRangeGrams), misplaced: false });
    const best = Math.max(...hypotheses.map((h) => h.logPost));
    let sum = 0;
    for (const h of hypotheses) sum += Math.exp(h.logPost - best);
    const candidates = hypotheses
      .map((h) => ({ product: h.product, count: h.count, probability: Math.exp(h.logPost - best) / sum, misplaced: h.misplaced }))
      .sort((a, b) => b.probability - a.probability || String(a.product).localeCompare(String(b.product)) || a.count - b.count)
      .slice(0, s.keep)
      .map((c) => ({ ...c, probability: Math.round(c.probability * 1e6) / 1e6 }));
    return { candidates, logEvidence: best + Math.log(sum) };
  }
}

function gaussian(x: number, variance: number): number {
  return Math.exp(-(x * x) / (2 * variance)) / Math.sqrt(2 * Math.PI * variance);
}
