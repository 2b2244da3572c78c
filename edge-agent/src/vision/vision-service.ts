/**
 * The agent's vision: one inference worker and detector shared by every tracked camera, a
 * pipeline per camera (motion gate, detector, tracker, floor projection) and the store-level
 * merge of what overlapping cameras see into one track per shopper. Frames arrive from the camera
 * ingest (live) or the replay source through `onFrame`.
 *
 * Vision never takes the agent down: a missing model or calibration is reported on `/healthz`
 * and the cameras keep streaming.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CameraConfig, StoreConfig } from '../../../device-config/schema.js';
import { readCameraCalibration, scaledTo, type CameraCalibration } from '../../../calibration/camera-homography.js';
import type { EventBus } from '../bus.js';
import type { CameraFrame } from '../devices/camera/frame.js';
import { describeError } from '../errors.js';
import type { Component, ComponentHealth } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { CameraVision, type CameraTracksUpdate, type CameraVisionHealth, type FrameDetector, type TrackAppearance } from './camera-vision.js';
import type { CameraTrack } from './camera-track.js';
import type { BoxCorners, Detection } from './detection.js';
import type { FramePixels, FrameRegion } from './detect/input-packer.js';
import { Detector } from './detect/person-detector.js';
import { FloorProjector } from './floor-projection.js';
import { InferenceWorker } from './inference/inference-worker.js';
import { MotionGate } from './motion-gate.js';
import { PersonEmbedder } from './person-embedder.js';
import { StoreTrackMerger, type ShopperTrack } from './store-tracks.js';
import { ByteTracker } from './track/byte-tracker.js';

export interface VisionServiceOptions {
  config: StoreConfig;
  bus: EventBus;
  log: Logger;
  /** Calibrations that take precedence over the configured files (a recording carries its own). */
  calibrations?: ReadonlyMap<string, CameraCalibration>;
  /** Run inference on the calling thread instead of a worker (tools that own the whole process). */
  inProcess?: boolean;
  /** The store clock: shopper ids carry the start time, so they never repeat across runs. */
  clock?: () => number;
}

export interface VisionShoppers {
  at: number;
  /** Copies: every live shopper track on the floor. */
  tracks: ShopperTrack[];
  ended: string[];
}

interface CameraHealth extends Partial<CameraVisionHealth> {
  calibrated: boolean;
  problem?: string;
}

export interface VisionHealth extends ComponentHealth {
  model: string | null;
  workerRestarts: number;
  cameras: Record<string, CameraHealth>;
  shoppers: number;
}

/**
 * Cameras take turns on the one detector and embedder: inference runs one frame at a time anyway.
 * A turn that finds nobody waiting starts at once, synchronously, so the caller can do other work
 * (the motion gate) while the worker infers.
 */
class Turns {
  private tail: Promise<unknown> | undefined;

  take<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.tail ? this.tail.then(work) : work();
    const settled = turn.then(
      () => undefined,
      () => undefined,
    );
    this.tail = settled;
    void settled.then(() => {
      if (this.tail === settled) this.tail = undefined;
    });
    return turn;
  }
}

class SharedDetector implements FrameDetector {
  private readonly turns = new Turns();
  constructor(readonly detector: Detector) {}
  detect(frame: FramePixels, region?: FrameRegion): Promise<readonly Detection[]> {
    return this.turns.take(() => this.detector.detect(frame, region));
  }
}

class SharedEmbedder implements TrackAppearance {
  private readonly turns = new Turns();
  constructor(readonly embedder: PersonEmbedder) {}
  embed(frame: FramePixels, box: BoxCorners): Promise<Float32Array> {
    return this.turns.take(() => this.embedder.embed(frame, box));
  }
}

/** A detector several cameras can call at once: their frames take turns. */
export function sharedDetector(detector: Detector): FrameDetector {
  return new SharedDetector(detector);
}

export function tracksPeople(camera: CameraConfig, config: StoreConfig): boolean {
  if (!config.vision.detector) return false;
  return camera.track ?? camera.role !== 'shelf';
}

/**
 * A camera's latest frame as vision handled it, kept for the admin page: a copy (frames go back
 * to their pool), at most one per second, with the people tracks of that very frame.
 */
export interface FrameSnapshot {
  camera: string;
  seq: number;
  at: number;
  width: number;
  height: number;
  /** BGR24. */
  data: Buffer;
  /** The tracks after this frame; empty when the camera is not tracked. */
  tracks: { id: number; state: CameraTrack['state']; score: number; box: BoxCorners }[];
  tracked: boolean;
}

const SNAPSHOT_EVERY_MS = 1000;

export class VisionService implements Component {
  readonly name = 'vision';
  readonly dependsOn = [] as const;
  private worker: InferenceWorker | undefined;
  private detector: Detector | undefined;
  private embedder: PersonEmbedder | undefined;
  private readonly pipelines = new Map<string, CameraVision>();
  private readonly cameraHealth = new Map<string, CameraHealth>();
  private readonly inFlight = new Set<Promise<void>>();
  private merger: StoreTrackMerger | undefined;
  private problem: string | undefined;
  private running = false;
  private shoppers = 0;
  private readonly log: Logger;
  private readonly snapshots = new Map<string, FrameSnapshot>();
  /** Copied and waiting for the tracks of their frame. */
  private readonly pendingSnapshots = new Map<string, FrameSnapshot>();

  constructor(private readonly options: VisionServiceOptions) {
    this.log = options.log;
  }

  /** Hand every camera frame here; frames of cameras without a pipeline are released at once. */
  readonly onFrame = (frame: CameraFrame): void | Promise<void> => {
    const pipeline = this.running ? this.pipelines.get(frame.camera) : undefined;
    this.keepSnapshot(frame, pipeline !== undefined);
    if (!pipeline) {
      frame.release();
      return;
    }
    const done = pipeline.process(frame).finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
    return done;
  };

  async start(): Promise<void> {
    const { config } = this.options;
    const tracked = config.cameras.filter((c) => tracksPeople(c, config));
    const detectorConfig = config.vision.detector;
    if (!detectorConfig || tracked.length === 0) return;
    this.worker = this.options.inProcess ? undefined : new InferenceWorker();
    try {
      this.detector = await Detector.load(resolve(detectorConfig.model), {
        intraOpThreads: detectorConfig.threads,
        ...(detectorConfig.scoreThreshold !== undefined ? { scoreThreshold: detectorConfig.scoreThreshold } : {}),
        worker: this.worker,
      });
    } catch (err) {
      this.problem = `detector ${detectorConfig.model}: ${describeError(err)}`;
      this.log.error({ err }, 'person detector could not be loaded; cameras stream without tracking');
      await this.worker?.close();
      this.worker = undefined;
      return;
    }
    if (config.vision.reid) {
      try {
        this.embedder = await PersonEmbedder.load(resolve(config.vision.reid.model), { worker: this.worker });
      } catch (err) {
        this.problem = `re-identification ${config.vision.reid.model}: ${describeError(err)}`;
        this.log.warn({ err }, 're-identification model could not be loaded; cameras are merged by position alone');
      }
    }
    const settings = config.vision;
    // Facts name shoppers by these ids: a restart must not hand out yesterday's ids again.
    const startedAt = Math.floor((this.options.clock ?? Date.now)() / 1000).toString(36);
    this.merger = new StoreTrackMerger({
      gateM: settings.storeTracks.gateM,
      timeoutMs: settings.storeTracks.endAfterSeconds * 1000,
      idPrefix: `shopper-${startedAt}-`,
    });
    const shared = new SharedDetector(this.detector);
    const appearance = this.embedder ? new SharedEmbedder(this.embedder) : undefined;
    for (const camera of tracked) {
      const health: CameraHealth = { calibrated: false };
      this.cameraHealth.set(camera.id, health);
      const projector = this.projectorFor(camera, health);
      this.pipelines.set(
        camera.id,
        new CameraVision({
          camera: camera.id,
          detector: shared,
          tracker: new ByteTracker({ birthFrames: settings.tracker.birthFrames, lostBufferSeconds: settings.tracker.lostBufferSeconds }),
          motion: settings.motion.gate
            ? new MotionGate({ width: camera.detectSize.width, height: camera.detectSize.height, analysisWidth: settings.motion.analysisWidth })
            : undefined,
          projector,
          appearance,
          refreshMs: settings.motion.refreshSeconds * 1000,
          onTracks: (update) => this.tracksArrived(update),
        }),
      );
    }
    this.running = true;
    this.log.info({ model: this.detector.manifest.name, cameras: [...this.pipelines.keys()], inWorker: this.worker !== undefined }, 'vision started');
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.allSettled([...this.inFlight]);
    await this.detector?.release().catch(() => undefined);
    await this.embedder?.release().catch(() => undefined);
    await this.worker?.close();
    this.detector = undefined;
    this.embedder = undefined;
    this.worker = undefined;
    this.pipelines.clear();
  }

  health(): VisionHealth {
    const cameras: Record<string, CameraHealth> = {};
    let failing = 0;
    for (const [id, h] of this.cameraHealth) {
      const p = this.pipelines.get(id)?.health();
      cameras[id] = { ...h, ...(p ?? {}) };
      if (p && p.failedFrames > 0 && p.lastError) failing++;
    }
    const configured = this.options.config.vision.detector !== undefined;
    const status = this.problem && !this.detector && configured ? 'degraded' : failing > 0 || this.problem ? 'degraded' : 'up';
    return {
      status,
      ...(this.problem ? { detail: this.problem } : {}),
      model: this.detector?.manifest.name ?? null,
      workerRestarts: this.worker?.restarts ?? 0,
      cameras,
      shoppers: this.shoppers,
    };
  }

  /** The latest frame kept of a camera, with its tracks; undefined before the first one. */
  lastFrame(camera: string): FrameSnapshot | undefined {
    return this.snapshots.get(camera);
  }

  private keepSnapshot(frame: CameraFrame, tracked: boolean): void {
    const last = this.pendingSnapshots.get(frame.camera) ?? this.snapshots.get(frame.camera);
    if (last && frame.at - last.at < SNAPSHOT_EVERY_MS && frame.at >= last.at) return;
    const snapshot: FrameSnapshot = { camera: frame.camera, seq: frame.seq, at: frame.at, width: frame.width, height: frame.height, data: Buffer.from(frame.data), tracks: [], tracked };
    if (tracked) this.pendingSnapshots.set(frame.camera, snapshot);
    else this.snapshots.set(frame.camera, snapshot);
  }

  private projectorFor(camera: CameraConfig, health: CameraHealth): FloorProjector | undefined {
    if (camera.role === 'shelf') return undefined;
    let calibration = this.options.calibrations?.get(camera.id);
    if (!calibration && camera.calibration) {
      const file = resolve(camera.calibration);
      if (!existsSync(file)) {
        health.problem = `${file}: calibration file not found; tracks stay in image pixels`;
        return undefined;
      }
      try {
        calibration = readCameraCalibration(file);
      } catch (err) {
        health.problem = describeError(err);
        return undefined;
      }
    }
    if (!calibration) {
      health.problem = 'not calibrated (edge-agent calibrate camera); tracks stay in image pixels';
      return undefined;
    }
    try {
      const { width, height } = camera.detectSize;
      const fitted = calibration.imageSize.width === width && calibration.imageSize.height === height ? calibration : scaledTo(calibration, width, height);
      const projector = new FloorProjector(fitted, { role: camera.role });
      health.calibrated = true;
      return projector;
    } catch (err) {
      health.problem = describeError(err);
      return undefined;
    }
  }

  private tracksArrived(update: CameraTracksUpdate): void {
    const { bus } = this.options;
    const pending = this.pendingSnapshots.get(update.camera);
    if (pending?.seq === update.seq) {
      pending.tracks = update.tracks.filter((t) => t.state !== 'lost').map((t) => ({ id: t.id, state: t.state, score: t.score, box: { ...t.box } }));
      this.pendingSnapshots.delete(update.camera);
      this.snapshots.set(update.camera, pending);
    }
    bus.emit('vision.camera-tracks', update);
    if (!this.merger || !this.cameraHealth.get(update.camera)?.calibrated) return;
    const observed = [];
    for (const t of update.tracks) if (t.floor) observed.push({ trackId: t.id, state: t.state, floor: t.floor, ...(t.embedding ? { embedding: t.embedding } : {}) });
    const merged = this.merger.update({ camera: update.camera, at: update.at, tracks: observed });
    this.shoppers = merged.tracks.length;
    bus.emit('vision.shoppers', {
      at: update.at,
      tracks: merged.tracks.map((t) => ({ ...t, sources: t.sources.map((s) => ({ ...s })) })),
      ended: [...merged.ended],
    });
  }
}
