/**
 * One camera's people tracker: ByteTrack (Zhang et al., ECCV 2022) on IoU with a Kalman motion
 * model, timed in seconds so it behaves the same at 5 or 15 fps and across dropped frames.
 *
 * Per frame the detections are split by score. Confident ones are matched first against every
 * confirmed and lost track (so a person seen again after an occlusion gets their id back); weak
 * ones are then matched only against confirmed tracks still unmatched — a half-hidden person
 * keeps their track alive, but a weak box alone never starts one. What remains of the confident
 * boxes first extends tentative tracks, then starts new ones. Every matching is a minimum-cost
 * assignment on 1 − IoU where a pair is allowed only above its IoU gate and leaving a track and a
 * box unmatched costs as much as the worst allowed pair (as in ByteTrack's `lapjv` with a cost
 * limit), so a good pair is never broken up to squeeze in a bad one.
 *
 * Frames the detector skipped because nothing moved (`detected: false`) hold everything as it
 * is: no prediction, no ageing, same output. The time they cover does not count towards a lost
 * track's buffer. When the frame says where things moved, a confirmed track outside every moving
 * region is held the same way if the detector misses it.
 *
 * `update()` returns what a live pipeline acts on: confirmed tracks matched on this frame with
 * their filtered box, and — for `outputLostSeconds` after their last match — lost tracks at their
 * predicted box, so a person the detector misses for a frame or two does not blink out of zones
 * and dwell counts. The array and its objects belong to the tracker and are rewritten by the next
 * `update()`/`reset()`: copy what must outlive the frame.
 */
import munkres from 'munkres';
import type { CameraTrack, TrackerFrame } from '../camera-track.js';
import { iou, type Detection } from '../detection.js';
import { BoxKalmanFilter, DEFAULT_BOX_KALMAN_NOISE, type BoxKalmanNoise } from './box-kalman-filter.js';

export interface ByteTrackerOptions {
  /** Detections at or above this score are confident: they are matched first and may start tracks. */
  highScore: number;
  /** Detections below this score are ignored; between the two they only keep tracks alive. */
  lowScore: number;
  /** Smallest score of an unmatched confident detection that starts a tentative track. */
  newTrackScore: number;
  /** Least IoU between a track's predicted box and a confident detection to match them. */
  matchIoU: number;
  /** Least IoU to match a weak detection: stricter, as weak boxes are often clutter. */
  lowMatchIoU: number;
  /** Least IoU to extend a tentative track, which has no velocity yet. */
  tentativeMatchIoU: number;
  /** Matches on consecutive detected frames before a tentative track is confirmed and output. */
  birthFrames: number;
  /** How long a confirmed track may go unmatched (detected frames only) before it is removed. */
  lostBufferSeconds: number;
  /** How long after its last match a lost track is still output at its predicted box; 0 never. */
  outputLostSeconds: number;
  kalman: BoxKalmanNoise;
}

export const DEFAULT_BYTE_TRACKER_OPTIONS: Readonly<ByteTrackerOptions> = Object.freeze({
  // ByteTrack's track_thresh: above it detectors are mostly right about people.
  highScore: 0.5,
  // ByteTrack's low bound: below 0.1 boxes are almost all background.
  lowScore: 0.1,
  // ByteTrack's det_thresh (high + 0.1): a new identity needs a little more evidence than a match.
  newTrackScore: 0.6,
  // ByteTrack's match_thresh 0.8 on 1 − IoU: at 5 fps a walking person moves ~1/3 of a box width
  // between frames, which the prediction mostly but not always absorbs.
  matchIoU: 0.2,
  // ByteTrack's second-stage gate.
  lowMatchIoU: 0.5,
  // ByteTrack's gate for unconfirmed tracks.
  tentativeMatchIoU: 0.3,
  // ByteTrack confirms on the second hit: most false boxes last one frame, and a third frame would
  // cost 0.4 s at 5 fps before a shopper appears.
  birthFrames: 2,
  // A shopper hidden behind another or a display for 1–2 s should come back with the same id;
  // beyond that constant-velocity prediction is a guess (ByteTrack keeps 30 frames at 30 fps: 1 s).
  lostBufferSeconds: 2,
  // Bridges a missed detection or two at 5–15 fps without showing a person who has left for long.
  outputLostSeconds: 0.3,
  kalman: Object.freeze({ ...DEFAULT_BOX_KALMAN_NOISE }),
});

const MAX_CACHED_MATRIX = 64;

class Track {
  readonly filter: BoxKalmanFilter;
  readonly view: CameraTrack;
  /** Detected-frame time since the last match, seconds. */
  unseenSeconds = 0;
  matched = true;
  /** Nothing moved over the track on this frame: it is held if unmatched. */
  still = false;

  constructor(id: number, det: Detection, at: number, noise: BoxKalmanNoise, confirmed: boolean) {
    this.filter = new BoxKalmanFilter(noise);
    this.filter.initiate(det);
    this.view = {
      id,
      box: { x1: det.x1, y1: det.y1, x2: det.x2, y2: det.y2 },
      score: det.score,
      state: confirmed ? 'confirmed' : 'tentative',
      firstSeenAt: at,
      lastSeenAt: at,
      hits: 1,
      vx: 0,
      vy: 0,
    };
  }

  hit(det: Detection, at: number): void {
    this.filter.update(det);
    this.unseenSeconds = 0;
    this.matched = true;
    const v = this.view;
    v.score = det.score;
    v.lastSeenAt = at;
    v.hits++;
    this.refresh();
  }

  refresh(): void {
    this.filter.writeBox(this.view.box);
    this.view.vx = this.filter.vx;
    this.view.vy = this.filter.vy;
  }
}

function usable(d: Detection): boolean {
  return Number.isFinite(d.x1) && Number.isFinite(d.y1) && Number.isFinite(d.x2) && Number.isFinite(d.y2) && d.x2 > d.x1 && d.y2 > d.y1 && Number.isFinite(d.score);
}

function overlapsAny(box: CameraTrack['box'], regions: readonly CameraTrack['box'][]): boolean {
  for (const r of regions) if (r.x1 < box.x2 && box.x1 < r.x2 && r.y1 < box.y2 && box.y1 < r.y2) return true;
  return false;
}

function checkOptions(o: ByteTrackerOptions): void {
  const problems: string[] = [];
  const unit = (name: keyof ByteTrackerOptions, v: number): void => {
    if (!(v >= 0 && v <= 1)) problems.push(`${name} must be in [0, 1], got ${v}`);
  };
  unit('highScore', o.highScore);
  unit('lowScore', o.lowScore);
  unit('newTrackScore', o.newTrackScore);
  unit('matchIoU', o.matchIoU);
  unit('lowMatchIoU', o.lowMatchIoU);
  unit('tentativeMatchIoU', o.tentativeMatchIoU);
  if (o.lowScore > o.highScore) problems.push(`lowScore (${o.lowScore}) must not exceed highScore (${o.highScore})`);
  if (!(Number.isInteger(o.birthFrames) && o.birthFrames >= 1)) problems.push(`birthFrames must be a whole number ≥ 1, got ${o.birthFrames}`);
  if (!(o.lostBufferSeconds >= 0 && Number.isFinite(o.lostBufferSeconds))) problems.push(`lostBufferSeconds must be ≥ 0, got ${o.lostBufferSeconds}`);
  if (!(o.outputLostSeconds >= 0 && Number.isFinite(o.outputLostSeconds))) problems.push(`outputLostSeconds must be ≥ 0, got ${o.outputLostSeconds}`);
  for (const [k, v] of Object.entries(o.kalman)) if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) problems.push(`kalman.${k} must be > 0, got ${String(v)}`);
  if (problems.length > 0) throw new RangeError(`invalid ByteTracker options: ${problems.join('; ')}`);
}

export class ByteTracker {
  readonly options: Readonly<ByteTrackerOptions>;
  private live: Track[] = [];
  private readonly output: CameraTrack[] = [];
  private readonly views: CameraTrack[] = [];
  private nextId = 1;
  private lastAt: number | undefined;
  /** Detections skipped for a non-finite or empty box or score, since construction. */
  unusableDetections = 0;
  // Scratch reused every frame.
  private readonly high: Detection[] = [];
  private readonly low: Detection[] = [];
  private readonly rows: Track[] = [];
  private readonly taken: boolean[] = [];
  private readonly matrices = new Map<number, Float64Array[]>();

  constructor(options: Partial<ByteTrackerOptions> = {}) {
    const merged = { ...DEFAULT_BYTE_TRACKER_OPTIONS, ...options, kalman: { ...DEFAULT_BYTE_TRACKER_OPTIONS.kalman, ...options.kalman } };
    checkOptions(merged);
    this.options = merged;
  }

  /** Advances to one frame. Frames must come in time order; a frame earlier than the last is taken as simultaneous. */
  update(frame: TrackerFrame): readonly CameraTrack[] {
    if (!Number.isFinite(frame.at)) throw new RangeError(`tracker frame time must be a finite number of ms, got ${frame.at}`);
    const dt = this.lastAt === undefined ? 0 : Math.max(0, (frame.at - this.lastAt) / 1000);
    this.lastAt = Math.max(frame.at, this.lastAt ?? -Infinity);
    if (!frame.detected) return this.output;

    const o = this.options;
    const at = frame.at;
    for (const t of this.live) {
      t.matched = false;
      t.still = t.view.state === 'confirmed' && frame.moving !== undefined && !overlapsAny(t.view.box, frame.moving);
      if (t.still) continue;
      if (t.view.state === 'lost') t.filter.freezeSize();
      t.filter.predict(dt);
      t.refresh();
      t.unseenSeconds += dt;
    }

    const high = this.high;
    const low = this.low;
    high.length = 0;
    low.length = 0;
    for (const d of frame.detections) {
      if (!usable(d)) {
        this.unusableDetections++;
        continue;
      }
      if (d.score >= o.highScore) high.push(d);
      else if (d.score >= o.lowScore) low.push(d);
    }

    const rows = this.rows;
    rows.length = 0;
    for (const t of this.live) if (t.view.state !== 'tentative') rows.push(t);
    this.associate(rows, high, o.matchIoU, at);

    rows.length = 0;
    for (const t of this.live) if (t.view.state === 'confirmed' && !t.matched) rows.push(t);
    this.associate(rows, low, o.lowMatchIoU, at);
    for (const t of rows) if (!t.matched && !t.still) t.view.state = 'lost';

    rows.length = 0;
    for (const t of this.live) if (t.view.state === 'tentative') rows.push(t);
    this.associate(rows, high, o.tentativeMatchIoU, at);

    let kept = 0;
    for (const t of this.live) {
      const v = t.view;
      if (v.state === 'tentative') {
        if (!t.matched) continue;
        if (v.hits >= o.birthFrames) v.state = 'confirmed';
      } else if (v.state === 'lost' && t.unseenSeconds > o.lostBufferSeconds) continue;
      this.live[kept++] = t;
    }
    this.live.length = kept;

    for (const d of high) {
      if (d.score < o.newTrackScore) continue;
      this.live.push(new Track(this.nextId++, d, at, o.kalman, o.birthFrames <= 1));
    }

    const out = this.output;
    out.length = 0;
    for (const t of this.live) {
      const v = t.view;
      if ((v.state === 'confirmed' && (t.matched || t.still)) || (v.state === 'lost' && t.unseenSeconds <= o.outputLostSeconds)) out.push(v);
    }
    return out;
  }

  /** Every track alive: tentative, confirmed and lost (lost ones at their predicted box). */
  tracks(): readonly CameraTrack[] {
    this.views.length = 0;
    for (const t of this.live) this.views.push(t.view);
    return this.views;
  }

  /** Forgets every track (e.g. the camera moved); ids keep increasing so they stay unique. */
  reset(): void {
    this.live = [];
    this.output.length = 0;
    this.views.length = 0;
    this.lastAt = undefined;
  }

  /**
   * Matches `tracks` with the detections in `dets` not yet taken (taken ones are removed from
   * `dets`). The square matrix is ByteTrack's extended cost: each track and each detection may
   * instead pair with a dummy at half the cost limit, so two unmatched cost the limit itself.
   */
  private associate(tracks: readonly Track[], dets: Detection[], minIoU: number, at: number): void {
    const n = tracks.length;
    const m = dets.length;
    if (n === 0 || m === 0) return;
    const limit = 1 - minIoU;
    const half = limit / 2;
    const size = n + m;
    const matrix = this.matrix(size);
    let any = false;
    for (let i = 0; i < size; i++) {
      const row = matrix[i]!;
      for (let j = 0; j < size; j++) {
        if (i < n && j < m) {
          const cost = 1 - iou(tracks[i]!.view.box, dets[j]!);
          if (cost <= limit) any = true;
          row[j] = cost <= limit ? cost : limit + 1;
        } else row[j] = i < n || j < m ? half : 0;
      }
    }
    if (!any) return;
    const taken = this.taken;
    taken.length = m;
    taken.fill(false);
    let matched = 0;
    for (const [i, j] of munkres(matrix)) {
      if (i >= n || j >= m || matrix[i]![j]! > limit) continue;
      const t = tracks[i]!;
      t.hit(dets[j]!, at);
      if (t.view.state === 'lost') t.view.state = 'confirmed';
      taken[j] = true;
      matched++;
    }
    if (matched === 0) return;
    let kept = 0;
    for (let j = 0; j < m; j++) if (!taken[j]) dets[kept++] = dets[j]!;
    dets.length = kept;
  }

  /** A size × size cost matrix, kept for reuse up to a crowd of ~30 people and boxes each. */
  private matrix(size: number): Float64Array[] {
    let rows = this.matrices.get(size);
    if (!rows) {
      rows = Array.from({ length: size }, () => new Float64Array(size));
      if (size <= MAX_CACHED_MATRIX) this.matrices.set(size, rows);
    }
    return rows;
  }
}
