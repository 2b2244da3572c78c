/**
 * What a people detector does to the simulator's true floor positions: it misses a shopper now
 * and then (never two frames running — the tracker would coast over one gap, and longer gaps are
 * a different failure) and places the others with some error. Evaluations that stand the truth
 * in for the vision pipeline share it, so they degrade the truth the same way.
 */
import type { ShopperTrack } from '../vision/store-tracks.js';
import type { TruthTrackPoint } from './ground-truth.js';
import type { Random } from './random.js';

export interface DetectorNoiseOptions {
  /** Share of observations dropped, each on its own (never two in a row for one shopper). */
  missRate: number;
  /** Standard deviation of the position noise added to each observation, metres. */
  noiseM: number;
}

export class DetectorNoise {
  /** True points seen so far, and those of them dropped. */
  observations = 0;
  dropped = 0;
  private readonly missedLast = new Set<string>();

  constructor(
    private readonly random: Random,
    private readonly options: DetectorNoiseOptions,
  ) {
    if (!(options.missRate >= 0 && options.missRate < 1) || !(options.noiseM >= 0)) {
      throw new RangeError(`missRate must be in [0, 1) and noiseM ≥ 0, got ${options.missRate} and ${options.noiseM}`);
    }
  }

  /** The track a detector reports for a true point, or undefined when it misses the shopper. */
  observe(p: TruthTrackPoint): ShopperTrack | undefined {
    this.observations += 1;
    if (!this.missedLast.has(p.shopper) && this.random.chance(this.options.missRate)) {
      this.missedLast.add(p.shopper);
      this.dropped += 1;
      return undefined;
    }
    this.missedLast.delete(p.shopper);
    return observedTrack(p, this.random, this.options.noiseM);
  }
}

/** A true point as one store track seen by a (pretend) camera, its position off by noise. */
function observedTrack(p: TruthTrackPoint, random: Random, noiseM: number): ShopperTrack {
  const x = noiseM > 0 ? p.x + random.normal(0, noiseM) : p.x;
  const y = noiseM > 0 ? p.y + random.normal(0, noiseM) : p.y;
  return { id: p.shopper, x, y, vx: 0, vy: 0, at: p.at, firstSeenAt: p.at, sources: [{ camera: 'truth', trackId: 0 }] };
}
