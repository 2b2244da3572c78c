import type { PlateCalibration } from '../db/repositories/plate-calibrations.js';
import type { StoreLayout } from '../sim/store-layout.js';
import type { ShelfGramsTick, ShelfTick, ShelfTickSink } from './shelf-tick.js';

interface ShelfCalibration {
  /** By plate index; NaN where the plate has no calibration, which makes its grams NaN. */
  zero: Float64Array;
  gramsPerCount: Float64Array;
}

/**
 * The calibrations in force, laid out per shelf in sample-line order so that converting a tick
 * to grams is one pass over typed arrays.
 */
export class PlateCalibrationTable {
  private readonly shelves = new Map<string, ShelfCalibration>();
  /** Plates of the layout without a calibration ("G.S.P"). */
  readonly uncalibrated: string[] = [];
  /** Calibrations for plates the layout does not have (a removed plate, a typo in a file). */
  readonly unknownPlates: string[] = [];
  /** Ticks of shelves the layout does not have. */
  unknownShelfTicks = 0;

  constructor(
    layout: StoreLayout,
    latest: ReadonlyMap<string, PlateCalibration>,
    /** Sees every raw tick before conversion (calibrating a plate on the running agent). */
    private readonly rawTap?: ShelfTickSink,
  ) {
    for (const shelf of layout.shelves.values()) {
      const size = shelf.plates.reduce((max, p) => Math.max(max, p.index + 1), 0);
      const entry: ShelfCalibration = { zero: new Float64Array(size).fill(NaN), gramsPerCount: new Float64Array(size).fill(NaN) };
      for (const plate of shelf.plates) {
        const c = latest.get(plate.key);
        if (!c) {
          this.uncalibrated.push(plate.key);
          continue;
        }
        entry.zero[plate.index] = c.zeroCounts;
        entry.gramsPerCount[plate.index] = 1 / c.countsPerGram;
      }
      this.shelves.set(shelf.key, entry);
    }
    for (const plate of latest.keys()) if (!layout.plates.has(plate)) this.unknownPlates.push(plate);
  }

  /** Fills `out` with grams by plate index: NaN for invalid readings and uncalibrated plates. */
  toGrams(tick: ShelfTick, out: ShelfGramsTick): void {
    this.rawTap?.(tick);
    out.shelf = tick.shelf;
    out.at = tick.at;
    const grams = out.grams;
    const shelf = this.shelves.get(tick.shelf);
    if (!shelf) {
      this.unknownShelfTicks += 1;
      grams.fill(NaN);
      return;
    }
    const n = Math.min(grams.length, tick.raw.length, shelf.zero.length);
    for (let i = 0; i < n; i++) {
      grams[i] = tick.valid[i] ? (tick.raw[i]! - shelf.zero[i]!) * shelf.gramsPerCount[i]! : NaN;
    }
    if (n < grams.length) grams.fill(NaN, n);
  }
}
