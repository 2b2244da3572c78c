/**
 * One sampling instant of a shelf: every plate read together, as a shelf controller sends them.
 * The hot path of the shelf: objects and arrays are reused from tick to tick, so a consumer
 * copies whatever it keeps beyond the call.
 */
export interface ShelfTick {
  /** "G.S" */
  shelf: string;
  /** Store time of the sample (ms since the epoch). */
  at: number;
  /** Controller's own clock in ms (wraps at 2^32), when the source has one. */
  deviceTs: number;
  /** Controller's sequence number (wraps at 2^16), when the source has one; gaps are dropped ticks. */
  seq: number;
  /** Raw ADC counts by plate index (plate n at n-1); meaningless where `valid` is 0. */
  raw: Int32Array;
  valid: Uint8Array;
}

export type ShelfTickSink = (tick: ShelfTick) => void;

/** The same instant converted to grams (calibrated), the input of weight-event detection. */
export interface ShelfGramsTick {
  shelf: string;
  at: number;
  /** Grams by plate index; NaN where a plate has no valid reading or no calibration. */
  grams: Float64Array;
}

export type ShelfGramsSink = (tick: ShelfGramsTick) => void;
