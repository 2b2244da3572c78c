/**
 * Reference vectors per product and the search over them: a product's score for a query embedding
 * is the mean cosine similarity of its few nearest references (a product photographed from several
 * sides is as close as its nearest sides, where a centroid would blur them). Scores are calibrated
 * on the references themselves, leaving each one out in turn: a softmax temperature that makes the
 * probabilities honest, and a score below which the answer is "unknown".
 * New products need reference photos only.
 */
import { normaliseInPlace } from '../inference/vector-model.js';

export interface ProductMatch {
  product: string;
  /** Mean cosine similarity of the product's nearest references (at most `NEAREST`). */
  similarity: number;
  /** Calibrated probability among the products considered (all, or the candidates). */
  probability: number;
}

export interface GalleryAnswer {
  /** Best first; at most the top-k asked for. */
  matches: ProductMatch[];
  /** Nothing in the gallery is close enough to say. */
  unknown: boolean;
}

export interface GalleryCalibration {
  /** Softmax scale on similarities. */
  temperature: number;
  /** Best similarities below this are "unknown". */
  unknownBelow: number;
  /** Left-out references the calibration was measured on (0: defaults). */
  basis: number;
}

/** References per product that make its score (measured on the grocery val split: 3 beats 1, 5 and the centroid). */
export const NEAREST = 3;
/** Used until a gallery has products with two references or more. */
const DEFAULT_CALIBRATION: GalleryCalibration = { temperature: 20, unknownBelow: 0.5, basis: 0 };
/** Share of a product's own left-out references that must clear the unknown threshold. */
const ACCEPT_SHARE = 0.95;
/** References left out to calibrate at most: the calibration costs this × the gallery's size. */
const CALIBRATION_BASIS = 2_000;

export class ProductGallery {
  private vectors: Float32Array;
  private rowProduct: Int32Array;
  private rows = 0;
  private readonly index = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly counts: number[] = [];
  // Scratch reused by every search: no allocation per query beyond the answer.
  private query: Float32Array;
  private nearest = new Float64Array(0);
  private taken = new Int32Array(0);
  private mask = new Uint8Array(0);
  private calibrationCache: GalleryCalibration | undefined;

  constructor(
    readonly dimensions: number,
    private readonly fixedUnknownBelow?: number,
  ) {
    this.vectors = new Float32Array(dimensions * 64);
    this.rowProduct = new Int32Array(64);
    this.query = new Float32Array(dimensions);
  }

  get products(): string[] {
    return [...this.names];
  }

  get size(): number {
    return this.rows;
  }

  referencesOf(product: string): number {
    const p = this.index.get(product);
    return p === undefined ? 0 : this.counts[p]!;
  }

  add(product: string, embedding: Float32Array): void {
    if (embedding.length !== this.dimensions) throw new RangeError(`the gallery holds ${this.dimensions}-number vectors, not ${embedding.length}`);
    if (this.rows === this.rowProduct.length) {
      this.vectors = grownInto(this.vectors, new Float32Array(this.vectors.length * 2));
      this.rowProduct = grownInto(this.rowProduct, new Int32Array(this.rowProduct.length * 2));
    }
    let p = this.index.get(product);
    if (p === undefined) {
      p = this.names.length;
      this.index.set(product, p);
      this.names.push(product);
      this.counts.push(0);
      this.nearest = new Float64Array(this.names.length * NEAREST);
      this.taken = new Int32Array(this.names.length);
      this.mask = new Uint8Array(this.names.length);
    }
    const row = this.vectors.subarray(this.rows * this.dimensions, (this.rows + 1) * this.dimensions);
    row.set(embedding);
    normaliseInPlace(row);
    this.rowProduct[this.rows] = p;
    this.counts[p]! += 1;
    this.rows += 1;
    this.calibrationCache = undefined;
  }

  /** Temperature and unknown threshold, measured leaving each reference out in turn. */
  get calibration(): GalleryCalibration {
    this.calibrationCache ??= this.calibrate();
    return this.calibrationCache;
  }

  /** The top-k products for a query embedding, among `candidates` when given. */
  search(embedding: Float32Array, options: { candidates?: readonly string[]; topK?: number } = {}): GalleryAnswer {
    this.query.set(embedding);
    normaliseInPlace(this.query);
    this.mask.fill(options.candidates ? 0 : 1);
    for (const c of options.candidates ?? []) {
      const p = this.index.get(c);
      if (p !== undefined) this.mask[p] = 1;
    }
    this.score(this.query, -1);
    const sims: { product: string; similarity: number }[] = [];
    for (let p = 0; p < this.names.length; p++) {
      if (this.mask[p] && this.taken[p]! > 0) sims.push({ product: this.names[p]!, similarity: this.meanOf(p) });
    }
    if (sims.length === 0) return { matches: [], unknown: true };
    const { temperature, unknownBelow } = this.calibration;
    let max = -Infinity;
    for (const s of sims) max = Math.max(max, s.similarity);
    let total = 0;
    const weights = sims.map((s) => Math.exp(temperature * (s.similarity - max)));
    for (const w of weights) total += w;
    const matches = sims.map((s, i) => ({ ...s, probability: weights[i]! / total })).sort((a, b) => b.similarity - a.similarity);
    return { matches: matches.slice(0, options.topK ?? 5), unknown: max < (this.fixedUnknownBelow ?? unknownBelow) };
  }

  /** Each product's nearest similarities to `q` (among masked products), leaving out row `skip`. */
  private score(q: Float32Array, skip: number): void {
    const d = this.dimensions;
    this.taken.fill(0);
    const vectors = this.vectors;
    for (let r = 0; r < this.rows; r++) {
      const p = this.rowProduct[r]!;
      if (r === skip || !this.mask[p]) continue;
      let s = 0;
      const o = r * d;
      for (let i = 0; i < d; i++) s += q[i]! * vectors[o + i]!;
      // Keep the product's best NEAREST similarities, sorted high to low.
      const base = p * NEAREST;
      let n = this.taken[p]!;
      if (n === NEAREST && s <= this.nearest[base + n - 1]!) continue;
      if (n < NEAREST) n += 1;
      let k = n - 1;
      while (k > 0 && this.nearest[base + k - 1]! < s) {
        this.nearest[base + k] = this.nearest[base + k - 1]!;
        k -= 1;
      }
      this.nearest[base + k] = s;
      this.taken[p] = n;
    }
  }

  private meanOf(p: number): number {
    const n = this.taken[p]!;
    let s = 0;
    for (let k = 0; k < n; k++) s += this.nearest[p * NEAREST + k]!;
    return s / n;
  }

  private calibrate(): GalleryCalibration {
    const products = this.names.length;
    // Left out: every reference of a product with another to compare it with, evenly thinned to the basis.
    const eligible: number[] = [];
    for (let r = 0; r < this.rows; r++) if (this.counts[this.rowProduct[r]!]! >= 2) eligible.push(r);
    if (eligible.length === 0 || products < 2) return DEFAULT_CALIBRATION;
    const step = Math.max(1, eligible.length / CALIBRATION_BASIS);
    const rows: { sims: Float64Array; own: number }[] = [];
    this.mask.fill(1);
    for (let i = 0; i < eligible.length; i += step) {
      const r = eligible[Math.floor(i)]!;
      this.score(this.vectors.subarray(r * this.dimensions, (r + 1) * this.dimensions), r);
      const sims = new Float64Array(products);
      for (let p = 0; p < products; p++) sims[p] = this.taken[p]! > 0 ? this.meanOf(p) : -1;
      rows.push({ sims, own: this.rowProduct[r]! });
    }
    const nll = (t: number): number => {
      let total = 0;
      for (const { sims, own } of rows) {
        let max = -Infinity;
        for (const s of sims) max = Math.max(max, s);
        let z = 0;
        for (const s of sims) z += Math.exp(t * (s - max));
        total += Math.log(z) - t * (sims[own]! - max);
      }
      return total / rows.length;
    };
    // Golden-section search on log t: the loss is smooth and has one minimum in practice.
    let lo = Math.log(1);
    let hi = Math.log(500);
    const g = (Math.sqrt(5) - 1) / 2;
    for (let i = 0; i < 60; i++) {
      const a = hi - g * (hi - lo);
      const b = lo + g * (hi - lo);
      if (nll(Math.exp(a)) < nll(Math.exp(b))) hi = b;
      else lo = a;
    }
    const own = rows.map((r) => r.sims[r.own]!).sort((a, b) => a - b);
    const unknownBelow = own[Math.floor((1 - ACCEPT_SHARE) * own.length)]!;
    return { temperature: Math.exp((lo + hi) / 2), unknownBelow: Math.max(0, unknownBelow), basis: rows.length };
  }
}

/** `bigger`, holding `array`'s values at its front. */
function grownInto<T extends Float32Array | Int32Array>(array: T, bigger: T): T {
  bigger.set(array);
  return bigger;
}
