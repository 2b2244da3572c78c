/**
 * Opens a model that turns one crop into one vector (an embedder, a classifier) and proves it
 * matches its manifest before anything relies on it: the input it names exists with the promised
 * shape, the output exists, and a first run gives one vector per crop (which also warms it up).
 */
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { EdgeError, ErrorCode } from '../../errors.js';
import { InputPacker } from '../detect/input-packer.js';
import { loadModelManifest, type LoadedManifest, type ModelFamily } from '../model-manifest.js';
import type { InferenceWorker } from './inference-worker.js';
import { openModelSession, type ModelSession } from './model-session.js';

export interface VectorModel {
  manifest: LoadedManifest;
  session: ModelSession;
  packer: InputPacker;
  inputName: string;
  outputName: string;
  /** Numbers per crop. */
  size: number;
  /** The input's first axis is dynamic: crops can go through in batches. */
  batches: boolean;
}

export type Mismatch = (message: string) => EdgeError;

export async function openVectorModel(
  modelPath: string,
  options: {
    worker?: InferenceWorker | undefined;
    intraOpThreads?: number;
    /** Why a family does not fit, or undefined when it does. */
    refuseFamily: (family: ModelFamily) => string | undefined;
    /** Accept any batch size on the input's first axis (otherwise it must be 1 or dynamic). */
    anyBatch?: boolean;
    /** Further checks of the opened model; a throw releases the session. */
    check?: (model: VectorModel, mismatch: Mismatch) => void;
  },
): Promise<VectorModel> {
  if (extname(modelPath) !== '.json' && !existsSync(modelPath)) throw new EdgeError(ErrorCode.VisionModelNotFound, `${modelPath}: model file not found`);
  const manifest = loadModelManifest(modelPath);
  const file = manifest.modelPath;
  const mismatch: Mismatch = (message) => new EdgeError(ErrorCode.VisionModelMismatch, `${file}: ${message} (manifest ${manifest.manifestPath})`);
  const refused = options.refuseFamily(manifest.family);
  if (refused) throw mismatch(refused);
  const session = await openModelSession(file, { worker: options.worker, ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}) });
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
      const fits =
        meta.type === 'float32' && meta.shape.length === 4 && meta.shape.every((d, i) => (i === 0 && options.anyBatch) || typeof d !== 'number' || d < 0 || d === packer.dims[i]);
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
    const output = result.outputs[outputName];
    if (!output) throw mismatch(`output "${outputName}" is missing`);
    const size = output.data.length;
    if (output.dims[0] !== 1 || size !== output.dims[output.dims.length - 1]) {
      throw mismatch(`output "${outputName}" is [${output.dims.join(', ')}], not one vector${options.anyBatch ? ' per crop' : ''}`);
    }
    const model: VectorModel = { manifest, session, packer, inputName, outputName, size, batches };
    options.check?.(model, mismatch);
    return model;
  } catch (err) {
    await session.release();
    throw err;
  }
}

/** Scales a vector to length 1 (a zero vector stays zero). */
export function normaliseInPlace(v: Float32Array): void {
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * scale;
}
