import type { ProductConfig } from '../../../device-config/schema.js';

export interface PackageSize {
  widthM: number;
  heightM: number;
  depthM: number;
}

/**
 * A plausible package size from the catalogue weight: the simulator needs one to line units up
 * on a plate and the renderers to draw them. Denser categories (drinks) pack more grams per litre.
 */
export function packageSize(product: Pick<ProductConfig, 'unitWeight' | 'category'>): PackageSize {
  const density = product.category === 'drinks' ? 1.0 : product.category === 'pantry' ? 0.75 : 0.45; // g/cm³
  const litres = Math.max(0.02, product.unitWeight / density / 1000);
  // Upright packages: height about twice the width, depth about the width.
  const width = Math.cbrt(litres / 1000 / 2);
  return { widthM: round(width), heightM: round(2 * width), depthM: round(width) };
}

const round = (m: number) => Math.round(m * 1000) / 1000;
