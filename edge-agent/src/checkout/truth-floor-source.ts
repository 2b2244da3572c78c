/**
 * The simulator's true floor positions as the vision pipeline's output, for replaying a recording
 * made without video: checkout then meets shoppers the way the cameras would report them — a
 * detection missed now and then, positions a little off, a track ending a few seconds after the
 * shopper was last seen — while everything else (scales, gates, RFID) runs from the recording.
 * Track ids are the truth's shopper ids; staff are passed on like anyone else, as a camera would.
 */
import type { BusEvents } from '../bus.js';
import type { ReplaySource } from '../recording/replay-scheduler.js';
import { DetectorNoise, type DetectorNoiseOptions } from '../sim/detector-noise.js';
import type { TruthTrackPoint } from '../sim/ground-truth.js';
import { Random } from '../sim/random.js';
import type { ShopperTrack } from '../vision/store-tracks.js';

export interface TruthFloorOptions extends DetectorNoiseOptions {
  /** Seed of the misses and the noise. */
  seed: number;
  /** How long after its last point a shopper's track ends, like the tracker's timeout (default 3000 ms). */
  endAfterMs?: number;
}

/** Where the source's updates go: the agent's bus, or anything that takes `vision.shoppers`. */
export interface VisionShoppersSink {
  emit(event: 'vision.shoppers', payload: BusEvents['vision.shoppers']): void;
}

/** One delivery: the points of one timestamp, or the tracks ending at one time. */
interface Step {
  at: number;
  points: TruthTrackPoint[];
  ended: string[];
}

export class TruthFloorSource implements ReplaySource {
  readonly name = 'truth-floor';
  private readonly steps: Step[];
  private readonly detector: DetectorNoise;
  private next = 0;

  constructor(
    points: readonly TruthTrackPoint[],
    private readonly sink: VisionShoppersSink,
    options: TruthFloorOptions,
  ) {
    const endAfterMs = options.endAfterMs ?? 3_000;
    if (!(endAfterMs >= 0)) throw new RangeError(`endAfterMs must be ≥ 0, got ${endAfterMs}`);
    this.detector = new DetectorNoise(new Random(options.seed), options);
    const byTime = new Map<number, Step>();
    const lastAt = new Map<string, number>();
    for (const p of points) {
      let step = byTime.get(p.at);
      if (!step) byTime.set(p.at, (step = { at: p.at, points: [], ended: [] }));
      step.points.push(p);
      lastAt.set(p.shopper, Math.max(lastAt.get(p.shopper) ?? -Infinity, p.at));
    }
    const ends = new Map<number, Step>();
    for (const [shopper, at] of lastAt) {
      const endAt = at + endAfterMs;
      let step = ends.get(endAt);
      if (!step) ends.set(endAt, (step = { at: endAt, points: [], ended: [] }));
      step.ended.push(shopper);
    }
    // At one time, the points first: a track seen then ends after them, never before.
    this.steps = [...byTime.values(), ...ends.values()].sort((a, b) => a.at - b.at || b.points.length - a.points.length);
  }

  /** True points delivered so far, and those the pretend detector missed. */
  get observations(): number {
    return this.detector.observations;
  }

  get dropped(): number {
    return this.detector.dropped;
  }

  peek(): number | undefined {
    return this.steps[this.next]?.at;
  }

  skip(): void {
    this.next += 1;
  }

  deliver(): void {
    const step = this.steps[this.next++];
    if (!step) return;
    const tracks: ShopperTrack[] = [];
    for (const p of step.points) {
      const seen = this.detector.observe(p);
      if (seen) tracks.push(seen);
    }
    this.sink.emit('vision.shoppers', { at: step.at, tracks, ended: step.ended });
  }
}
