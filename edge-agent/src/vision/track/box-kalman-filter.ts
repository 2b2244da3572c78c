/**
 * A constant-velocity Kalman filter on a person's box, the motion model of SORT and ByteTrack,
 * with time in seconds so that dropped frames and motion-gated pauses only lengthen a step.
 *
 * State: centre x, centre y, width, height and their rates (pixels, pixels per second). ByteTrack
 * filters the aspect ratio instead of the width; width is used here (as BoT-SORT does) because a
 * walking person's box width swings with the stride while the height hardly moves, and in an
 * (aspect, height) state an error in one leaks into the other. With a diagonal measurement noise
 * each of the four quantities is an independent two-state filter, so the covariance is three
 * numbers per quantity and every step is written out: no matrices, no allocation.
 *
 * Noise scales with the box height, the one size every detector gets roughly right: a box twice
 * as tall is a person twice as close, whose pixel jitter and pixel accelerations are twice as
 * large. Motion between steps is white-noise acceleration (process covariance q·[dt³/3, dt²/2;
 * dt²/2, dt] per quantity), which is what makes a 0.5 s step honestly less certain than a 0.1 s one.
 */
import type { BoxCorners } from '../detection.js';

export interface BoxKalmanNoise {
  /** Standard deviation of a detected box side, as a fraction of the box height. */
  measurement: number;
  /** Random acceleration of the box centre, √q in heights per second^1.5. */
  centreAcceleration: number;
  /** Random rate of change of width and height, √q in heights per second^1.5. */
  sizeAcceleration: number;
  /** Standard deviation of the centre velocity of a new track, heights per second. */
  initialCentreSpeed: number;
  /** Standard deviation of the size rates of a new track, heights per second. */
  initialSizeRate: number;
}

export const DEFAULT_BOX_KALMAN_NOISE: Readonly<BoxKalmanNoise> = Object.freeze({
  // ByteTrack's 1/20: detector boxes of a person wobble by a few percent of the height.
  measurement: 0.05,
  // A shopper turning or stopping changes speed by ~1 m/s within a second: ~0.6 heights/s²; q = 1
  // also equals ByteTrack's velocity noise (1/160 h per frame at 30 fps).
  centreAcceleration: 1,
  // Sizes change through perspective (walking towards the camera) and bending, slower than position.
  sizeAcceleration: 0.5,
  // Walking speed is ~0.8 heights/s (1.4 m/s for a 1.7 m person), direction unknown.
  initialCentreSpeed: 1,
  initialSizeRate: 0.3,
});


const CX = 0;
const CY = 1;
const W = 2;
const H = 3;
/** Smallest height used to scale noise, so a degenerate box cannot make the filter certain. */
const MIN_SCALE_PX = 4;

export class BoxKalmanFilter {
  /** cx, cy, w, h, then their rates per second. */
  readonly state = new Float64Array(8);
  /** Per quantity k: variance of the value (3k), covariance value–rate (3k+1), variance of the rate (3k+2). */
  readonly covariance = new Float64Array(12);
  private readonly noise: Readonly<BoxKalmanNoise>;

  constructor(noise: Readonly<BoxKalmanNoise> = DEFAULT_BOX_KALMAN_NOISE) {
    this.noise = noise;
  }

  get cx(): number {
    return this.state[CX]!;
  }
  get cy(): number {
    return this.state[CY]!;
  }
  /** Centre velocity, pixels per second. */
  get vx(): number {
    return this.state[4 + CX]!;
  }
  get vy(): number {
    return this.state[4 + CY]!;
  }

  private scale(): number {
    return Math.max(this.state[H]!, MIN_SCALE_PX);
  }

  /** Starts from one detection: its box, no motion, uncertainty from the noise settings. */
  initiate(box: BoxCorners): void {
    const s = this.state;
    s[CX] = (box.x1 + box.x2) / 2;
    s[CY] = (box.y1 + box.y2) / 2;
    s[W] = box.x2 - box.x1;
    s[H] = box.y2 - box.y1;
    s[4] = s[5] = s[6] = s[7] = 0;
    const h = this.scale();
    const n = this.noise;
    const pos = (2 * n.measurement * h) ** 2;
    for (let k = 0; k < 4; k++) {
      const rate = (k < W ? n.initialCentreSpeed : n.initialSizeRate) * h;
      this.covariance[3 * k] = pos;
      this.covariance[3 * k + 1] = 0;
      this.covariance[3 * k + 2] = rate * rate;
    }
  }

  /** Moves the estimate `dt` seconds on at constant velocity; a step of 0 or less does nothing. */
  predict(dt: number): void {
    if (!(dt > 0)) return;
    const s = this.state;
    const p = this.covariance;
    const h = this.scale();
    const dt2 = dt * dt;
    for (let k = 0; k < 4; k++) {
      const a = (k < W ? this.noise.centreAcceleration : this.noise.sizeAcceleration) * h;
      const q = a * a;
      const pp = p[3 * k]!;
      const pv = p[3 * k + 1]!;
      const vv = p[3 * k + 2]!;
      s[k] = s[k]! + s[4 + k]! * dt;
      p[3 * k] = pp + 2 * dt * pv + dt2 * vv + (q * dt2 * dt) / 3;
      p[3 * k + 1] = pv + dt * vv + (q * dt2) / 2;
      p[3 * k + 2] = vv + q * dt;
    }
    if (s[W]! < 1) s[W] = 1;
    if (s[H]! < 1) s[H] = 1;
  }

  /** Corrects the estimate with a detected box. */
  update(box: BoxCorners): void {
    const s = this.state;
    const p = this.covariance;
    const sd = this.noise.measurement * this.scale();
    const r = sd * sd;
    for (let k = 0; k < 4; k++) {
      const z = k === CX ? (box.x1 + box.x2) / 2 : k === CY ? (box.y1 + box.y2) / 2 : k === W ? box.x2 - box.x1 : box.y2 - box.y1;
      const pp = p[3 * k]!;
      const pv = p[3 * k + 1]!;
      const vv = p[3 * k + 2]!;
      const gainValue = pp / (pp + r);
      const gainRate = pv / (pp + r);
      const innovation = z - s[k]!;
      s[k] = s[k]! + gainValue * innovation;
      s[4 + k] = s[4 + k]! + gainRate * innovation;
      p[3 * k] = (1 - gainValue) * pp;
      p[3 * k + 1] = (1 - gainValue) * pv;
      p[3 * k + 2] = vv - gainRate * pv;
    }
  }

  /**
   * Stops the box growing or shrinking: while a person is unseen their size rate only extrapolates
   * detector noise (ByteTrack zeroes the height rate of lost tracks for the same reason).
   */
  freezeSize(): void {
    this.state[4 + W] = 0;
    this.state[4 + H] = 0;
  }

  /** Writes the current estimate as corners into `out`. */
  writeBox(out: BoxCorners): void {
    const s = this.state;
    const hw = s[W]! / 2;
    const hh = s[H]! / 2;
    out.x1 = s[CX]! - hw;
    out.y1 = s[CY]! - hh;
    out.x2 = s[CX]! + hw;
    out.y2 = s[CY]! + hh;
  }
}
