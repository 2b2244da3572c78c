/**
 * Tare and span of one load-cell plate from a known mass: the empty plate's reading (zero) and the
 * reading with the reference mass on it give counts per gram. Each reading is the mean of a still
 * stretch of samples; a plate that will not keep still is refused rather than calibrated badly.
 */
import type { ShelfTick } from '../edge-agent/src/shelf/shelf-tick.js';

export interface StillReading {
  counts: number;
  /** Standard deviation of the samples, in counts. */
  spread: number;
  samples: number;
}

export class CalibrationError extends Error {
  override readonly name = 'CalibrationError';
}

/** Collects one plate's raw counts from shelf ticks. */
export class PlateSampler {
  private values: number[] = [];
  private invalid = 0;

  constructor(readonly plateIndex: number) {}

  readonly sink = (tick: ShelfTick): void => {
    if (this.plateIndex >= tick.raw.length || !tick.valid[this.plateIndex]) {
      this.invalid += 1;
      return;
    }
    this.values.push(tick.raw[this.plateIndex]!);
  };

  reset(): void {
    this.values = [];
    this.invalid = 0;
  }

  get count(): number {
    return this.values.length;
  }

  get invalidCount(): number {
    return this.invalid;
  }

  /** Mean and spread of what was collected since `reset()`. */
  reading(): StillReading {
    const n = this.values.length;
    if (n === 0) throw new CalibrationError('no readings from the plate (is the shelf controller connected and the plate working?)');
    const mean = this.values.reduce((a, b) => a + b, 0) / n;
    const variance = n > 1 ? this.values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
    return { counts: mean, spread: Math.sqrt(variance), samples: n };
  }
}

export interface PlateCalibrationResult {
  zeroCounts: number;
  countsPerGram: number;
  knownMassGrams: number;
  /** Noise of the two readings expressed in grams. */
  zeroNoiseGrams: number;
  loadedNoiseGrams: number;
}

/** Largest noise (grams, one sigma) accepted in a calibration reading. */
export const MAX_CALIBRATION_NOISE_GRAMS = 5;
/** A reference mass must move the reading by at least this many counts to be told from noise. */
const MIN_SPAN_COUNTS = 1_000;

export function computeCalibration(zero: StillReading, loaded: StillReading, knownMassGrams: number): PlateCalibrationResult {
  if (!(knownMassGrams > 0)) throw new CalibrationError('the known mass must be more than 0 g');
  const delta = loaded.counts - zero.counts;
  if (Math.abs(delta) < Math.max(MIN_SPAN_COUNTS, 20 * Math.max(zero.spread, loaded.spread))) {
    throw new CalibrationError(
      `the reading hardly changed with ${knownMassGrams} g on the plate (${delta.toFixed(0)} counts): is the mass on the right plate?`,
    );
  }
  const countsPerGram = delta / knownMassGrams;
  const zeroNoiseGrams = zero.spread / Math.abs(countsPerGram);
  const loadedNoiseGrams = loaded.spread / Math.abs(countsPerGram);
  if (zeroNoiseGrams > MAX_CALIBRATION_NOISE_GRAMS || loadedNoiseGrams > MAX_CALIBRATION_NOISE_GRAMS) {
    throw new CalibrationError(
      `the plate was not still (noise ${zeroNoiseGrams.toFixed(1)} g empty, ${loadedNoiseGrams.toFixed(1)} g loaded; at most ${MAX_CALIBRATION_NOISE_GRAMS} g): keep hands off the shelf and measure again`,
    );
  }
  return { zeroCounts: zero.counts, countsPerGram, knownMassGrams, zeroNoiseGrams, loadedNoiseGrams };
}
