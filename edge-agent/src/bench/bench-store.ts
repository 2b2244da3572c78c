import type { StoreConfig } from '../../../device-config/schema.js';
import { validateConfig } from '../../../device-config/validate.js';

/** GTIN-13 with a valid check digit from a 12-digit body. */
function gtin13(body: string): string {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(body[i]) * (i % 2 === 0 ? 1 : 3);
  return body + String((10 - (sum % 10)) % 10);
}

/**
 * A large store for benchmarks: `gondolas` × 6 shelves × 6 plates (10 gondolas = 360 plates),
 * a product on every pair of plates, every shelf on its own simulated controller.
 */
export function benchStore(gondolas: number): StoreConfig {
  const products: StoreConfig['planogram']['products'] = [];
  const rows = Math.ceil(gondolas / 2);
  const config = {
    version: 1,
    store: { id: 'bench', name: 'Benchmark store', floor: { widthM: 4 + 5 * 2, depthM: 2 + rows * 3 } },
    gondolas: Array.from({ length: gondolas }, (_, g) => ({
      id: g + 1,
      position: { x: 2 + (g % 2) * 5, y: 2.6 + Math.floor(g / 2) * 3, widthM: 3, depthM: 0.6, rotationDeg: 0 },
      shelves: Array.from({ length: 6 }, (_, s) => ({
        id: s + 1,
        heightM: 0.2 + 0.3 * s,
        device: `sim://shelf-${g + 1}.${s + 1}`,
        plates: Array.from({ length: 6 }, (_, p) => ({ id: p + 1, widthM: 0.5 })),
      })),
    })),
    planogram: { products },
  };
  let n = 0;
  for (let g = 1; g <= gondolas; g++) {
    for (let s = 1; s <= 6; s++) {
      for (let p = 1; p <= 6; p += 2) {
        n += 1;
        const weight = 30 + ((n * 137) % 1500);
        products.push({
          id: `bench-${n}`,
          name: `Bench product ${n}`,
          gtin: gtin13(`400000${String(n).padStart(6, '0')}`),
          unitWeight: weight,
          weightTolerance: Math.max(1, weight * 0.01),
          price: 100 + n,
          plates: [`${g}.${s}.${p}`, `${g}.${s}.${p + 1}`],
          rfidTagged: false,
          category: 'snacks',
        });
      }
    }
  }
  const result = validateConfig(config);
  if (!result.ok) throw new Error(`benchmark store is invalid: ${JSON.stringify(result.errors.slice(0, 3))}`);
  return result.config;
}
