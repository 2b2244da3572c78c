/**
 * One camera's vision pipeline, frame by frame: motion gate → detector (only when and where
 * something moved, plus a periodic full look) → tracker → floor projection. The frame's buffer is
 * released as soon as the pixels are no longer needed, before tracking, so ingest can refill it.
 */
import type { CameraFrame } from '../devices/camera/frame.js';
import type { BoxCorners, Detection } from './detection.js';
import type { CameraTrack, FloorPoint } from './camera-track.js';
import type { FramePixels, FrameRegion } from './detect/input-packer.js';
import type { FloorProjector } from './floor-projection.js';
import type { MotionGate, MotionRegion } from './motion-gate.js';
import { StageTimer } from './stage-timer.js';
import type { ByteTracker } from './track/byte-tracker.js';

/** What the pipeline needs of a detector: boxes in frame pixels for a frame or a region of it. */
export interface FrameDetector {
  detect(frame: FramePixels, region?: FrameRegion): Promise<readonly Detection[]>;
}

/** What the pipeline needs of a re-identification model: an appearance vector for a box. */
export interface TrackAppearance {
  embed(frame: FramePixels, box: BoxCorners): Promise<Float32Array>;
}

/** A camera track as the rest of the agent sees it: a copy, with its floor position when the camera is calibrated. */
export interface CameraTrackView extends CameraTrack {
  floor: FloorPoint | undefined;
  /** Latest appearance vector, when a re-identification model is configured. */
  embedding?: Float32Array;
}

export interface CameraTracksUpdate {
  camera: string;
  /** Store time of the frame, ms. */
  at: number;
  seq: number;
  /** Whether the detector looked at this frame. */
  detected: boolean;
  tracks: CameraTrackView[];
}

export interface CameraVisionOptions {
  camera: string;
  detector: FrameDetector;
  tracker: ByteTracker;
  /** Absent: the detector runs on every frame. */
  motion?: MotionGate | undefined;
  /** Absent: tracks stay in image pixels. */
  projector?: FloorProjector | undefined;
  /** Detect on the whole frame at least this often, moving or not (ms). */
  refreshMs: number;
  /** A moving area below this share of the frame is detected as a crop, at a finer scale. */
  cropBelowFraction?: number;
  /** Appearance of confirmed tracks, refreshed every `appearanceRefreshMs` (default 2 s). */
  appearance?: TrackAppearance | undefined;
  appearanceRefreshMs?: number;
  onTracks: (update: CameraTracksUpdate) => void;
}

export interface CameraVisionHealth {
  frames: number;
  detectedFrames: number;
  croppedFrames: number;
  failedFrames: number;
  lastError: string | null;
  tracks: number;
  stages: Record<'motion' | 'detect' | 'track' | 'appearance' | 'total', ReturnType<StageTimer['summary']>>;
}

/** Extra margin around a moving area before cropping: arms and heads stick out of the blob. */
const CROP_MARGIN = 0.25;
const DEFAULT_CROP_BELOW = 0.35;
/** Appearance is refreshed for at most this many tracks per frame, so a crowd cannot stall a camera. */
const EMBEDS_PER_FRAME = 2;
/** Boxes smaller than this (pixels a side) carry no usable appearance. */
const MIN_EMBED_PX = 12;

export class CameraVision {
  readonly timers = { motion: new StageTimer(), detect: new StageTimer(), track: new StageTimer(), appearance: new StageTimer(), total: new StageTimer() };
  private frames = 0;
  private detectedFrames = 0;
  private croppedFrames = 0;
  private failedFrames = 0;
  private lastError: string | undefined;
  private lastDetectAt = -Infinity;
  private lastTrackCount = 0;
  /** Whether the gate saw movement on the previous frame. */
  private sceneMoving = true;
  private readonly moving: BoxCorners[] = [];
  private readonly appearances = new Map<number, { embedding: Float32Array; at: number }>();
  private readonly region: FrameRegion = { x: 0, y: 0, width: 0, height: 0 };
  private static readonly NOTHING: readonly Detection[] = [];

  constructor(private readonly options: CameraVisionOptions) {}

  /** Runs one frame through the pipeline and releases it; never throws (a failed frame is counted). */
  async process(frame: CameraFrame): Promise<void> {
    const started = performance.now();
    this.frames++;
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        frame.release();
      }
    };
    try {
      const { motion, detector, tracker } = this.options;
      const refresh = frame.at - this.lastDetectAt >= this.options.refreshMs;
      let result: ReturnType<MotionGate['update']> | undefined;
      let detect: boolean;
      let region: FrameRegion | undefined;
      let detections = CameraVision.NOTHING;
      let moving: BoxCorners[] | undefined;
      let pending: Promise<readonly Detection[]> | undefined;
      let detectStarted = 0;
      if (motion && !this.sceneMoving && !refresh) {
        // A still scene: the gate decides whether the detector runs at all, and where.
        result = this.gate(motion, frame);
        detect = result.moved;
        if (detect && !result.warmingUp) region = this.cropFor(result.regions, frame);
      } else {
        // Things were moving on the last frame (or a periodic look is due): detect on the whole
        // frame at once and run the gate while the worker infers, so its cost hides behind inference.
        detect = true;
        detectStarted = performance.now();
        pending = detector.detect(frame);
        if (motion) result = this.gate(motion, frame);
      }
      if (result) this.sceneMoving = result.moved;
      if (detect) {
        if (result && result.moved && !refresh) moving = this.movingBoxes(result.regions);
        if (!pending) {
          detectStarted = performance.now();
          pending = detector.detect(frame, region);
        }
        detections = await pending;
        this.timers.detect.add(performance.now() - detectStarted);
        this.detectedFrames++;
        if (region) this.croppedFrames++;
        else this.lastDetectAt = frame.at;
      }
      if (!this.options.appearance) release();
      const t = performance.now();
      const tracks = tracker.update({ at: frame.at, detections, detected: detect, ...(moving ? { moving } : {}) });
      const views = this.views(tracks);
      this.timers.track.add(performance.now() - t);
      if (this.options.appearance) {
        if (detect) await this.refreshAppearance(frame, views);
        release();
        for (const v of views) {
          const known = this.appearances.get(v.id);
          if (known) v.embedding = known.embedding;
        }
      }
      this.lastTrackCount = views.length;
      this.timers.total.add(performance.now() - started);
      this.options.onTracks({ camera: this.options.camera, at: frame.at, seq: frame.seq, detected: detect, tracks: views });
    } catch (err) {
      this.failedFrames++;
      this.lastError = err instanceof Error ? err.message : String(err);
    } finally {
      release();
    }
  }

  health(): CameraVisionHealth {
    return {
      frames: this.frames,
      detectedFrames: this.detectedFrames,
      croppedFrames: this.croppedFrames,
      failedFrames: this.failedFrames,
      lastError: this.lastError ?? null,
      tracks: this.lastTrackCount,
      stages: {
        motion: this.timers.motion.summary(),
        detect: this.timers.detect.summary(),
        track: this.timers.track.summary(),
        appearance: this.timers.appearance.summary(),
        total: this.timers.total.summary(),
      },
    };
  }

  private gate(motion: MotionGate, frame: CameraFrame): ReturnType<MotionGate['update']> {
    const t = performance.now();
    const result = motion.update(frame);
    this.timers.motion.add(performance.now() - t);
    return result;
  }

  /** The bounding box of the moving regions with a margin, or undefined when it is most of the frame anyway. */
  private cropFor(regions: readonly MotionRegion[], frame: FramePixels): FrameRegion | undefined {
    if (regions.length === 0) return undefined;
    let x1 = Infinity;
    let y1 = Infinity;
    let x2 = -Infinity;
    let y2 = -Infinity;
    for (const r of regions) {
      x1 = Math.min(x1, r.x);
      y1 = Math.min(y1, r.y);
      x2 = Math.max(x2, r.x + r.width);
      y2 = Math.max(y2, r.y + r.height);
    }
    const mx = (x2 - x1) * CROP_MARGIN;
    const my = (y2 - y1) * CROP_MARGIN;
    x1 = Math.max(0, Math.floor(x1 - mx));
    y1 = Math.max(0, Math.floor(y1 - my));
    x2 = Math.min(frame.width, Math.ceil(x2 + mx));
    y2 = Math.min(frame.height, Math.ceil(y2 + my));
    const share = ((x2 - x1) * (y2 - y1)) / (frame.width * frame.height);
    if (share >= (this.options.cropBelowFraction ?? DEFAULT_CROP_BELOW)) return undefined;
    const r = this.region;
    r.x = x1;
    r.y = y1;
    r.width = x2 - x1;
    r.height = y2 - y1;
    return r;
  }

  private movingBoxes(regions: readonly MotionRegion[]): BoxCorners[] {
    const out = this.moving;
    out.length = 0;
    for (const r of regions) out.push({ x1: r.x, y1: r.y, x2: r.x + r.width, y2: r.y + r.height });
    return out;
  }

  /** Embeds the confirmed tracks matched on this frame whose appearance is missing or oldest. */
  private async refreshAppearance(frame: CameraFrame, views: readonly CameraTrackView[]): Promise<void> {
    const refreshMs = this.options.appearanceRefreshMs ?? 2000;
    const live = new Set<number>();
    for (const v of views) live.add(v.id);
    for (const id of this.appearances.keys()) if (!live.has(id)) this.appearances.delete(id);
    const due = views
      .filter((v) => v.state === 'confirmed' && v.lastSeenAt === frame.at && v.box.x2 - v.box.x1 >= MIN_EMBED_PX && v.box.y2 - v.box.y1 >= MIN_EMBED_PX)
      .filter((v) => frame.at - (this.appearances.get(v.id)?.at ?? -Infinity) >= refreshMs)
      .sort((a, b) => (this.appearances.get(a.id)?.at ?? -Infinity) - (this.appearances.get(b.id)?.at ?? -Infinity))
      .slice(0, EMBEDS_PER_FRAME);
    for (const v of due) {
      const t = performance.now();
      const embedding = await this.options.appearance!.embed(frame, v.box);
      this.timers.appearance.add(performance.now() - t);
      this.appearances.set(v.id, { embedding, at: frame.at });
    }
  }

  private views(tracks: readonly CameraTrack[]): CameraTrackView[] {
    const projector = this.options.projector;
    return tracks.map((t) => ({ ...t, box: { ...t.box }, floor: projector ? projector.project(t.box) : undefined }));
  }
}
