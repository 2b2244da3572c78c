import type { StoreLayout } from '../sim/store-layout.js';
import type { ShelfGramsTick } from './shelf-tick.js';

export interface PlateReading {
  plate: string;
  grams: number | null;
  at: number | null;
}

/**
 * The latest calibrated reading of every plate, for the health view and the admin page. Updating
 * it is two typed-array writes per plate: it sits on the 60 Hz sample path.
 */
export class ShelfReadings {
  private readonly index = new Map<string, { offset: number; plates: string[] }>();
  private readonly plateOffset = new Map<string, number>();
  private readonly grams: Float64Array;
  private readonly at: Float64Array;

  constructor(layout: StoreLayout) {
    let offset = 0;
    for (const shelf of layout.shelves.values()) {
      this.index.set(shelf.key, { offset, plates: shelf.plates.map((p) => p.key) });
      shelf.plates.forEach((p, i) => this.plateOffset.set(p.key, offset + i));
      offset += shelf.plates.length;
    }
    this.grams = new Float64Array(offset).fill(NaN);
    this.at = new Float64Array(offset).fill(NaN);
  }

  readonly sink = (tick: ShelfGramsTick): void => {
    const entry = this.index.get(tick.shelf);
    if (!entry) return;
    const n = Math.min(entry.plates.length, tick.grams.length);
    for (let i = 0; i < n; i++) {
      const g = tick.grams[i]!;
      if (Number.isNaN(g)) continue;
      this.grams[entry.offset + i] = g;
      this.at[entry.offset + i] = tick.at;
    }
  };

  /** The latest calibrated grams on a plate, null before its first reading. */
  gramsOn(plate: string): number | null {
    const offset = this.plateOffset.get(plate);
    if (offset === undefined) return null;
    const g = this.grams[offset]!;
    return Number.isNaN(g) ? null : g;
  }

  snapshot(): PlateReading[] {
    const out: PlateReading[] = [];
    for (const { offset, plates } of this.index.values()) {
      plates.forEach((plate, i) => {
        const g = this.grams[offset + i]!;
        const t = this.at[offset + i]!;
        out.push({ plate, grams: Number.isNaN(g) ? null : Math.round(g * 10) / 10, at: Number.isNaN(t) ? null : t });
      });
    }
    return out;
  }
}
