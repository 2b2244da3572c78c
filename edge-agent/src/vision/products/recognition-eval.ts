/**
 * Scores product recognition on a labelled image list in the Grocery Store Dataset's format
 * (`path, fineId, coarseId` per line, paths relative to a root): a gallery is built from one list,
 * the other list's images are recognised, and top-1/top-5 accuracy is counted, fine and coarse,
 * plus top-1 when only a few candidates are possible, and the time of one crop.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Random } from '../../sim/random.js';
import { readImageFile } from '../image-file.js';
import { ProductGallery } from './product-gallery.js';
import type { ProductModel } from './product-model.js';
import { quantile, round3, round4 } from '../../numbers.js';

export interface LabelledImage {
  path: string;
  fine: string;
  coarse: string;
}

export interface RecognitionScore {
  images: number;
  classes: number;
  galleryImages: number;
  galleryProducts: number;
  fine: { top1: number; top5: number };
  coarse: { top1: number };
  candidates: { size: number; top1: number; sets: number; setsAllSameCoarse: number; top1SameCoarseSets: number };
  unknownShare: number;
  /** Mean probability of the top answer: honest calibration puts it near fine top-1. */
  meanTop1Probability: number;
  calibration: { temperature: number; unknownBelow: number; basis: number };
  /** One crop through the network at a time (batch 1), one thread. */
  msPerCrop: { median: number; p95: number };
}

/** Reads a list; a malformed line is an error naming the file and line. */
export function readImageList(file: string): LabelledImage[] {
  const out: LabelledImage[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      const parts = line.split(',').map((p) => p.trim());
      if (parts.length < 3 || parts[0] === '' || !/^\d+$/.test(parts[1]!) || !/^\d+$/.test(parts[2]!)) {
        throw new Error(`${file}:${i + 1}: expected "path, fineId, coarseId", got "${line.trim()}"`);
      }
      out.push({ path: parts[0]!, fine: parts[1]!, coarse: parts[2]! });
    });
  return out;
}

export async function evaluateRecognition(
  model: ProductModel,
  options: { root: string; queries: readonly LabelledImage[]; references: readonly LabelledImage[]; candidates: number; seed: number },
  progress?: (message: string) => void,
): Promise<RecognitionScore> {
  const gallery = new ProductGallery(model.size);
  const coarseOf = new Map<string, string>();
  const BATCH = 16;
  for (let i = 0; i < options.references.length; i += BATCH) {
    const chunk = options.references.slice(i, i + BATCH);
    const vectors = await model.infer(
      chunk.map((r) => ({ frame: readImageFile(join(options.root, r.path)) })),
      BATCH,
    );
    chunk.forEach((r, k) => {
      gallery.add(r.fine, vectors[k]!);
      coarseOf.set(r.fine, r.coarse);
    });
    if (i % (BATCH * 40) === 0) progress?.(`gallery: ${Math.min(i + BATCH, options.references.length)} of ${options.references.length} images`);
  }
  const random = new Random(options.seed);
  const products = gallery.products;
  let top1 = 0;
  let top5 = 0;
  let coarseTop1 = 0;
  let unknown = 0;
  let top1Probability = 0;
  const cand = { top1: 0, sets: 0, sameCoarse: 0, sameCoarseTop1: 0 };
  const times: number[] = [];
  for (const q of options.queries) {
    const frame = readImageFile(join(options.root, q.path));
    const t0 = performance.now();
    const [vector] = await model.infer([{ frame }], 1);
    times.push(performance.now() - t0);
    const answer = gallery.search(vector!, { topK: 5 });
    const ranked = answer.matches.map((m) => m.product);
    if (ranked[0] === q.fine) top1 += 1;
    if (ranked.includes(q.fine)) top5 += 1;
    if (ranked[0] !== undefined && coarseOf.get(ranked[0]) === q.coarse) coarseTop1 += 1;
    if (answer.unknown) unknown += 1;
    top1Probability += answer.matches[0]?.probability ?? 0;
    if (!coarseOf.has(q.fine)) continue;
    const set = candidateSet(q, products, coarseOf, options.candidates, random);
    const within = gallery.search(vector!, { candidates: set.products, topK: 1 });
    const right = within.matches[0]?.product === q.fine;
    cand.sets += 1;
    if (right) cand.top1 += 1;
    if (set.allSameCoarse) {
      cand.sameCoarse += 1;
      if (right) cand.sameCoarseTop1 += 1;
    }
  }
  const n = options.queries.length;
  const share = (k: number, of: number) => (of > 0 ? round4(k / of) : 0);
  return {
    images: n,
    classes: new Set(options.queries.map((q) => q.fine)).size,
    galleryImages: options.references.length,
    galleryProducts: products.length,
    fine: { top1: share(top1, n), top5: share(top5, n) },
    coarse: { top1: share(coarseTop1, n) },
    candidates: { size: options.candidates, top1: share(cand.top1, cand.sets), sets: cand.sets, setsAllSameCoarse: cand.sameCoarse, top1SameCoarseSets: share(cand.sameCoarseTop1, cand.sameCoarse) },
    unknownShare: share(unknown, n),
    meanTop1Probability: n > 0 ? round4(top1Probability / n) : 0,
    calibration: gallery.calibration,
    msPerCrop: { median: round3(quantile(times, 0.5)), p95: round3(quantile(times, 0.95)) },
  };
}

/**
 * The true product and others of its coarse class (a bottle among bottles), topped up from other
 * classes when its class has too few.
 */
function candidateSet(q: LabelledImage, products: readonly string[], coarseOf: ReadonlyMap<string, string>, size: number, random: Random): { products: string[]; allSameCoarse: boolean } {
  const same = shuffle(products.filter((p) => p !== q.fine && coarseOf.get(p) === q.coarse), random);
  const picked = [q.fine, ...same.slice(0, size - 1)];
  const allSameCoarse = picked.length === Math.min(size, products.length);
  if (picked.length < size) picked.push(...shuffle(products.filter((p) => coarseOf.get(p) !== q.coarse), random).slice(0, size - picked.length));
  return { products: picked, allSameCoarse };
}

function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
