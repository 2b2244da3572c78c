import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { EdgeError, ErrorCode, isEdgeError } from '../../errors.js';
import type { Detection } from '../detection.js';
import { openModelSession, type ModelSession } from '../inference/model-session.js';
import type { InferenceWorker } from '../inference/inference-worker.js';
import { keptClassIds, loadModelManifest, type LoadedManifest } from '../model-manifest.js';
import { decodeNanodet } from './decode-nanodet.js';
import { decodeYolov8 } from './decode-yolov8.js';
import { decodeYolox } from './decode-yolox.js';
import { InputPacker, toFrame, type FramePixels, type FrameRegion } from './input-packer.js';
import { CandidateBoxes, ClassAwareNms } from './nms.js';

export interface DetectorOptions {
  /** onnxruntime threads inside one operator; default 1, leaving the other cores to the agent. */
  intraOpThreads?: number;
  /** Overrides the manifest's score threshold. */
  scoreThreshold?: number;
  /** Run inference in this worker thread; absent: on the calling thread. */
  worker?: InferenceWorker | undefined;
}

/** Wall-clock milliseconds of the stages of the last `detect()`. */
export interface DetectorTimings {
  preprocessMs: number;
  /** From handing the tensor over to having the outputs back (includes the worker round trip). */
  inferenceMs: number;
  /** `session.run` alone, timed where it ran. */
  sessionRunMs: number;
  decodeMs: number;
}

/**
 * NanoDet versions disagree on where an anchor sits (`col × stride` or `(col + 0.5) × stride`).
 * Measured on all 107 PETS-S3-MF1 frames with this export, recall at IoU 0.5 is 0.94 at the cell
 * centre against 0.50 at its corner (0.90 at 0.25, 0.76 at 0.75), so the centre it is.
 */
const NANODET_CENTER_OFFSET = 0.5;

interface OutputView {
  data: Float32Array;
  dims: readonly number[];
}

type Decode = (outputs: readonly OutputView[], boxes: CandidateBoxes) => void;

/**
 * The detector stage of the camera pipeline: fits a frame into the network, runs it, decodes its
 * family's outputs, suppresses overlaps per class and returns boxes in frame pixels. One input
 * tensor, one set of candidate arrays and one NMS scratch live as long as the detector, so a frame
 * allocates little beyond what onnxruntime returns. Calls must not overlap: await each one.
 */
export class Detector {
  private readonly timings: DetectorTimings = { preprocessMs: 0, inferenceMs: 0, sessionRunMs: 0, decodeMs: 0 };
  private readonly boxes = new CandidateBoxes(256);
  private readonly nms = new ClassAwareNms();
  private readonly views: OutputView[];
  private pending: Promise<unknown> | undefined;
  private released = false;

  private constructor(
    readonly manifest: LoadedManifest,
    private readonly session: ModelSession,
    private readonly packer: InputPacker,
    private readonly inputName: string,
    private readonly outputNames: readonly string[],
    private readonly decode: Decode,
  ) {
    this.views = outputNames.map(() => ({ data: new Float32Array(0), dims: [] }));
  }

  /**
   * Loads a detector from its `.onnx` file (manifest next to it or in `models/`) or from its
   * manifest, and checks that the model has the inputs and outputs the manifest promises.
   */
  static async load(modelPath: string, options: DetectorOptions = {}): Promise<Detector> {
    const threads = options.intraOpThreads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`intraOpThreads must be a positive integer, got ${threads}`);
    const threshold = options.scoreThreshold;
    if (threshold !== undefined && !(threshold >= 0 && threshold <= 1)) throw new RangeError(`scoreThreshold must be within 0..1, got ${threshold}`);
    if (extname(modelPath) !== '.json' && !existsSync(modelPath)) throw new EdgeError(ErrorCode.VisionModelNotFound, `${modelPath}: model file not found`);

    const manifest = loadModelManifest(modelPath);
    const file = manifest.modelPath;
    if (manifest.family !== 'yolox' && manifest.family !== 'nanodet' && manifest.family !== 'yolov8') {
      throw new EdgeError(ErrorCode.VisionModelMismatch, `${file}: family "${manifest.family}" is not a detector; the detector decodes yolox, nanodet and yolov8 (manifest ${manifest.manifestPath})`);
    }
    if (manifest.labels.length === 0) throw new EdgeError(ErrorCode.VisionManifestInvalid, `${manifest.manifestPath}: /labels: a detector needs its class labels`);

    const session = await openModelSession(file, { intraOpThreads: threads, worker: options.worker });
    try {
      const packer = new InputPacker(manifest.input);
      const inputName = checkInput(session, manifest, packer.dims);
      const outputNames = checkOutputs(session, manifest);
      const scoreThreshold = threshold ?? manifest.thresholds.score;
      const detector = new Detector(manifest, session, packer, inputName, outputNames, decoderFor(manifest, scoreThreshold));
      // A first run on the empty (all padding) input warms the session up and proves that the
      // outputs have the shapes the decoder expects before any frame depends on it.
      await detector.infer();
      detector.decodeOutputs();
      checkClassCount(detector.views, manifest);
      return detector;
    } catch (err) {
      await session.release();
      if (isEdgeError(err) && err.code === ErrorCode.VisionModelMismatch && !err.message.startsWith(file)) {
        throw new EdgeError(ErrorCode.VisionModelMismatch, `${file}: ${err.message} (manifest ${manifest.manifestPath})`, { cause: err });
      }
      throw err;
    }
  }

  get lastTimings(): Readonly<DetectorTimings> {
    return this.timings;
  }

  /** People (or whatever the manifest keeps) in `frame`, or in `region` of it, in frame pixels. */
  detect(frame: FramePixels, region?: FrameRegion): Promise<Detection[]> {
    return this.exclusive(async () => {
      const t0 = performance.now();
      const fit = this.packer.pack(frame, region);
      const t1 = performance.now();
      await this.infer();
      const t2 = performance.now();
      this.decodeOutputs();
      const { thresholds } = this.manifest;
      const kept = this.nms.select(this.boxes, thresholds.nms, thresholds.maxDetections);
      const detections: Detection[] = [];
      for (const i of kept) {
        const d = toFrame(fit, this.boxes.toDetection(i));
        if (d.x2 > d.x1 && d.y2 > d.y1) detections.push(d);
      }
      const t3 = performance.now();
      this.timings.preprocessMs = t1 - t0;
      this.timings.inferenceMs = t2 - t1;
      this.timings.decodeMs = t3 - t2;
      return detections;
    });
  }

  /** Runs the network alone on the tensor as last packed; milliseconds of `session.run` where it runs. */
  runOnly(): Promise<number> {
    return this.exclusive(async () => {
      const run = await this.session.run(this.inputName, this.packer.tensorData, this.packer.dims, this.outputNames);
      this.packer.adopt(run.input);
      return run.runMs;
    });
  }

  /** Frees the session once any call in flight has finished. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.pending?.catch(() => undefined);
    await this.session.release();
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.released) return Promise.reject(new Error(`${this.manifest.modelPath}: detector already released`));
    if (this.pending) return Promise.reject(new Error(`${this.manifest.modelPath}: detector is busy; await the previous call first`));
    const running = work().finally(() => {
      this.pending = undefined;
    });
    this.pending = running;
    return running;
  }

  private async infer(): Promise<void> {
    const run = await this.session.run(this.inputName, this.packer.tensorData, this.packer.dims, this.outputNames);
    this.packer.adopt(run.input);
    this.timings.sessionRunMs = run.runMs;
    for (let i = 0; i < this.outputNames.length; i++) {
      const name = this.outputNames[i]!;
      const value = run.outputs[name];
      if (!value) throw new EdgeError(ErrorCode.VisionModelMismatch, `${this.manifest.modelPath}: output "${name}" is missing`);
      const view = this.views[i]!;
      view.data = value.data;
      view.dims = value.dims;
    }
  }

  private decodeOutputs(): void {
    this.boxes.clear();
    this.decode(this.views, this.boxes);
  }
}

function checkInput(session: ModelSession, manifest: LoadedManifest, dims: readonly number[]): string {
  const file = manifest.modelPath;
  const inputNames = session.inputs.map((i) => i.name);
  const name = manifest.input.name ?? inputNames[0];
  if (name === undefined || !inputNames.includes(name)) {
    throw new EdgeError(
      ErrorCode.VisionModelMismatch,
      `${file}: input "${name}" not found; the model's inputs are ${quoted(inputNames)} (manifest ${manifest.manifestPath})`,
    );
  }
  const meta = session.inputs.find((m) => m.name === name);
  if (meta?.type !== undefined && meta.shape !== undefined) {
    if (meta.type !== 'float32') throw new EdgeError(ErrorCode.VisionModelMismatch, `${file}: input "${name}" is ${meta.type}, the detector feeds float32`);
    const shape = meta.shape;
    const fits = shape.length === dims.length && shape.every((d, i) => typeof d !== 'number' || d < 0 || d === dims[i]);
    if (!fits) {
      const { width, height, layout } = manifest.input;
      throw new EdgeError(
        ErrorCode.VisionModelMismatch,
        `${file}: input "${name}" is [${shape.join(', ')}], the manifest says ${width}×${height} ${layout} [${dims.join(', ')}] (manifest ${manifest.manifestPath})`,
      );
    }
  }
  return name;
}

function checkOutputs(session: ModelSession, manifest: LoadedManifest): readonly string[] {
  const file = manifest.modelPath;
  const names = manifest.outputs ?? session.outputNames;
  const missing = names.filter((n) => !session.outputNames.includes(n));
  if (missing.length > 0) {
    throw new EdgeError(
      ErrorCode.VisionModelMismatch,
      `${file}: output${missing.length > 1 ? 's' : ''} ${quoted(missing)} not found; the model's outputs are ${quoted(session.outputNames)} (manifest ${manifest.manifestPath})`,
    );
  }
  const expected = manifest.family === 'nanodet' ? manifest.strides.length * 2 : 1;
  if (names.length !== expected) {
    throw new EdgeError(
      ErrorCode.VisionModelMismatch,
      `${file}: a ${manifest.family} detector reads ${expected} output${expected > 1 ? 's' : ''}, the manifest names ${names.length} (manifest ${manifest.manifestPath})`,
    );
  }
  return names;
}

function checkClassCount(views: readonly OutputView[], manifest: LoadedManifest): void {
  const first = views[0];
  let classes: number | undefined;
  if (manifest.family === 'yolox') classes = (first?.dims[2] ?? 0) - 5;
  else if (manifest.family === 'nanodet') classes = first?.dims[2];
  if (classes !== undefined && classes !== manifest.labels.length) {
    throw new EdgeError(ErrorCode.VisionModelMismatch, `${manifest.modelPath}: the model scores ${classes} classes, the manifest lists ${manifest.labels.length} labels (manifest ${manifest.manifestPath})`);
  }
}

function decoderFor(manifest: LoadedManifest, scoreThreshold: number): Decode {
  const classes = [...keptClassIds(manifest)].sort((a, b) => a - b);
  const { width: inputWidth, height: inputHeight } = manifest.input;
  const strides = manifest.strides;
  switch (manifest.family) {
    case 'yolox': {
      const options = { inputWidth, inputHeight, strides, scoreThreshold, classes };
      return (outputs, boxes) => decodeYolox(outputs[0]!, options, boxes);
    }
    case 'nanodet': {
      const options = { inputWidth, inputHeight, strides, regMax: manifest.regMax, scoreThreshold, classes, centerOffset: NANODET_CENTER_OFFSET };
      return (outputs, boxes) => decodeNanodet(outputs, options, boxes);
    }
    case 'yolov8': {
      const options = { classCount: manifest.labels.length, scoreThreshold, classes };
      return (outputs, boxes) => decodeYolov8(outputs[0]!, options, boxes);
    }
    default:
      throw new EdgeError(ErrorCode.VisionModelMismatch, `${manifest.modelPath}: no decoder for the ${manifest.family} family`);
  }
}

function quoted(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.map((n) => `"${n}"`).join(', ');
}
