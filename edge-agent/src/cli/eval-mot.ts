import { describeError } from '../errors.js';
import { Detector } from '../vision/detect/person-detector.js';
import { readImageFile } from '../vision/image-file.js';
import type { Detection } from '../vision/detection.js';
import { listFrameImages, MotFileError, readMotFile, readSequenceFps, rowsByFrame, sequenceName, type MotRow } from '../vision/mot/mot-files.js';
import { scoreMot, type MotBox, type MotFrameBoxes } from '../vision/mot/mot-metrics.js';
import { ByteTracker } from '../vision/track/byte-tracker.js';
import { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, printResult, type CliIo } from './output.js';

/** PETS 2009, the sequence this command was first proved on, was filmed at 7 fps. */
export const DEFAULT_MOT_FPS = 7;

export interface EvalMotOptions {
  /** Folder of the sequence's frame images, numbered in their names. */
  frames: string;
  /** MOT detections; may be left out when `detect` runs a detector instead. */
  det?: string;
  gt: string;
  /** Frame rate; default: `seqinfo.ini`'s frameRate, else 7 (PETS 2009). */
  fps?: number;
  /** Runs a detector on one frame (index from 0 in frame order); used instead of `det` when given. */
  detect?: (framePath: string, frameIndex: number) => Promise<Detection[]>;
  /** A detector model (`.onnx` with its manifest, or the manifest) to run on the frames instead of `det`. */
  model?: string;
}

/** `eval mot --model M.onnx`: the project's detector on every frame, then the same tracker and scoring. */
export async function evalMotWithModel(opts: EvalMotOptions & { model: string }, io: CliIo): Promise<number> {
  let detector: Detector;
  try {
    detector = await Detector.load(opts.model);
  } catch (err) {
    io.err(`error: ${describeError(err)}`);
    return EXIT_BAD_INPUT;
  }
  io.err(`detector ${detector.manifest.name} (${detector.manifest.family}, ${detector.manifest.input.width}×${detector.manifest.input.height})`);
  try {
    return await evalMot({ ...opts, detect: async (path) => [...(await detector.detect(readImageFile(path)))] }, io);
  } finally {
    await detector.release();
  }
}

function checkFrames(rows: readonly MotRow[], file: string, images: ReadonlySet<number>, dir: string): void {
  for (const r of rows) if (!images.has(r.frame)) throw new MotFileError(`${file}:${r.line}: frame ${r.frame} has no image in ${dir}`);
}

function fixed(n: number, digits = 3): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/**
 * `edge-agent eval mot --frames DIR --det FILE --gt FILE [--fps N]`: runs the people tracker
 * frame by frame on a MOT Challenge sequence (its public detections, or a detector through
 * `detect`) and scores it against the ground truth: CLEAR MOT and identity metrics, computed from
 * the files given, nothing else. Frame times come from the frame numbers and the frame rate, so
 * gaps in the numbering are dropped frames to the tracker.
 */
export async function evalMot(opts: EvalMotOptions, io: CliIo): Promise<number> {
  if (opts.model !== undefined && opts.detect === undefined) return evalMotWithModel({ ...opts, model: opts.model }, io);
  if (opts.fps !== undefined && !(Number.isFinite(opts.fps) && opts.fps > 0)) {
    io.err(`error: --fps must be a number > 0, got ${opts.fps}`);
    return EXIT_BAD_INPUT;
  }
  if (opts.det === undefined && opts.detect === undefined) {
    io.err('error: give the detections (--det FILE) or a detector (--model FILE)');
    return EXIT_BAD_INPUT;
  }

  let images;
  let truthByFrame;
  let detsByFrame: Map<number, MotRow[]> | undefined;
  let fps: number;
  let fpsSource: string;
  try {
    images = listFrameImages(opts.frames);
    const numbers = new Set(images.map((i) => i.frame));
    const truth = readMotFile(opts.gt, 'gt');
    if (truth.length === 0) throw new MotFileError(`${opts.gt}: no ground-truth boxes to score against`);
    checkFrames(truth, opts.gt, numbers, opts.frames);
    truthByFrame = rowsByFrame(truth);
    if (opts.detect === undefined && opts.det !== undefined) {
      const dets = readMotFile(opts.det, 'det');
      checkFrames(dets, opts.det, numbers, opts.frames);
      const outside = dets.filter((d) => d.conf < 0 || d.conf > 1).length;
      if (outside > 0) io.err(`warning: ${opts.det}: ${outside} detection scores outside [0, 1]; the tracker's score thresholds assume confidences`);
      detsByFrame = rowsByFrame(dets);
    }
    const declared = readSequenceFps(opts.frames);
    if (opts.fps !== undefined) {
      // An explicit flag wins: the operator may know the file is wrong.
      fps = opts.fps;
      fpsSource = '--fps';
      if (declared && declared.fps !== opts.fps) io.err(`warning: ${declared.file} says frameRate=${declared.fps}; using --fps ${opts.fps}`);
    } else if (declared) {
      fps = declared.fps;
      fpsSource = declared.file;
    } else {
      fps = DEFAULT_MOT_FPS;
      fpsSource = 'default';
    }
  } catch (err) {
    if (!(err instanceof MotFileError)) throw err;
    io.err(`error: ${err.message}`);
    return EXIT_BAD_INPUT;
  }

  const tracker = new ByteTracker();
  const first = images[0]!.frame;
  const scored: MotFrameBoxes[] = [];
  let detections = 0;
  for (let k = 0; k < images.length; k++) {
    const image = images[k]!;
    let found: Detection[];
    if (detsByFrame) {
      found = (detsByFrame.get(image.frame) ?? []).map((r) => ({ x1: r.x1, y1: r.y1, x2: r.x2, y2: r.y2, score: r.conf, classId: 0 }));
    } else {
      try {
        found = await opts.detect!(image.path, k);
      } catch (err) {
        io.err(`error: detector failed on ${image.path}: ${describeError(err)}`);
        return EXIT_FAILURE;
      }
    }
    detections += found.length;
    const at = ((image.frame - first) * 1000) / fps;
    const tracks = tracker.update({ at, detections: found, detected: true });
    const hyp: MotBox[] = tracks.map((t) => ({ id: t.id, x1: t.box.x1, y1: t.box.y1, x2: t.box.x2, y2: t.box.y2 }));
    const truth: MotBox[] = (truthByFrame.get(image.frame) ?? []).map((r) => ({ id: r.id, x1: r.x1, y1: r.y1, x2: r.x2, y2: r.y2 }));
    scored.push({ truth, tracks: hyp });
  }

  const s = scoreMot(scored);
  const sequence = sequenceName(opts.frames);
  io.err(`${sequence}: ${images.length} frames at ${fps} fps (${fpsSource}), ${s.gtBoxes} ground-truth boxes of ${s.gtIds} people, ${detections} detections`);
  io.err(`MOTA ${fixed(s.MOTA)}  IDF1 ${fixed(s.IDF1)} (IDP ${fixed(s.IDP)}, IDR ${fixed(s.IDR)})  MOTP ${fixed(s.MOTP)} (mean IoU)`);
  io.err(`ID switches ${s.idSwitches}, false positives ${s.falsePositives}, misses ${s.misses}, fragmentations ${s.fragmentations}`);
  io.err(`precision ${fixed(s.precision)}, recall ${fixed(s.recall)}; mostly tracked ${s.mostlyTracked}, partly ${s.partiallyTracked}, mostly lost ${s.mostlyLost} of ${s.gtIds}; ${s.trackIds} track ids`);
  printResult(io, {
    sequence,
    frames: images.length,
    fps,
    fpsSource,
    detections: detsByFrame ? 'file' : 'detector',
    gtBoxes: s.gtBoxes,
    MOTA: s.MOTA,
    IDF1: s.IDF1,
    IDP: s.IDP,
    IDR: s.IDR,
    MOTP: s.MOTP,
    idSwitches: s.idSwitches,
    falsePositives: s.falsePositives,
    misses: s.misses,
    precision: s.precision,
    recall: s.recall,
    mostlyTracked: s.mostlyTracked,
    mostlyLost: s.mostlyLost,
    fragmentations: s.fragmentations,
    tracker: tracker.options,
  });
  return EXIT_OK;
}
