/**
 * Appearance of a tracked person as an L2-normalised vector from a re-identification network, so
 * the same shopper can be recognised across cameras and after an occlusion: similar clothes give a
 * cosine similarity near 1, different people a lower one.
 */
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { InputPacker, type FramePixels } from './detect/input-packer.js';
import { EdgeError, ErrorCode } from '../errors.js';
import type { InferenceWorker } from './inference/inference-worker.js';
import { openModelSession, type ModelSession } from './inference/model-session.js';
import { loadModelManifest, type LoadedManifest } from './model-manifest.js';
import type { ImageBox } from './floor-projection.js';

/** Crops smaller than this (pixels a side) carry no appearance worth comparing. */
const MIN_CROP_PX = 4;

export class PersonEmbedder {
  /** Length of every embedding. */
  readonly size: number;
  private busy = false;
  private released = false;

  private constructor(
    readonly manifest: LoadedManifest,
    private readonly session: ModelSession,
    private readonly packer: InputPacker,
    private readonly inputName: string,
    private readonly outputName: string,
    size: number,
  ) {
    this.size = size;
  }

  /** Loads a re-identification model from its `.onnx` file or manifest and checks it against the manifest. */
  static async load(modelPath: string, options: { worker?: InferenceWorker | undefined } = {}): Promise<PersonEmbedder> {
    if (extname(modelPath) !== '.json' && !existsSync(modelPath)) throw new EdgeError(ErrorCode.VisionModelNotFound, `${modelPath}: model file not found`);
    const manifest = loadModelManifest(modelPath);
    const file = manifest.modelPath;
    const mismatch = (message: string) => new EdgeError(ErrorCode.VisionModelMismatch, `${file}: ${message} (manifest ${manifest.manifestPath})`);
    if (manifest.family !== 'embedder') throw mismatch(`a ${manifest.family} model is not an embedder`);

    const session = await openModelSession(file, { worker: options.worker });
    try {
      const packer = new InputPacker(manifest.input);
      const inputNames = session.inputs.map((i) => i.name);
      const inputName = manifest.input.name ?? inputNames[0];
      if (inputName === undefined || !inputNames.includes(inputName)) {
        throw mismatch(`input "${inputName}" not found; the model's inputs are ${inputNames.map((n) => `"${n}"`).join(', ')}`);
      }
      const meta = session.inputs.find((m) => m.name === inputName);
      if (meta?.type !== undefined && meta.shape !== undefined) {
        const fits = meta.type === 'float32' && meta.shape.length === 4 && meta.shape.every((d, i) => typeof d !== 'number' || d < 0 || d === packer.dims[i]);
        if (!fits) throw mismatch(`input "${inputName}" is ${meta.type} [${meta.shape.join(', ')}], the manifest says float32 [${packer.dims.join(', ')}]`);
      }
      const outputName = manifest.outputs?.[0] ?? session.outputNames[0];
      if (outputName === undefined || !session.outputNames.includes(outputName)) {
        throw mismatch(`output "${outputName}" not found; the model's outputs are ${session.outputNames.map((n) => `"${n}"`).join(', ')}`);
      }
      // A first run proves the output is one vector of the promised length, and warms the session.
      const result = await session.run(inputName, packer.tensorData, packer.dims, [outputName]);
      packer.adopt(result.input);
      const output = result.outputs[outputName];
      if (!output) throw mismatch(`output "${outputName}" is missing`);
      const size = output.data.length;
      if (output.dims[0] !== 1 || size !== output.dims[output.dims.length - 1]) throw mismatch(`output "${outputName}" is [${output.dims.join(', ')}], not one vector`);
      if (manifest.embeddingSize !== undefined && manifest.embeddingSize !== size) throw mismatch(`the model gives ${size} numbers per person, the manifest says ${manifest.embeddingSize}`);
      return new PersonEmbedder(manifest, session, packer, inputName, outputName, size);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /**
   * The appearance of the person in `box` (frame pixels), L2-normalised. Written into `out` when
   * given. Calls must not overlap: await each one.
   */
  async embed(frame: FramePixels, box: ImageBox, out: Float32Array = new Float32Array(this.size)): Promise<Float32Array> {
    if (this.released) throw new Error(`${this.manifest.modelPath}: embedder already released`);
    if (this.busy) throw new Error(`${this.manifest.modelPath}: embedder is busy; await the previous call first`);
    if (out.length !== this.size) throw new RangeError(`an embedding has ${this.size} numbers, the output array holds ${out.length}`);
    if (![box.x1, box.y1, box.x2, box.y2].every(Number.isFinite)) throw new RangeError(`box ${JSON.stringify(box)} is not finite`);
    const x1 = Math.max(0, box.x1);
    const y1 = Math.max(0, box.y1);
    const x2 = Math.min(frame.width, box.x2);
    const y2 = Math.min(frame.height, box.y2);
    if (x2 - x1 < MIN_CROP_PX || y2 - y1 < MIN_CROP_PX) {
      throw new RangeError(`box ${JSON.stringify(box)} leaves less than ${MIN_CROP_PX}×${MIN_CROP_PX} pixels of the ${frame.width}×${frame.height} frame`);
    }
    this.busy = true;
    try {
      this.packer.pack(frame, { x: x1, y: y1, width: x2 - x1, height: y2 - y1 });
      const result = await this.session.run(this.inputName, this.packer.tensorData, this.packer.dims, [this.outputName]);
      this.packer.adopt(result.input);
      const data = result.outputs[this.outputName]!.data;
      let norm = 0;
      for (let i = 0; i < data.length; i++) norm += data[i]! * data[i]!;
      const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let i = 0; i < data.length; i++) out[i] = data[i]! * scale;
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
}

/** Cosine of the angle between two vectors: 1 for the same direction, 0 for unrelated ones. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`cannot compare embeddings of ${a.length} and ${b.length} numbers`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}
