/**
 * Decides per camera frame whether anything moved, and where, so the person detector only runs
 * when and where it has something to find. A Gaussian-mixture background (OpenCV MOG2) on a
 * small grey copy of the frame: shrinking averages away sensor noise and makes the model cheap.
 *
 * When most of the frame changes at once (lights switched, an auto-exposure jump) the model is
 * relearnt from that frame and the whole frame is reported as moved: the detector should look
 * everywhere once, and a shopper who walked in at that moment is not lost.
 */
import { opencv, type Cv } from './opencv.js';

export interface MotionGateOptions {
  /** Frame size the gate is fed, pixels. */
  width: number;
  height: number;
  /** Width of the grey copy the background model runs on (default 160). */
  analysisWidth?: number;
  /** Frames the background remembers (default 300: a minute at 5 fps). */
  history?: number;
  /** Squared Mahalanobis distance above which a pixel is foreground (default 16, OpenCV's). */
  varThreshold?: number;
  /** Background learning rate; negative lets MOG2 pick it from the history (default -1). */
  learningRate?: number;
  /** Smallest moving region, as a share of the frame's area (default 0.002). */
  minRegionFraction?: number;
  /** Frames after start or `reset()` during which the whole frame is reported (default 10). */
  warmupFrames?: number;
  /** Share of foreground above which the whole scene is taken to have changed (default 0.6). */
  globalChangeFraction?: number;
}

/** A rectangle in frame pixels. */
export interface MotionRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface MotionResult {
  moved: boolean;
  /** Moving regions in frame pixels, padded and merged where they touch. */
  regions: readonly MotionRegion[];
  /** Share of the analysed frame that differs from the background, before clean-up. */
  foregroundFraction: number;
  warmingUp: boolean;
}

export interface MotionFrame {
  /** BGR24, `width × height × 3` bytes. */
  data: Buffer;
  width: number;
  height: number;
}

type Mat = InstanceType<Cv['Mat']>;
type Mog2 = InstanceType<Cv['BackgroundSubtractorMOG2']>;

/** Padding added around each region before merging, in analysis pixels. */
const REGION_PAD = 2;

export class MotionGate {
  private readonly cv: Cv;
  private readonly width: number;
  private readonly height: number;
  private readonly aw: number;
  private readonly ah: number;
  private readonly history: number;
  private readonly varThreshold: number;
  private readonly learningRate: number;
  private readonly minArea: number;
  private readonly warmupFrames: number;
  private readonly globalChange: number;
  private readonly openKernel: Mat;
  private readonly joinKernel: Mat;
  private readonly anchor: InstanceType<Cv['Point2']>;
  private model: Mog2;
  private frames = 0;
  // Reused by every update: the result is valid until the next call.
  private readonly boxes: Int32Array;
  private readonly pool: MotionRegion[] = [];
  private readonly regions: MotionRegion[] = [];
  private readonly result: MotionResult;

  constructor(options: MotionGateOptions) {
    const fail = (message: string) => new RangeError(`motion gate: ${message}`);
    const { width, height } = options;
    if (!(Number.isInteger(width) && width >= 16 && Number.isInteger(height) && height >= 16)) throw fail(`frame size ${width}×${height} must be whole pixels, at least 16×16`);
    this.width = width;
    this.height = height;
    this.aw = Math.min(width, options.analysisWidth ?? 160);
    if (!(Number.isInteger(this.aw) && this.aw >= 16)) throw fail(`analysisWidth ${options.analysisWidth} must be a whole number of pixels, at least 16`);
    this.ah = Math.max(8, Math.round((height * this.aw) / width));
    this.history = options.history ?? 300;
    this.varThreshold = options.varThreshold ?? 16;
    this.learningRate = options.learningRate ?? -1;
    this.warmupFrames = options.warmupFrames ?? 10;
    this.globalChange = options.globalChangeFraction ?? 0.6;
    const minRegion = options.minRegionFraction ?? 0.002;
    if (!(this.history >= 1) || !(this.varThreshold > 0) || !(this.learningRate <= 1) || !(this.warmupFrames >= 0)) throw fail('history, varThreshold, learningRate (≤ 1) and warmupFrames must be positive numbers');
    if (!(minRegion >= 0 && minRegion < 1) || !(this.globalChange > 0 && this.globalChange <= 1)) throw fail('minRegionFraction and globalChangeFraction are shares of the frame (0–1)');
    this.minArea = Math.max(1, minRegion * this.aw * this.ah);

    this.cv = opencv();
    const cv = this.cv;
    this.openKernel = cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(3, 3));
    // Joins a head, arms and legs that the background model sees as separate blobs.
    this.joinKernel = cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(5, 5));
    this.anchor = new cv.Point2(-1, -1);
    this.model = this.newModel();
    this.boxes = new Int32Array(4 * 64);
    this.result = { moved: false, regions: this.regions, foregroundFraction: 0, warmingUp: true };
  }

  /** What moved in this frame. The result and its regions are reused by the next call: copy what must outlive it. */
  update(frame: MotionFrame): MotionResult {
    if (frame.width !== this.width || frame.height !== this.height) {
      throw new RangeError(`motion gate: frame is ${frame.width}×${frame.height}, the gate was made for ${this.width}×${this.height}`);
    }
    if (frame.data.length !== this.width * this.height * 3) {
      throw new RangeError(`motion gate: a ${this.width}×${this.height} BGR frame has ${this.width * this.height * 3} bytes, got ${frame.data.length}`);
    }
    const cv = this.cv;
    // Wraps the caller's buffer without copying it; released before this call returns.
    const full = new cv.Mat(this.height, this.width, cv.CV_8UC3, frame.data, this.width * 3);
    const small = full.resize(this.ah, this.aw, 0, 0, cv.INTER_AREA);
    full.release();
    const grey = small.cvtColor(cv.COLOR_BGR2GRAY);
    small.release();

    this.frames += 1;
    const result = this.result;
    result.warmingUp = this.frames <= this.warmupFrames;
    let foreground = this.model.apply(grey, this.learningRate);
    const fraction = foreground.countNonZero() / (this.aw * this.ah);
    result.foregroundFraction = fraction;
    this.regions.length = 0;

    if (result.warmingUp || fraction > this.globalChange) {
      if (!result.warmingUp) {
        // A learning rate of 1 makes the model this frame: the new lighting becomes background.
        foreground.release();
        foreground = this.model.apply(grey, 1);
      }
      foreground.release();
      grey.release();
      result.moved = true;
      this.regions.push(this.region(0, 0, this.width, this.height, 0));
      return result;
    }
    grey.release();

    const opened = foreground.morphologyEx(this.openKernel, cv.MORPH_OPEN);
    foreground.release();
    const joined = opened.dilate(this.joinKernel, this.anchor, 1);
    opened.release();
    const components = joined.connectedComponentsWithStats(8, cv.CV_32S);
    joined.release();
    components.labels.release();
    components.centroids.release();
    const count = this.collect(components.stats);
    components.stats.release();
    this.mergeAndScale(count);
    result.moved = this.regions.length > 0;
    return result;
  }

  /** Forgets the background, e.g. after the camera was moved; the next frames warm up again. */
  reset(): void {
    this.model = this.newModel();
    this.frames = 0;
  }

  private newModel(): Mog2 {
    return new this.cv.BackgroundSubtractorMOG2(this.history, this.varThreshold, false);
  }

  /** Padded boxes of the components large enough to be someone, in analysis pixels (x1, y1, x2, y2). */
  private collect(stats: Mat): number {
    const cv = this.cv;
    const data = stats.getData();
    const cells = new Int32Array(data.buffer, data.byteOffset, data.length >> 2);
    const columns = stats.cols;
    let count = 0;
    for (let label = 1; label < stats.rows; label++) {
      const row = label * columns;
      if (cells[row + cv.CC_STAT_AREA]! < this.minArea) continue;
      if (count === this.boxes.length / 4) break;
      const left = cells[row + cv.CC_STAT_LEFT]!;
      const top = cells[row + cv.CC_STAT_TOP]!;
      this.boxes[count * 4] = Math.max(0, left - REGION_PAD);
      this.boxes[count * 4 + 1] = Math.max(0, top - REGION_PAD);
      this.boxes[count * 4 + 2] = Math.min(this.aw, left + cells[row + cv.CC_STAT_WIDTH]! + REGION_PAD);
      this.boxes[count * 4 + 3] = Math.min(this.ah, top + cells[row + cv.CC_STAT_HEIGHT]! + REGION_PAD);
      count++;
    }
    return count;
  }

  /** Merges overlapping boxes until none overlap, then writes them out in frame pixels. */
  private mergeAndScale(count: number): void {
    const b = this.boxes;
    let merged = true;
    while (merged) {
      merged = false;
      for (let i = 0; i < count && !merged; i++) {
        for (let j = i + 1; j < count; j++) {
          const i4 = i * 4;
          const j4 = j * 4;
          if (b[i4]! >= b[j4 + 2]! || b[j4]! >= b[i4 + 2]! || b[i4 + 1]! >= b[j4 + 3]! || b[j4 + 1]! >= b[i4 + 3]!) continue;
          b[i4] = Math.min(b[i4]!, b[j4]!);
          b[i4 + 1] = Math.min(b[i4 + 1]!, b[j4 + 1]!);
          b[i4 + 2] = Math.max(b[i4 + 2]!, b[j4 + 2]!);
          b[i4 + 3] = Math.max(b[i4 + 3]!, b[j4 + 3]!);
          b.copyWithin(j4, (count - 1) * 4, count * 4);
          count--;
          merged = true;
          break;
        }
      }
    }
    const sx = this.width / this.aw;
    const sy = this.height / this.ah;
    for (let i = 0; i < count; i++) {
      const x = Math.floor(b[i * 4]! * sx);
      const y = Math.floor(b[i * 4 + 1]! * sy);
      const x2 = Math.min(this.width, Math.ceil(b[i * 4 + 2]! * sx));
      const y2 = Math.min(this.height, Math.ceil(b[i * 4 + 3]! * sy));
      this.regions.push(this.region(x, y, x2 - x, y2 - y, i));
    }
  }

  private region(x: number, y: number, width: number, height: number, index: number): MotionRegion {
    const r = (this.pool[index] ??= { x: 0, y: 0, width: 0, height: 0 });
    r.x = x;
    r.y = y;
    r.width = width;
    r.height = height;
    return r;
  }
}
