import type { ProductConfig } from '../../../device-config/schema.js';

/** Whether a product can be recommended: a screen never shows what the shelf has run out of. */
export interface StockView {
  inStock(product: string): boolean;
}

/**
 * Out of stock as the plates see it: every plate the product rests on reads less than half a
 * unit. A plate without readings yet, or a product on no plate, is not known to be empty.
 */
export class PlateStockView implements StockView {
  private readonly products: ReadonlyMap<string, ProductConfig>;

  constructor(
    products: readonly ProductConfig[],
    private readonly gramsOn: (plate: string) => number | null,
  ) {
    this.products = new Map(products.map((p) => [p.id, p]));
  }

  inStock(product: string): boolean {
    const p = this.products.get(product);
    if (!p || p.plates.length === 0) return true;
    let grams = 0;
    for (const plate of p.plates) {
      const g = this.gramsOn(plate);
      if (g === null) return true;
      grams += Math.max(0, g);
    }
    return grams >= p.unitWeight / 2;
  }
}
