/**
 * Units on every facing (a product on a plate), from the same load cells that bill shoppers:
 * weight events move the count as they happen; whenever the shelf has settled, the plate's
 * absolute weight, less what lies there that does not belong and less the plate's tracked zero,
 * divided by the unit weight, says how many units there are. A plate a whole number of units
 * off is believed (events can be missed or mis-read); a plate that reads close to a whole number
 * feeds the small rest into its zero, which follows slow drift of the load cell.
 */
import type { ProductConfig } from '../../../device-config/schema.js';
import type { WeightEvent } from '../shelf/weight-event.js';

export interface Facing {
  plate: string;
  product: string;
  unitWeight: number;
  /** One unit's weight spread (grams, one sigma). */
  tolerance: number;
  units: number;
  /** Uncertainty of `units` (one sigma, units). */
  sigma: number;
  /** Grams the plate reads with nothing on it, as tracked (drift). */
  zero: number;
  /** Items lying here that belong elsewhere (misplaced returns), as put down: a product, how many, their grams. */
  foreign: { product: string; count: number; grams: number; at: number }[];
  settledAt: number | null;
  /** Why the plate's reading cannot be true (negative stock), or null. */
  implausible: string | null;
  /** The product also lies on the plate below / above on this shelf: a unit may lie across the seam. */
  seam: { below: boolean; above: boolean };
}

/** `counted`: the first reading of a facing; `reconcile`: a settled plate corrected the count. */
export type StockChangeKind = 'counted' | 'sale' | 'put-back' | 'restock' | 'reconcile' | 'misplaced' | 'misplaced-removed';

export interface StockChange {
  kind: StockChangeKind;
  plate: string;
  /** The facing's product; for misplacements, the foreign product. */
  product: string;
  /** Units added (positive) or taken (negative). */
  delta: number;
  /** The facing's units after the change. */
  units: number;
  at: number;
  weightEvent: number | null;
}

/** A plate this close to a whole number of units (in units) is read as that number. */
const WHOLE = 0.3;
/** Per-plate weight changes smaller than this share of a unit are not units. */
const PART = 0.5;
/** The fastest a load cell's zero is believed to drift: more than that is units, not drift. */
const DRIFT_GRAMS_PER_HOUR = 100;
/** Single-plate events of this many units or fewer teach a product's true unit weight. */
const LEARN_MAX_UNITS = 3;
/** Events a product's unit weight is learnt from before it replaces the catalogue's. */
const LEARN_MIN_EVENTS = 2;

export class StockBook {
  private readonly byPlate = new Map<string, Facing>();
  private readonly products: ReadonlyMap<string, ProductConfig>;
  /** Per plate: a count one settled look read against the events' count, awaiting a second look. */
  private readonly pending = new Map<string, number>();
  /** Per product: what its units weigh on these shelves, from its own weight events. */
  private readonly learnt = new Map<string, { grams: number; events: number }>();

  constructor(
    products: readonly ProductConfig[],
    private readonly driftTracking: number,
  ) {
    this.products = new Map(products.map((p) => [p.id, p]));
    const owners = new Map<string, ProductConfig[]>();
    for (const p of products) for (const plate of p.plates) owners.set(plate, [...(owners.get(plate) ?? []), p]);
    // A plate shared by two products cannot be counted from its weight: it has no facing here.
    for (const [plate, list] of owners) {
      if (list.length !== 1) continue;
      const p = list[0]!;
      const seam = { below: p.plates.includes(neighbour(plate, -1)), above: p.plates.includes(neighbour(plate, 1)) };
      this.byPlate.set(plate, { plate, product: p.id, unitWeight: p.unitWeight, tolerance: p.weightTolerance, units: 0, sigma: Infinity, zero: 0, foreign: [], settledAt: null, implausible: null, seam });
    }
  }

  get facings(): readonly Facing[] {
    return [...this.byPlate.values()];
  }

  facing(plate: string): Facing | undefined {
    return this.byPlate.get(plate);
  }

  /** Units of a product over its facings; undefined before any of them was read. */
  unitsOf(product: string): number | undefined {
    let total: number | undefined;
    for (const f of this.byPlate.values()) if (f.product === product && f.settledAt !== null) total = (total ?? 0) + f.units;
    return total;
  }

  /** Known to be on a shelf, or not known to be gone (a product on no counted plate, a plate not read yet). */
  inStock(product: string): boolean {
    const units = this.unitsOf(product);
    return units === undefined || units > 0;
  }

  /** The state kept in the database from an earlier run. */
  restore(saved: { plate: string; product: string; units: number; zero: number; foreign: Facing['foreign']; settledAt: number | null }): void {
    const f = this.byPlate.get(saved.plate);
    if (!f || f.product !== saved.product) return;
    f.units = saved.units;
    f.zero = saved.zero;
    f.foreign = saved.foreign.map((x) => ({ ...x }));
    f.settledAt = saved.settledAt;
    f.sigma = 1;
  }

  /** A weight event moves the counts of the plates it changed; `restocking`: staff filling the shelf. */
  weightEvent(e: WeightEvent, restocking: boolean, decided?: { product: string; count: number }): StockChange[] {
    const out: StockChange[] = [];
    // What checkout decided (a put-back of what the shopper held) wins over the weight's own guess.
    const top = decided ? { product: decided.product, count: decided.count } : e.candidates[0];
    for (const [plate, delta] of Object.entries(e.perPlate)) {
      const f = this.byPlate.get(plate);
      if (!f || !Number.isFinite(delta)) continue;
      this.pending.delete(plate);
      // Staff filling a shelf put its own product there, whatever else the added weight resembles.
      const filling = restocking && delta > 0;
      if (!filling && top?.product && top.product !== f.product) {
        this.foreignItem(f, top.product, delta, e, out);
        continue;
      }
      // A stray lying here that weighs what was taken is what was taken, whatever the inference
      // guessed from the plate's own product (a bag of nuts is also eight packs of mints).
      const stray = delta < 0 ? this.strayMatching(f, -delta) : undefined;
      if (stray) {
        f.foreign.splice(f.foreign.indexOf(stray), 1);
        out.push({ kind: 'misplaced-removed', plate, product: stray.product, delta: -stray.count, units: f.units, at: e.tEnd, weightEvent: e.id });
        continue;
      }
      const { n, rest } = countsOf(f, Math.abs(delta) / f.unitWeight)[0]!;
      if (n === 0 || Math.abs(rest) > PART) continue;
      if (n <= LEARN_MAX_UNITS && Math.abs(rest) < WHOLE && e.plates.length === 1) this.learn(f.product, Math.abs(delta) / n);
      const signed = delta < 0 ? -n : n;
      f.units = Math.max(0, f.units + signed);
      f.sigma = Math.min(f.sigma, 1);
      out.push({ kind: delta < 0 ? 'sale' : restocking ? 'restock' : 'put-back', plate, product: f.product, delta: signed, units: f.units, at: e.tEnd, weightEvent: e.id });
    }
    return out;
  }

  /**
   * Catalogue weights are often a few percent off what the shelf measures, which over twenty units
   * is a unit or more: a product's own single-plate events say what one unit really weighs.
   */
  private learn(product: string, grams: number): void {
    const catalogue = this.products.get(product)?.unitWeight;
    if (catalogue === undefined || Math.abs(grams - catalogue) > 0.1 * catalogue) return;
    const now = this.learnt.get(product) ?? { grams: 0, events: 0 };
    now.events += 1;
    now.grams += (grams - now.grams) / Math.min(now.events, 20);
    this.learnt.set(product, now);
    if (now.events < LEARN_MIN_EVENTS) return;
    for (const f of this.byPlate.values()) if (f.product === product) f.unitWeight = now.grams;
  }

  /** The foreign item whose weight explains `grams` taken better than whole units of the plate's product. */
  private strayMatching(f: Facing, grams: number): Facing['foreign'][number] | undefined {
    let best: Facing['foreign'][number] | undefined;
    for (const item of f.foreign) if (!best || Math.abs(item.grams - grams) < Math.abs(best.grams - grams)) best = item;
    if (!best) return undefined;
    const n = Math.max(1, Math.round(grams / f.unitWeight));
    const own = Math.abs(grams - n * f.unitWeight);
    const off = Math.abs(best.grams - grams);
    return off < own && off < 0.25 * best.grams ? best : undefined;
  }

  private foreignItem(f: Facing, product: string, delta: number, e: WeightEvent, out: StockChange[]): void {
    const p = this.products.get(product);
    if (!p) return;
    const count = Math.max(1, Math.round(Math.abs(delta) / p.unitWeight));
    if (delta > 0) {
      f.foreign.push({ product, count, grams: delta, at: e.tEnd });
      out.push({ kind: 'misplaced', plate: f.plate, product, delta: count, units: f.units, at: e.tEnd, weightEvent: e.id });
      return;
    }
    const item = this.strayMatching(f, -delta) ?? f.foreign.find((x) => x.product === product);
    if (!item) return;
    f.foreign.splice(f.foreign.indexOf(item), 1);
    out.push({ kind: 'misplaced-removed', plate: f.plate, product: item.product, delta: -item.count, units: f.units, at: e.tEnd, weightEvent: e.id });
  }

  /** The settled plate's reading, and its noise (grams, one sigma): the count believed from weight. */
  settle(plate: string, grams: number, noise: number, at: number): StockChange | undefined {
    const f = this.byPlate.get(plate);
    if (!f || !Number.isFinite(grams)) return undefined;
    const foreign = f.foreign.reduce((s, x) => s + x.grams, 0);
    const measured = (grams - f.zero - foreign) / f.unitWeight;
    f.implausible = measured < -PART ? `reads ${Math.round(grams)} g: ${measured.toFixed(1)} units` : null;
    if (f.implausible) return undefined;
    const first = f.settledAt === null;
    const counts = countsOf(f, measured);
    // A reading the count the events say still explains keeps that count (no flicker at a boundary).
    const whole = (!first && counts.find((c) => c.n === f.units && Math.abs(c.rest) <= WHOLE)) || counts[0]!;
    const n = Math.max(0, whole.n);
    const rest = whole.rest;
    f.sigma = Math.sqrt(noise * noise + n * f.tolerance * f.tolerance) / f.unitWeight;
    // The first reading has nothing to hold it against: the nearest whole number is the count.
    if (Math.abs(rest) > WHOLE && !first) {
      // Neither n nor n ± 1: keep the count the events say, and say it is less sure.
      f.sigma = Math.max(f.sigma, Math.abs(rest));
      return undefined;
    }
    if (!first && n !== f.units && this.pending.get(plate) !== n) {
      // A different count is believed when two looks in a row read it, not on one noisy reading.
      this.pending.set(plate, n);
      return undefined;
    }
    this.pending.delete(plate);
    // The zero follows drift no faster than a load cell drifts, so it never swallows a unit.
    const maxStep = first ? 0 : (DRIFT_GRAMS_PER_HOUR * Math.max(0, at - f.settledAt!)) / 3_600_000;
    f.zero += Math.max(-maxStep, Math.min(maxStep, this.driftTracking * rest * f.unitWeight));
    f.settledAt = at;
    if (n === f.units && !first) return undefined;
    const delta = n - f.units;
    f.units = n;
    return { kind: first ? 'counted' : 'reconcile', plate, product: f.product, delta, units: n, at, weightEvent: null };
  }
}

/**
 * The whole numbers of units a plate's share of weight can mean, best first. A unit lying across
 * the seam with the plate below or above (its product on both) puts half its weight on each: it
 * counts on the lower-numbered plate, as a facing is counted from the left. `rest`: what is left
 * over (units), for zero tracking.
 */
function countsOf(f: Pick<Facing, 'seam'>, measured: number): { n: number; rest: number }[] {
  const plain = Math.round(measured);
  const out = [{ n: plain, rest: measured - plain }];
  if (f.seam.below !== f.seam.above) {
    const besides = Math.round(measured - 0.5);
    out.push({ n: f.seam.above ? besides + 1 : besides, rest: measured - 0.5 - besides });
    if (Math.abs(out[1]!.rest) < Math.abs(out[0]!.rest)) out.reverse();
  }
  return out;
}

/** The plate `step` places along the same shelf ("G.S.P" → "G.S.P±step"). */
function neighbour(plate: string, step: number): string {
  const i = plate.lastIndexOf('.');
  return `${plate.slice(0, i)}.${Number(plate.slice(i + 1)) + step}`;
}
