import type { Detection } from '../detection.js';

/**
 * The boxes a decoder proposes for one frame, kept as parallel typed arrays that live as long as
 * the detector: a frame allocates nothing here unless it has more candidates than any before it.
 */
export class CandidateBoxes {
  count = 0;
  x1: Float32Array;
  y1: Float32Array;
  x2: Float32Array;
  y2: Float32Array;
  score: Float32Array;
  classId: Int32Array;

  constructor(capacity = 256) {
    const n = Math.max(1, Math.floor(capacity));
    this.x1 = new Float32Array(n);
    this.y1 = new Float32Array(n);
    this.x2 = new Float32Array(n);
    this.y2 = new Float32Array(n);
    this.score = new Float32Array(n);
    this.classId = new Int32Array(n);
  }

  get capacity(): number {
    return this.score.length;
  }

  clear(): void {
    this.count = 0;
  }

  push(x1: number, y1: number, x2: number, y2: number, score: number, classId: number): void {
    if (this.count === this.score.length) this.grow();
    const i = this.count++;
    this.x1[i] = x1;
    this.y1[i] = y1;
    this.x2[i] = x2;
    this.y2[i] = y2;
    this.score[i] = score;
    this.classId[i] = classId;
  }

  /** Candidate `i` as a detection, still in the coordinates the decoder wrote (model-input pixels). */
  toDetection(i: number): Detection {
    if (!(i >= 0 && i < this.count)) throw new RangeError(`candidate ${i} out of range (0..${this.count - 1})`);
    return { x1: this.x1[i]!, y1: this.y1[i]!, x2: this.x2[i]!, y2: this.y2[i]!, score: this.score[i]!, classId: this.classId[i]! };
  }

  private grow(): void {
    const n = this.score.length * 2;
    this.x1 = grown(this.x1, n);
    this.y1 = grown(this.y1, n);
    this.x2 = grown(this.x2, n);
    this.y2 = grown(this.y2, n);
    this.score = grown(this.score, n);
    const classId = new Int32Array(n);
    classId.set(this.classId);
    this.classId = classId;
  }
}

function grown(a: Float32Array, n: number): Float32Array {
  const b = new Float32Array(n);
  b.set(a);
  return b;
}

/**
 * Greedy non-maximum suppression per class: the best-scoring box of a class suppresses every box
 * of the same class that overlaps it by more than the IoU threshold; boxes of different classes
 * never suppress each other. Scratch arrays are kept between frames.
 */
export class ClassAwareNms {
  private order = new Int32Array(256);
  private suppressed = new Uint8Array(256);
  private readonly kept: number[] = [];

  /**
   * Indices into `boxes` of the kept candidates, best score first, at most `maxDetections`.
   * The returned array is reused by the next call.
   */
  select(boxes: CandidateBoxes, iouThreshold: number, maxDetections: number): readonly number[] {
    const n = boxes.count;
    const kept = this.kept;
    kept.length = 0;
    if (n === 0 || maxDetections <= 0) return kept;
    if (this.order.length < n) {
      this.order = new Int32Array(boxes.capacity);
      this.suppressed = new Uint8Array(boxes.capacity);
    }
    const { x1, y1, x2, y2, score, classId } = boxes;
    const order = this.order.subarray(0, n);
    for (let i = 0; i < n; i++) order[i] = i;
    // Ties keep decoder order so that results do not depend on the sort's stability.
    order.sort((a, b) => score[b]! - score[a]! || a - b);
    const suppressed = this.suppressed;
    suppressed.fill(0, 0, n);

    for (let oi = 0; oi < n && kept.length < maxDetections; oi++) {
      const i = order[oi]!;
      if (suppressed[i] === 1) continue;
      kept.push(i);
      const ax1 = x1[i]!;
      const ay1 = y1[i]!;
      const ax2 = x2[i]!;
      const ay2 = y2[i]!;
      const areaA = (ax2 - ax1) * (ay2 - ay1);
      const cls = classId[i]!;
      for (let oj = oi + 1; oj < n; oj++) {
        const j = order[oj]!;
        if (suppressed[j] === 1 || classId[j] !== cls) continue;
        const iw = Math.min(ax2, x2[j]!) - Math.max(ax1, x1[j]!);
        if (iw <= 0) continue;
        const ih = Math.min(ay2, y2[j]!) - Math.max(ay1, y1[j]!);
        if (ih <= 0) continue;
        const inter = iw * ih;
        const union = areaA + (x2[j]! - x1[j]!) * (y2[j]! - y1[j]!) - inter;
        if (union > 0 && inter / union > iouThreshold) suppressed[j] = 1;
      }
    }
    return kept;
  }
}
