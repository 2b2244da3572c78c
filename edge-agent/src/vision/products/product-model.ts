/**
 * A product recognition network as the runtime uses it: either an embedder (the project's own
 * model: an L2-normalised vector per crop, matched against the gallery) or a customer's classifier
 * (logits over the products in its manifest's labels). Crops are packed like camera frames and run
 * in batches, one tensor of N crops per `session.run`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FramePixels, FrameRegion, InputPacker } from '../detect/input-packer.js';
import type { InferenceWorker } from '../inference/inference-worker.js';
import type { ModelSession } from '../inference/model-session.js';
import { normaliseInPlace, openVectorModel } from '../inference/vector-model.js';
import type { LoadedManifest } from '../model-manifest.js';

/** A picture of a product: a frame (or an image file's pixels) and, optionally, where in it. */
export interface ProductCrop {
  frame: FramePixels;
  region?: FrameRegion;
}

export class ProductModel {
  /** Numbers per output: the embedding length, or the number of classes. */
  readonly size: number;
  private readonly plane: number;
  private readonly batchBuffers = new Map<number, Float32Array>();
  private busy = false;
  private released = false;
  private identityCache: string | undefined;

  private constructor(
    readonly manifest: LoadedManifest,
    private readonly session: ModelSession,
    private readonly packer: InputPacker,
    private readonly inputName: string,
    private readonly outputName: string,
    size: number,
    /** The model takes a batch of any size (a dynamic first axis). */
    readonly batches: boolean,
  ) {
    this.size = size;
    this.plane = packer.tensorData.length;
  }

  /** Name and content hash: gallery vectors belong to exactly this model. */
  get identity(): string {
    this.identityCache ??= `${this.manifest.name}@${createHash('sha256').update(readFileSync(this.manifest.modelPath)).digest('hex').slice(0, 16)}`;
    return this.identityCache;
  }

  get kind(): 'embedder' | 'classifier' {
    return this.manifest.family === 'classifier' ? 'classifier' : 'embedder';
  }

  static async load(modelPath: string, options: { worker?: InferenceWorker | undefined; intraOpThreads?: number } = {}): Promise<ProductModel> {
    const m = await openVectorModel(modelPath, {
      worker: options.worker,
      intraOpThreads: options.intraOpThreads ?? 1,
      anyBatch: true,
      refuseFamily: (family) => (family === 'embedder' || family === 'classifier' ? undefined : `a ${family} model recognises no products (embedder or classifier)`),
      check: ({ manifest, size }, mismatch) => {
        if (manifest.family === 'classifier' && manifest.labels.length === 0) throw mismatch('a classifier needs its products as labels in the manifest');
        if (manifest.family === 'embedder' && manifest.embeddingSize !== undefined && manifest.embeddingSize !== size) {
          throw mismatch(`the model gives ${size} numbers per crop, the manifest says ${manifest.embeddingSize}`);
        }
        if (manifest.family === 'classifier' && size !== manifest.labels.length) throw mismatch(`the model scores ${size} classes, the manifest names ${manifest.labels.length}`);
      },
    });
    return new ProductModel(m.manifest, m.session, m.packer, m.inputName, m.outputName, m.size, m.batches);
  }

  /**
   * One output per crop, in order: L2-normalised embeddings, or class probabilities (softmax) for a
   * classifier. Crops go through in batches of at most `maxBatch`. Calls must not overlap.
   */
  async infer(crops: readonly ProductCrop[], maxBatch = 8): Promise<Float32Array[]> {
    if (this.released) throw new Error(`${this.manifest.modelPath}: model already released`);
    if (this.busy) throw new Error(`${this.manifest.modelPath}: model is busy; await the previous call first`);
    this.busy = true;
    try {
      const out: Float32Array[] = [];
      const step = this.batches ? Math.max(1, maxBatch) : 1;
      for (let i = 0; i < crops.length; i += step) out.push(...(await this.runBatch(crops.slice(i, i + step))));
      return out;
    } finally {
      this.busy = false;
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }

  private async runBatch(crops: readonly ProductCrop[]): Promise<Float32Array[]> {
    const n = crops.length;
    let input = this.batchBuffers.get(n);
    if (!input || input.length === 0) input = new Float32Array(n * this.plane);
    for (let i = 0; i < n; i++) {
      const crop = crops[i]!;
      this.packer.pack(crop.frame, crop.region);
      input.set(this.packer.tensorData, i * this.plane);
    }
    const dims = [n, ...this.packer.dims.slice(1)];
    const result = await this.session.run(this.inputName, input, dims, [this.outputName]);
    this.batchBuffers.set(n, result.input);
    const data = result.outputs[this.outputName]!.data;
    const outputs: Float32Array[] = [];
    for (let i = 0; i < n; i++) {
      const v = Float32Array.from(data.subarray(i * this.size, (i + 1) * this.size));
      if (this.kind === 'classifier') softmaxInPlace(v);
      else normaliseInPlace(v);
      outputs.push(v);
    }
    return outputs;
  }
}

function softmaxInPlace(v: Float32Array): void {
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) if (v[i]! > max) max = v[i]!;
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    v[i] = Math.exp(v[i]! - max);
    sum += v[i]!;
  }
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / sum;
}
