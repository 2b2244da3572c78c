/**
 * The manifest that travels with every model file: what family of network it is, what input it
 * wants (size, layout, colour order, normalisation, how to fit a frame into it), what its
 * outputs mean and which thresholds to apply. The runtime never guesses a model's format.
 *
 * A manifest is `<model>.json` next to `<model>.onnx`. Third-party models that live outside the
 * project (the reference detectors in `../shared/models`) are described by a manifest of the same
 * name in the project's `models/` folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import Type from 'typebox';
import { EdgeError, ErrorCode } from '../errors.js';
import { packageRoot } from '../paths.js';

const Triple = Type.Array(Type.Number(), { minItems: 3, maxItems: 3 });

export const ModelInputSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, description: "the model's input name; default: its first input" })),
    width: Type.Integer({ minimum: 8, maximum: 4096 }),
    height: Type.Integer({ minimum: 8, maximum: 4096 }),
    layout: Type.Enum(['NCHW', 'NHWC'], { default: 'NCHW' }),
    colorOrder: Type.Enum(['BGR', 'RGB'], { description: 'channel order the network was trained on' }),
    mean: Type.Optional(Triple),
    std: Type.Optional(Triple),
    /** Pixel values are multiplied by this before mean and std (1/255 for networks trained on 0–1). */
    scale: Type.Number({ exclusiveMinimum: 0, default: 1 }),
    resize: Type.Enum(['letterbox', 'stretch'], { default: 'letterbox', description: 'letterbox keeps the aspect ratio and pads; stretch fills the input' }),
    interpolation: Type.Enum(['linear', 'area'], { default: 'linear', description: 'area averages pixels when shrinking (like the antialiased resizing many training pipelines use)' }),
    letterboxAlign: Type.Enum(['top-left', 'center'], { default: 'top-left' }),
    padValue: Type.Number({ minimum: 0, maximum: 255, default: 114 }),
  },
  { additionalProperties: false },
);

export const ModelThresholdsSchema = Type.Object(
  {
    score: Type.Number({ minimum: 0, maximum: 1, default: 0.3, description: 'minimum final confidence of a box' }),
    nms: Type.Number({ minimum: 0, maximum: 1, default: 0.45, description: 'IoU above which a lower-scoring box of the same class is suppressed' }),
    maxDetections: Type.Integer({ minimum: 1, default: 100 }),
  },
  { additionalProperties: false, default: {} },
);

export const ModelManifestSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    family: Type.Enum(['yolox', 'nanodet', 'yolov8', 'embedder', 'classifier']),
    /** The ONNX file, relative to the manifest; default: the manifest's name with `.onnx`. */
    file: Type.Optional(Type.String({ minLength: 1 })),
    input: ModelInputSchema,
    /** Output tensor names in the order the family's decoder reads them; default: the model's outputs. */
    outputs: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
    /** Feature-map strides of an anchor-free head (YOLOX, NanoDet). */
    strides: Type.Array(Type.Integer({ minimum: 1 }), { default: [8, 16, 32] }),
    /** NanoDet: distribution bins per box side minus one (reg_max). */
    regMax: Type.Integer({ minimum: 1, default: 7 }),
    labels: Type.Array(Type.String(), { default: [] }),
    /** Labels the pipeline keeps (e.g. `["person"]`); default: all. */
    keep: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    thresholds: ModelThresholdsSchema,
    /** Embedders: length of the embedding vector. */
    embeddingSize: Type.Optional(Type.Integer({ minimum: 1 })),
    license: Type.Optional(Type.String()),
    source: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export type ModelManifest = Type.Static<typeof ModelManifestSchema>;
export type ModelInput = ModelManifest['input'];
export type ModelFamily = ModelManifest['family'];

/** A manifest with the model file it describes resolved to an absolute path. */
export interface LoadedManifest extends ModelManifest {
  modelPath: string;
  manifestPath: string;
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, useDefaults: true, strict: true }).compile(ModelManifestSchema);
  return compiled;
}

/** Validates a parsed manifest and fills in defaults; every problem is reported with its JSON path. */
export function parseModelManifest(raw: unknown, source: string): ModelManifest {
  const copy: unknown = structuredClone(raw);
  const validate = validator();
  if (!validate(copy)) {
    const problems = (validate.errors ?? []).map(describe).join('; ');
    throw new EdgeError(ErrorCode.VisionManifestInvalid, `${source}: ${problems}`);
  }
  const manifest = copy as ModelManifest;
  if (manifest.keep) {
    const unknown = manifest.keep.filter((label) => !manifest.labels.includes(label));
    if (unknown.length > 0) throw new EdgeError(ErrorCode.VisionManifestInvalid, `${source}: /keep: ${unknown.map((l) => `"${l}"`).join(', ')} not among the labels`);
  }
  return manifest;
}

/**
 * Finds and reads the manifest of a model given either the `.onnx` file or the manifest itself:
 * `<model>.json` next to the model first, then `models/<model>.json` in the project.
 */
export function loadModelManifest(path: string): LoadedManifest {
  const absolute = resolve(path);
  const isManifest = extname(absolute) === '.json';
  const stem = basename(absolute, extname(absolute));
  const candidates = isManifest ? [absolute] : [join(dirname(absolute), `${stem}.json`), join(packageRoot(), 'models', `${stem}.json`)];
  const manifestPath = candidates.find((c) => existsSync(c));
  if (!manifestPath) {
    throw new EdgeError(ErrorCode.VisionManifestInvalid, `${path}: no model manifest (looked for ${candidates.join(' and ')})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    throw new EdgeError(ErrorCode.VisionManifestInvalid, `${manifestPath}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const manifest = parseModelManifest(raw, manifestPath);
  const modelPath = isManifest ? resolve(dirname(manifestPath), manifest.file ?? `${stem}.onnx`) : absolute;
  if (!existsSync(modelPath)) throw new EdgeError(ErrorCode.VisionModelNotFound, `${modelPath}: model file not found (manifest ${manifestPath})`);
  return { ...manifest, modelPath, manifestPath };
}

/** Index of each kept label, or every index when the manifest keeps all. */
export function keptClassIds(manifest: ModelManifest): Set<number> {
  if (!manifest.keep) return new Set(manifest.labels.map((_, i) => i));
  return new Set(manifest.keep.map((label) => manifest.labels.indexOf(label)));
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'required') return `${e.instancePath}/${String(e.params['missingProperty'])}: required`;
  if (e.keyword === 'additionalProperties') return `${e.instancePath}/${String(e.params['additionalProperty'])}: unknown key`;
  return `${e.instancePath || '/'}: ${e.message ?? e.keyword}`;
}
