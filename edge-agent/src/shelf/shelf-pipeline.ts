import type { PlateCalibrationTable } from './plate-calibration.js';
import type { ShelfGramsSink, ShelfGramsTick, ShelfTick, ShelfTickSink } from './shelf-tick.js';

/**
 * Raw shelf ticks → calibrated grams → every consumer of grams (latest readings, weight-event
 * detection). One reused grams tick per shelf: nothing is allocated per sample.
 */
export function gramsPipeline(calibration: () => PlateCalibrationTable, consumers: readonly ShelfGramsSink[]): ShelfTickSink {
  const buffers = new Map<string, ShelfGramsTick>();
  return (tick: ShelfTick) => {
    let out = buffers.get(tick.shelf);
    if (!out || out.grams.length !== tick.raw.length) {
      out = { shelf: tick.shelf, at: 0, grams: new Float64Array(tick.raw.length) };
      buffers.set(tick.shelf, out);
    }
    calibration().toGrams(tick, out);
    for (const consumer of consumers) consumer(out);
  };
}
