/**
 * A product recognition network as the runtime uses it: either an embedder (the project's own
 * model: an L2-normalised vector per crop, matched against the gallery) or a customer's classifier
 * (logits over the products in its manifest's labels). Crops are packed like camera frames and run
 * in batches, one tensor of N crops per `session.run`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { EdgeError, ErrorCode } from '../../errors.js';
import { InputPacker, type FramePixels, type FrameRegion } from '../detect/input-packer.js';
import type { InferenceWorker } from '../inference/inference-worker.js';
import { openModelSession, type ModelSession } from '../inference/model-session.js';
import { loadModelManifest, type LoadedManifest } from '../model-manifest.js';

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
    if (extname(modelPath) !== '.json' && !existsSync(modelPath)) throw new EdgeError(ErrorCode.VisionModelNotFound, `${modelPath}: model file not found`);
    const manifest = loadModelManifest(modelPath);
    const file = manifest.modelPath;
    const mismatch = (message: string) => new EdgeError(ErrorCode.VisionModelMismatch, `${file}: ${message} (manifest ${manifest.manifestPath})`);
    if (manifest.family !== 'embedder' && manifest.family !== 'classifier') throw mismatch(`a ${manifest.family} model recognises no products (embedder or classifier)`);
    if (manifest.family === 'classifier' && manifest.labels.length === 0) throw mismatch('a classifier needs its products as labels in the manifest');
    const session = await openModelSession(file, { worker: options.worker, intraOpThreads: options.intraOpThreads ?? 1 });
    try {
      const packer = new InputPacker(manifest.input);
      const inputNames = session.inputs.map((i) => i.name);
      const inputName = manifest.input.name ?? inputNames[0];
      if (inputName === undefined || !inputNames.includes(inputName)) {
        throw mismatch(`input "${inputName}" not found; the model's inputs are ${inputNames.map((n) => `"${n}"`).join(', ')}`);
      }
      const meta = session.inputs.find((m) => m.name === inputName);
      let batches = false;
      if (meta?.type !== undefined && meta.shape !== undefined) {
        const fits = meta.type === 'float32' && meta.shape.length === 4 && meta.shape.every((d, i) => i === 0 || typeof d !== 'number' || d < 0 || d === packer.dims[i]);
        if (!fits) throw mismatch(`input "${inputName}" is ${meta.type} [${meta.shape.join(', ')}], the manifest says float32 [${packer.dims.join(', ')}]`);
        const first = meta.shape[0];
        batches = typeof first !== 'number' || first < 0;
      }
      const outputName = manifest.outputs?.[0] ?? session.outputNames[0];
      if (outputName === undefined || !session.outputNames.includes(outputName)) {
        throw mismatch(`output "${outputName}" not found; the model's outputs are ${session.outputNames.map((n) => `"${n}"`).join(', ')}`);
      }
      const result = await session.run(inputName, packer.tensorData, packer.dims, [outputName]);
      packer.adopt(result.input);
      const output = result.outputs[outputName]!;
      const size = output.data.length;
      if (output.dims[0] !== 1 || size !== output.dims[output.dims.length - 1]) throw mismatch(`output "${outputName}" is [${output.dims.join(', ')}], not one vector per crop`);
      if (manifest.family === 'embedder' && manifest.embeddingSize !== undefined && manifest.embeddingSize !== size) {
        throw mismatch(`the model gives ${size} numbers per crop, the manifest says ${manifest.embeddingSize}`);
      }
      if (manifest.family === 'classifier' && size !== manifest.labels.length) throw mismatch(`the model scores ${size} classes, the manifest names ${manifest.labels.length}`);
      return new ProductModel(manifest, session, packer, inputName, outputName, size, batches);
    } catch (err) {
      await session.release();
      throw err;
    }
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

export function normaliseInPlace(v: Float32Array): void {
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * scale;
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
