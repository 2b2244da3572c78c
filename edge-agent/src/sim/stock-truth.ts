/**
 * Ground truth of the stock on the shelves: units per facing (a product on a plate) at the start
 * of the day, at every change and every 10 s, and the faults a stock monitor should raise.
 */
import type { ProductConfig } from '../../../device-config/schema.js';
import type { TruthStock, TruthStockFault } from './ground-truth.js';
import { facingKey, type ShelfStock } from './shelf-stock.js';

export const STOCK_SNAPSHOT_MS = 10_000;

export interface StockTruthSink {
  stock(line: TruthStock): void;
  fault(fault: TruthStockFault): void;
}

export class StockTruth {
  private last = new Map<string, number>();
  /** Facings with any weight of their product on the plate, as of the last change. */
  private carrying = new Set<string>();
  private readonly planned: Set<string>;
  private readonly ownPlates: Map<string, ReadonlySet<string>>;

  constructor(
    private readonly stock: ShelfStock,
    products: readonly ProductConfig[],
    private readonly out: StockTruthSink,
  ) {
    this.planned = new Set(stock.plannedFacings().map((f) => facingKey(f.plate, f.product)));
    this.ownPlates = new Map(products.map((p) => [p.id, new Set(p.plates)]));
  }

  /** Every facing as the day starts; a facing that starts empty is out of stock from the first instant. */
  start(at: number): void {
    this.snapshot(at);
    this.carrying = this.stock.facingsCarrying();
    for (const key of sorted(this.planned)) {
      if (this.carrying.has(key)) continue;
      const [plate, product] = split(key);
      this.out.fault({ at, kind: 'out-of-stock', plate, product, detail: 'empty at the start of the day' });
    }
  }

  /** Every facing, and every plate holding units of a product that does not belong there. */
  snapshot(at: number): void {
    this.last = this.stock.facingUnits();
    for (const key of sorted(this.last.keys())) {
      const units = this.last.get(key)!;
      if (units === 0 && !this.planned.has(key)) continue;
      const [plate, product] = split(key);
      this.out.stock({ at, plate, product, units });
    }
  }

  /** After units left or reached the shelves at `at`: a line per facing whose count changed. */
  changed(at: number, cause: NonNullable<TruthStock['cause']>, settleAt: number, by: string): void {
    const now = this.stock.facingUnits();
    const keys = new Set([...this.last.keys(), ...now.keys()]);
    for (const key of sorted(keys)) {
      const before = this.last.get(key) ?? 0;
      const units = now.get(key) ?? 0;
      if (units === before) continue;
      const [plate, product] = split(key);
      this.out.stock({ at, plate, product, units, cause });
    }
    this.last = now;
    // Out of stock: nothing of the product left on its plate. Units counted on the next plate may
    // still lie across the seam; a plate carrying them is not empty to anyone looking at it.
    const carrying = this.stock.facingsCarrying();
    for (const key of sorted(this.planned)) {
      if (carrying.has(key) || !this.carrying.has(key)) continue;
      const [plate, product] = split(key);
      this.out.fault({ at: settleAt, kind: 'out-of-stock', plate, product, detail: `last unit taken by ${by}` });
    }
    this.carrying = carrying;
  }

  /** A unit was put down on `plate`: a fault when its product does not belong there. */
  placed(plate: string | undefined, product: string, settleAt: number, by: string): void {
    if (plate === undefined || this.ownPlates.get(product)?.has(plate)) return;
    this.out.fault({ at: settleAt, kind: 'misplaced', plate, product, detail: `put there by ${by}` });
  }
}

function split(key: string): [string, string] {
  const i = key.indexOf('|');
  return [key.slice(0, i), key.slice(i + 1)];
}

function sorted(keys: Iterable<string>): string[] {
  return [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
