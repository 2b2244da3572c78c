import type { StoreConfig } from '../../../device-config/schema.js';
import type { EventBus } from '../bus.js';
import type { StoreDatabase } from '../db/database.js';
import { WeightEventRepository } from '../db/repositories/weight-events.js';
import { describeError } from '../errors.js';
import type { Component, ComponentHealth } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { StoreLayout } from '../sim/store-layout.js';
import { ItemInference } from './item-inference.js';
import type { ShelfGramsTick } from './shelf-tick.js';
import { DEFAULT_DETECTOR_SETTINGS, WeightEventDetector, type DetectedChange, type DetectorSettings } from './weight-event-detector.js';
import type { WeightEvent } from './weight-event.js';

const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Plates holding the same products form one facing; the name is those products' ids. */
export function facingsByPlate(config: StoreConfig): Map<string, string> {
  const products = new Map<string, string[]>();
  for (const p of config.planogram.products) for (const plate of p.plates) products.set(plate, [...(products.get(plate) ?? []), p.id]);
  return new Map([...products].map(([plate, ids]) => [plate, ids.sort().join('+')]));
}

/**
 * Weight-event detection for every shelf: calibrated readings in, stored `WeightEvent` facts out,
 * each announced on the bus only after it is in the database.
 */
export class ShelfMonitor implements Component {
  readonly name = 'shelf-monitor';
  readonly dependsOn = ['database'] as const;
  private readonly detectors = new Map<string, WeightEventDetector>();
  private readonly inference: ItemInference;
  private repo: WeightEventRepository | undefined;
  /** Products left on plates they do not belong to (plate → product ids), from misplaced returns. */
  private readonly strays = new Map<string, string[]>();
  private events = 0;
  private storeFailures = 0;
  private lastAt = 0;

  constructor(
    private readonly layout: StoreLayout,
    config: StoreConfig,
    private readonly database: StoreDatabase,
    private readonly bus: EventBus,
    private readonly log: Logger,
    settings: DetectorSettings = DEFAULT_DETECTOR_SETTINGS,
  ) {
    this.inference = new ItemInference(config.planogram.products);
    const facings = facingsByPlate(config);
    for (const shelf of layout.shelves.values()) {
      const names = shelf.plates.map((p) => facings.get(p.key) ?? `empty:${p.key}`);
      this.detectors.set(shelf.key, new WeightEventDetector(shelf.key, names, (c) => this.onChange(c), settings));
    }
  }

  /** The grams consumer to wire after calibration. */
  readonly sink = (tick: ShelfGramsTick): void => {
    this.lastAt = tick.at;
    this.detectors.get(tick.shelf)?.push(tick);
  };

  async start(): Promise<void> {
    this.repo = new WeightEventRepository(this.database.handle);
  }

  /** Events still open when the agent stops are closed and flagged, so nothing seen is lost. */
  async stop(): Promise<void> {
    for (const d of this.detectors.values()) d.flush(this.lastAt);
    this.repo = undefined;
  }

  /** Each plate's current noise estimate (grams, one sigma) by plate index. */
  noise(shelf: string): readonly number[] | undefined {
    return this.detectors.get(shelf)?.noise;
  }

  /** Whether a weight change on the shelf is still unfinished (its plates are not settled). */
  isBusy(shelf: string): boolean {
    return this.detectors.get(shelf)?.busy ?? false;
  }

  health(): ComponentHealth {
    return {
      status: this.storeFailures > 0 ? 'degraded' : 'up',
      ...(this.storeFailures > 0 ? { detail: `${this.storeFailures} weight events could not be stored` } : {}),
      events: this.events,
      busyShelves: [...this.detectors.values()].filter((d) => d.busy).map((d) => d.shelf),
      noise: Object.fromEntries([...this.detectors].map(([shelf, d]) => [shelf, d.noise.map((n) => round(n, 2))])),
    };
  }

  /** Remembers misplaced returns so a later pick of that item from there is understood. */
  private trackStrays(plates: string[], candidates: WeightEvent['candidates'], delta: number): void {
    const top = candidates[0];
    if (!top?.product || !top.misplaced || top.probability < 0.5) return;
    if (delta > 0) {
      const plate = plates[0]!;
      this.strays.set(plate, [...(this.strays.get(plate) ?? []), ...Array<string>(top.count).fill(top.product)]);
      return;
    }
    for (const plate of plates) {
      const here = this.strays.get(plate);
      const i = here?.indexOf(top.product) ?? -1;
      if (here && i >= 0) {
        here.splice(i, 1);
        if (here.length === 0) this.strays.delete(plate);
        return;
      }
    }
  }

  private onChange(change: DetectedChange): void {
    const shelf = this.layout.shelves.get(change.shelf)!;
    const perPlate: Record<string, number> = {};
    const plates: string[] = [];
    change.plateIndexes.forEach((index, k) => {
      const plate = shelf.plates[index]!.key;
      const d = change.plateDeltas[k]!;
      perPlate[plate] = Number.isNaN(d) ? NaN : round(d);
      if (Math.abs(d) >= DEFAULT_DETECTOR_SETTINGS.plateChangeGrams) plates.push(plate);
    });
    if (plates.length === 0) {
      // The change is spread thin over several plates: list the ones that carry it.
      const largest = change.plateIndexes.map((index, k) => ({ plate: shelf.plates[index]!.key, d: Math.abs(change.plateDeltas[k]!) })).filter((x) => !Number.isNaN(x.d));
      plates.push(...largest.sort((a, b) => b.d - a.d).slice(0, 2).map((x) => x.plate));
    }
    const kind = change.deltaGrams < 0 ? 'pick' : 'return';
    const candidates = this.inference.explain({ perPlate, deltaGrams: change.deltaGrams, noiseSigma: change.noiseSigma, strays: this.strays });
    this.trackStrays(plates, candidates, change.deltaGrams);
    const event = {
      shelf: change.shelf,
      plates,
      tStart: change.tStart,
      tEnd: change.tEnd,
      deltaGrams: round(change.deltaGrams),
      perPlate: Object.fromEntries(Object.entries(perPlate).map(([k, v]) => [k, Number.isNaN(v) ? null : v])) as Record<string, number>,
      noiseSigma: round(change.noiseSigma, 2),
      kind,
      candidates,
      flags: change.flags,
    } satisfies Omit<WeightEvent, 'id'>;
    let stored: WeightEvent;
    try {
      if (!this.repo) throw new Error('the database is not open');
      stored = this.repo.record(event);
    } catch (err) {
      this.storeFailures += 1;
      this.log.error({ err: describeError(err), shelf: event.shelf }, 'weight event not stored; not announced');
      return;
    }
    this.events += 1;
    this.bus.emit('shelf.weight-event', stored);
  }
}
