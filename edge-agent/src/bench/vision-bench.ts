/**
 * `edge-agent bench vision`: what the camera pipeline costs on top of the network itself, and how
 * many cameras at 5 fps one inference core sustains.
 *
 * For each detector, in one run:
 *  - baseline: `session.run` alone on a packed real frame, timed inside the inference worker;
 *  - pipeline: a live camera ingest (ffmpeg, paced like a camera) of a recorded 640×360 video,
 *    every frame through the motion gate, pre-processing, inference in the worker, decoding, NMS
 *    and tracking, with the detector forced on every frame; per frame, the ingest's copying plus
 *    frame in → tracks out. Overhead = (whole pipeline − session.run) ÷ session.run, with
 *    session.run timed inside the worker on the same frames. The gate runs on the main thread while
 *    the worker infers, so only its excess over inference would show;
 *  - sustained: as many cameras at 5 fps as the pipeline time says one inference thread can serve,
 *    run together through one shared detector with motion gating on, counting dropped frames,
 *    CPU, RSS and event-loop delay.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { EventBus } from '../bus.js';
import { LiveClock } from '../clock.js';
import { CameraIngest } from '../devices/camera/camera-ingest.js';
import type { CameraFrame } from '../devices/camera/frame.js';
import { silentLogger } from '../log.js';
import { packageRoot } from '../paths.js';
import { CameraVision, type FrameDetector } from '../vision/camera-vision.js';
import { Detector } from '../vision/detect/person-detector.js';
import { InferenceWorker } from '../vision/inference/inference-worker.js';
import { MotionGate } from '../vision/motion-gate.js';
import { ByteTracker } from '../vision/track/byte-tracker.js';
import { sharedDetector } from '../vision/vision-service.js';
import { benchVideo } from './bench-video.js';
import { quantile } from '../numbers.js';

export interface VisionBenchOptions {
  /** A recorded video; default: PETS 2009 from ../shared scaled to 640×360, else a simulated store. */
  video?: string;
  /** Detector models; default: every reference detector in ../shared/models. */
  models?: string[];
  /** Frames through the pipeline per model (default 60). */
  frames?: number;
  /** Seconds of the sustained multi-camera run per model (default 12). */
  sustainSeconds?: number;
  /** Cameras in the sustained run (default 4). */
  cameras?: number;
}

export interface ModelFigures {
  model: string;
  input: string;
  /** Size ffmpeg scales the camera to: the recorded 640×360, or the largest that fits the model's input. */
  frameSize: string;
  /** `session.run` of the frames the pipeline ran, timed in the worker: the baseline. */
  sessionRunMs: number;
  /** `session.run` back to back on one frame (hot caches), for reference. */
  backToBackRunMs: number;
  breakdownMs: { ingest: number; motionAlongsideInference: number; preprocess: number; workerRoundTrip: number; sessionRun: number; decodeAndNms: number; trackAndProject: number };
  /** Per frame, detector forced on: ingest copy + motion gate + (frame → tracks out). */
  wholePipelineMs: number;
  pipelineP95Ms: number;
  /** (whole pipeline − session.run) ÷ session.run. */
  overhead: number;
  /** 1000 ÷ (5 fps × pipeline ms): cameras the pipeline serves at 5 fps per core, detecting on every frame, decoding aside. */
  pipelineCamerasPerCoreAt5fps: number;
  sustained: {
    cameras: number;
    seconds: number;
    framesIn: number;
    processed: number;
    dropped: number;
    droppedShare: number;
    detectedShare: number;
    /** The agent process (main thread, inference worker, GC), % of one core. */
    agentCpuPercent: number;
    /** The ffmpeg decoders together, % of one core. */
    ffmpegCpuPercent: number;
    /** Cameras at 5 fps one core carries, everything included, at the measured CPU per camera. */
    camerasPerCore: number;
    maxRssMb: number;
    eventLoopP99Ms: number;
  };
}

export interface VisionBenchResult {
  video: string;
  source: string;
  width: number;
  height: number;
  models: ModelFigures[];
}

const DETECT_W = 640;
const DETECT_H = 360;
const REFERENCE_MODELS = ['yolox_nano_416', 'nanodet_m_320', 'person_detector_192'];

function referenceModels(): string[] {
  const dir = join(packageRoot(), '..', 'shared', 'models');
  return REFERENCE_MODELS.map((m) => join(dir, `${m}.onnx`)).filter((p) => existsSync(p));
}

function round(v: number, digits = 3): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

interface FrameSize {
  width: number;
  height: number;
}

function ingest(camera: string, video: string, fps: number, size: FrameSize, onFrame: (frame: CameraFrame) => void | Promise<void>): CameraIngest {
  return new CameraIngest({
    camera,
    url: `${pathToFileURL(video).href}?loop=1`,
    fps,
    width: size.width,
    height: size.height,
    clock: new LiveClock(),
    log: silentLogger(),
    bus: new EventBus(silentLogger()),
    onFrame,
  });
}

interface FrameCosts {
  total: number[];
  preprocess: number[];
  transfer: number[];
  sessionRun: number[];
  decode: number[];
}

async function forcedPipeline(detector: Detector, video: string, fps: number, size: FrameSize, frames: number): Promise<{ costs: FrameCosts; vision: CameraVision; ingestMs: number }> {
  const costs: FrameCosts = { total: [], preprocess: [], transfer: [], sessionRun: [], decode: [] };
  const total = costs.total;
  // refreshMs 0 forces the detector on every frame; the gate still runs, alongside inference.
  const vision = new CameraVision({
    camera: 'bench',
    detector,
    tracker: new ByteTracker(),
    motion: new MotionGate(size),
    refreshMs: 0,
    onTracks: () => undefined,
  });
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  let warm = 0;
  const source = ingest('bench', video, fps, size, async (frame) => {
    const started = performance.now();
    await vision.process(frame);
    if (warm++ < 5) {
      // The first frames pay for JIT, the background model and the worker's first runs.
      if (warm === 5) for (const timer of Object.values(vision.timers)) timer.reset();
      return;
    }
    total.push(performance.now() - started);
    const t = detector.lastTimings;
    costs.preprocess.push(t.preprocessMs);
    costs.transfer.push(t.inferenceMs - t.sessionRunMs);
    costs.sessionRun.push(t.sessionRunMs);
    costs.decode.push(t.decodeMs);
    if (total.length === frames) done();
  });
  await source.start();
  await finished;
  const ingestMs = source.health().copyMsPerFrame;
  await source.stop();
  return { costs, vision, ingestMs };
}

async function sustained(detector: FrameDetector, video: string, size: FrameSize, cameras: number, seconds: number): Promise<ModelFigures['sustained']> {
  const pipelines: { source: CameraIngest; vision: CameraVision }[] = [];
  for (let i = 0; i < cameras; i++) {
    const vision = new CameraVision({
      camera: `cam-${i}`,
      detector,
      tracker: new ByteTracker(),
      motion: new MotionGate(size),
      refreshMs: 5000,
      onTracks: () => undefined,
    });
    pipelines.push({ source: ingest(`cam-${i}`, video, 5, size, (frame) => vision.process(frame)), vision });
  }
  const delay = monitorEventLoopDelay({ resolution: 5 });
  let maxRss = 0;
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, process.memoryUsage().rss)), 250);
  for (const p of pipelines) await p.source.start();
  // Let every ffmpeg connect and the background models settle before measuring.
  await new Promise((r) => setTimeout(r, 2000));
  const before = pipelines.map((p) => {
    const h = p.source.health();
    return { ...h, processed: p.vision.health().frames, detected: p.vision.health().detectedFrames, ffmpegCpu: processCpuSeconds(h.pid) };
  });
  const cpu = process.cpuUsage();
  const wall = performance.now();
  delay.enable();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  delay.disable();
  const wallMs = performance.now() - wall;
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  let framesIn = 0;
  let processed = 0;
  let dropped = 0;
  let detected = 0;
  let ffmpegCpu = 0;
  pipelines.forEach((p, i) => {
    const h = p.source.health();
    const v = p.vision.health();
    // A restarted ffmpeg has a new pid; its time before the restart is then not counted.
    ffmpegCpu += h.pid === before[i]!.pid ? processCpuSeconds(h.pid) - before[i]!.ffmpegCpu : processCpuSeconds(h.pid);
    framesIn += h.frames - before[i]!.frames;
    dropped += h.dropped - before[i]!.dropped;
    processed += v.frames - before[i]!.processed;
    detected += v.detectedFrames - before[i]!.detected;
  });
  for (const p of pipelines) await p.source.stop();
  const agentCpu = (used.user + used.system) / 1000 / wallMs;
  const ffmpegShare = (ffmpegCpu * 1000) / wallMs;
  return {
    cameras,
    seconds,
    framesIn,
    processed,
    dropped,
    droppedShare: round(framesIn > 0 ? dropped / framesIn : 0, 4),
    detectedShare: round(processed > 0 ? detected / processed : 0, 3),
    agentCpuPercent: round(agentCpu * 100, 1),
    ffmpegCpuPercent: round(ffmpegShare * 100, 1),
    camerasPerCore: round(cameras / (agentCpu + ffmpegShare), 1),
    maxRssMb: round(maxRss / 2 ** 20, 1),
    eventLoopP99Ms: round(delay.percentile(99) / 1e6, 2),
  };
}

const TICKS_PER_SECOND = 100;

/** CPU seconds a process has used so far (Linux /proc), 0 when it is gone. */
function processCpuSeconds(pid: number | null): number {
  if (pid === null) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

/** The largest even-sized 16:9 frame that fits the model's input: ffmpeg scales to it, nothing is resized in Node. */
function fittedSize(inputWidth: number, inputHeight: number): FrameSize {
  const scale = Math.min(inputWidth / DETECT_W, inputHeight / DETECT_H, 1);
  const even = (v: number) => Math.max(16, 2 * Math.floor(v / 2));
  return { width: even(DETECT_W * scale), height: even(DETECT_H * scale) };
}

async function measure(detector: Detector, video: { file: string; fps: number }, size: FrameSize, frames: number, options: VisionBenchOptions): Promise<ModelFigures> {
  const { costs, vision, ingestMs } = await forcedPipeline(detector, video.file, video.fps, size, frames);
  // session.run of the very frames the pipeline ran, timed inside the worker: the baseline.
  const sessionRunMs = mean(costs.sessionRun);
  // And back to back on one packed frame, as a constant-input benchmark would time it.
  const runs: number[] = [];
  for (let i = 0; i < Math.max(30, frames); i++) runs.push(await detector.runOnly());
  const pipelineMs = mean(costs.total);
  const stages = vision.health().stages;
  const wholeMs = ingestMs + pipelineMs;
  return {
    model: detector.manifest.name,
    input: `${detector.manifest.input.width}×${detector.manifest.input.height}`,
    frameSize: `${size.width}×${size.height}`,
    sessionRunMs: round(sessionRunMs),
    backToBackRunMs: round(mean(runs)),
    breakdownMs: {
      ingest: round(ingestMs),
      motionAlongsideInference: stages.motion.meanMs,
      preprocess: round(mean(costs.preprocess)),
      workerRoundTrip: round(mean(costs.transfer)),
      sessionRun: round(sessionRunMs),
      decodeAndNms: round(mean(costs.decode)),
      trackAndProject: stages.track.meanMs,
    },
    wholePipelineMs: round(wholeMs),
    pipelineP95Ms: round(quantile(costs.total, 0.95) + ingestMs),
    overhead: round((wholeMs - sessionRunMs) / sessionRunMs, 4),
    pipelineCamerasPerCoreAt5fps: round(1000 / (5 * wholeMs), 1),
    sustained: await sustained(sharedDetector(detector), video.file, size, options.cameras ?? 4, options.sustainSeconds ?? 12),
  };
}

export async function benchVision(options: VisionBenchOptions = {}): Promise<VisionBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-vision-'));
  try {
    const video = options.video
      ? { file: options.video, source: options.video, width: DETECT_W, height: DETECT_H, fps: 7 }
      : await benchVideo(dir, DETECT_W, DETECT_H);
    const models = options.models ?? referenceModels();
    if (models.length === 0) throw new Error('no detector to measure: pass --model FILE (../shared/models is not here)');
    const frames = options.frames ?? 60;
    const figures: ModelFigures[] = [];
    for (const model of models) {
      const worker = new InferenceWorker();
      const detector = await Detector.load(model, { worker });
      try {
        const { width: iw, height: ih } = detector.manifest.input;
        const fitted = fittedSize(iw, ih);
        const sizes = fitted.width === DETECT_W && fitted.height === DETECT_H ? [fitted] : [{ width: DETECT_W, height: DETECT_H }, fitted];
        for (const size of sizes) figures.push(await measure(detector, video, size, frames, options));
      } finally {
        await detector.release();
        await worker.close();
      }
    }
    return { video: video.file, source: video.source, width: DETECT_W, height: DETECT_H, models: figures };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
