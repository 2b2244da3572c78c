/**
 * Appearance of a tracked person as an L2-normalised vector from a re-identification network, so
 * the same shopper can be recognised across cameras and after an occlusion: similar clothes give a
 * cosine similarity near 1, different people a lower one.
 */
import type { InputPacker, FramePixels } from './detect/input-packer.js';
import type { InferenceWorker } from './inference/inference-worker.js';
import type { ModelSession } from './inference/model-session.js';
import { normaliseInPlace, openVectorModel } from './inference/vector-model.js';
import type { LoadedManifest } from './model-manifest.js';
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
    const m = await openVectorModel(modelPath, {
      worker: options.worker,
      refuseFamily: (family) => (family === 'embedder' ? undefined : `a ${family} model is not an embedder`),
      check: ({ manifest, size }, mismatch) => {
        if (manifest.embeddingSize !== undefined && manifest.embeddingSize !== size) throw mismatch(`the model gives ${size} numbers per person, the manifest says ${manifest.embeddingSize}`);
      },
    });
    return new PersonEmbedder(m.manifest, m.session, m.packer, m.inputName, m.outputName, m.size);
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
      out.set(result.outputs[this.outputName]!.data);
      normaliseInPlace(out);
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
