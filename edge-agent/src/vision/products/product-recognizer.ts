/**
 * What product is in a crop (a shelf camera's view of a pick, a hand region): probabilities over
 * the store's products, restricted to a candidate set when fusion knows which products are near
 * the event, or "unknown" when nothing is close. Crops that arrive while the model is busy wait
 * and go through together as one batch.
 */
import type { GalleryAnswer, ProductGallery, ProductMatch } from './product-gallery.js';
import type { ProductCrop, ProductModel } from './product-model.js';

export interface RecognizeOptions {
  /** Only these products are possible (e.g. the ones on the plates that changed). */
  candidates?: readonly string[];
  topK?: number;
}

export interface Recognition extends GalleryAnswer {
  /** Crops that went through the network together with this one (itself included). */
  batch: number;
}

interface Waiting {
  crop: ProductCrop;
  options: RecognizeOptions;
  resolve: (r: Recognition) => void;
  reject: (err: unknown) => void;
}

export class ProductRecognizer {
  private readonly waiting: Waiting[] = [];
  private draining = false;
  readonly counts = { crops: 0, batches: 0, unknown: 0, failures: 0 };

  constructor(
    readonly model: ProductModel,
    /** Reference vectors; needed for an embedder, ignored for a classifier. */
    readonly gallery: ProductGallery | undefined,
    private readonly maxBatch = 8,
  ) {
    if (model.kind === 'embedder' && !gallery) throw new Error('an embedding model recognises products only with a gallery of reference vectors');
  }

  /** The crop's pixels must stay untouched until the answer arrives. */
  recognize(crop: ProductCrop, options: RecognizeOptions = {}): Promise<Recognition> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ crop, options, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        // Let crops that arrive in the same turn of the event loop join the batch.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.maxBatch);
        let outputs: Float32Array[];
        try {
          outputs = await this.model.infer(
            batch.map((w) => w.crop),
            this.maxBatch,
          );
        } catch (err) {
          this.counts.failures += batch.length;
          for (const w of batch) w.reject(err);
          continue;
        }
        this.counts.batches += 1;
        batch.forEach((w, i) => {
          const answer = this.answer(outputs[i]!, w.options);
          this.counts.crops += 1;
          if (answer.unknown) this.counts.unknown += 1;
          w.resolve({ ...answer, batch: batch.length });
        });
      }
    } finally {
      this.draining = false;
    }
  }

  private answer(output: Float32Array, options: RecognizeOptions): GalleryAnswer {
    if (this.model.kind === 'embedder') return this.gallery!.search(output, options);
    const labels = this.model.manifest.labels;
    const allowed = options.candidates ? new Set(options.candidates) : undefined;
    let total = 0;
    const matches: ProductMatch[] = [];
    labels.forEach((product, i) => {
      if (allowed && !allowed.has(product)) return;
      total += output[i]!;
      matches.push({ product, similarity: output[i]!, probability: output[i]! });
    });
    if (matches.length === 0) return { matches: [], unknown: true };
    for (const m of matches) m.probability = total > 0 ? m.probability / total : 1 / matches.length;
    matches.sort((a, b) => b.probability - a.probability);
    return { matches: matches.slice(0, options.topK ?? 5), unknown: matches[0]!.similarity < this.model.manifest.thresholds.score };
  }
}
