/**
 * Reference vectors per product and the search over them: a query embedding is compared with each
 * product's centroid (the normalised mean of its references) by cosine similarity. Scores are
 * calibrated on the references themselves, leaving each one out in turn: a softmax temperature
 * that makes the probabilities honest, and a similarity below which the answer is "unknown".
 * New products need reference photos only.
 */
import { normaliseInPlace } from '../inference/vector-model.js';

export interface ProductMatch {
  product: string;
  /** Cosine similarity to the product's centroid. */
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

/** Used until a gallery has products with two references or more. */
const DEFAULT_CALIBRATION: GalleryCalibration = { temperature: 20, unknownBelow: 0.5, basis: 0 };
/** Share of a product's own left-out references that must clear the unknown threshold. */
const ACCEPT_SHARE = 0.95;

export class ProductGallery {
  private readonly sums = new Map<string, Float64Array>();
  private readonly refs: { product: string; embedding: Float32Array }[] = [];
  private centroids: { products: string[]; matrix: Float32Array } | undefined;
  private calibrationCache: GalleryCalibration | undefined;

  constructor(
    readonly dimensions: number,
    private readonly fixedUnknownBelow?: number,
  ) {}

  get products(): string[] {
    return [...this.sums.keys()];
  }

  get size(): number {
    return this.refs.length;
  }

  referencesOf(product: string): number {
    return this.refs.filter((r) => r.product === product).length;
  }

  add(product: string, embedding: Float32Array): void {
    if (embedding.length !== this.dimensions) throw new RangeError(`the gallery holds ${this.dimensions}-number vectors, not ${embedding.length}`);
    const e = Float32Array.from(embedding);
    normaliseInPlace(e);
    this.refs.push({ product, embedding: e });
    const sum = this.sums.get(product) ?? new Float64Array(this.dimensions);
    for (let i = 0; i < e.length; i++) sum[i]! += e[i]!;
    this.sums.set(product, sum);
    this.centroids = undefined;
    this.calibrationCache = undefined;
  }

  /** Temperature and unknown threshold, measured leaving each reference out in turn. */
  get calibration(): GalleryCalibration {
    this.calibrationCache ??= this.calibrate();
    return this.calibrationCache;
  }

  /** The top-k products for a query embedding, among `candidates` when given. */
  search(embedding: Float32Array, options: { candidates?: readonly string[]; topK?: number } = {}): GalleryAnswer {
    const { products, matrix } = this.centroidMatrix();
    const allowed = options.candidates ? new Set(options.candidates) : undefined;
    const q = Float32Array.from(embedding);
    normaliseInPlace(q);
    const sims: { product: string; similarity: number }[] = [];
    for (let p = 0; p < products.length; p++) {
      if (allowed && !allowed.has(products[p]!)) continue;
      sims.push({ product: products[p]!, similarity: dot(q, matrix, p * this.dimensions, this.dimensions) });
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

  private centroidMatrix(): { products: string[]; matrix: Float32Array } {
    if (this.centroids) return this.centroids;
    const products = this.products;
    const matrix = new Float32Array(products.length * this.dimensions);
    products.forEach((p, i) => {
      const c = Float32Array.from(this.sums.get(p)!);
      normaliseInPlace(c);
      matrix.set(c, i * this.dimensions);
    });
    this.centroids = { products, matrix };
    return this.centroids;
  }

  private calibrate(): GalleryCalibration {
    const { products, matrix } = this.centroidMatrix();
    const index = new Map(products.map((p, i) => [p, i]));
    const counts = new Map<string, number>();
    for (const r of this.refs) counts.set(r.product, (counts.get(r.product) ?? 0) + 1);
    // Per left-out reference: its similarity to every centroid, its own recomputed without it.
    const rows: { sims: Float64Array; own: number }[] = [];
    const d = this.dimensions;
    const without = new Float32Array(d);
    for (const r of this.refs) {
      if ((counts.get(r.product) ?? 0) < 2) continue;
      const own = index.get(r.product)!;
      const sims = new Float64Array(products.length);
      for (let p = 0; p < products.length; p++) sims[p] = dot(r.embedding, matrix, p * d, d);
      const sum = this.sums.get(r.product)!;
      for (let i = 0; i < d; i++) without[i] = sum[i]! - r.embedding[i]!;
      normaliseInPlace(without);
      sims[own] = dot(r.embedding, without, 0, d);
      rows.push({ sims, own });
    }
    if (rows.length === 0 || products.length < 2) return DEFAULT_CALIBRATION;
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

function dot(a: Float32Array, b: Float32Array, offset: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i]! * b[offset + i]!;
  return s;
}
