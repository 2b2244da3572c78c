import type { Random } from './random.js';
import type { Rgb, ShopperAppearance } from './world-snapshot.js';

const SHIRTS: Rgb[] = [
  [200, 40, 40], [40, 90, 200], [30, 150, 70], [230, 190, 40], [120, 50, 160], [240, 120, 30],
  [20, 20, 25], [235, 235, 235], [90, 170, 200], [200, 90, 150], [110, 80, 50], [130, 130, 140],
];
const TROUSERS: Rgb[] = [[30, 40, 70], [40, 40, 45], [110, 95, 70], [60, 60, 65], [150, 140, 120]];
const HAIR: Rgb[] = [[30, 25, 20], [80, 55, 30], [150, 110, 60], [200, 180, 120], [120, 120, 120], [60, 30, 20]];
const SKIN: Rgb[] = [[241, 194, 160], [224, 172, 130], [198, 134, 90], [141, 85, 36], [90, 60, 40]];

const jitter = (random: Random, c: Rgb, amount: number): Rgb =>
  c.map((v) => Math.max(0, Math.min(255, Math.round(v + random.normal(0, amount))))) as unknown as Rgb;

/** A shopper's look: distinct clothing colours are what lets cameras tell shoppers apart. */
export function randomAppearance(random: Random): ShopperAppearance {
  return {
    heightM: Math.min(1.95, Math.max(1.5, random.normal(1.72, 0.09))),
    shoulderM: Math.min(0.52, Math.max(0.36, random.normal(0.44, 0.03))),
    shirt: jitter(random, random.pick(SHIRTS), 12),
    trousers: jitter(random, random.pick(TROUSERS), 8),
    hair: jitter(random, random.pick(HAIR), 6),
    skin: jitter(random, random.pick(SKIN), 6),
    basket: random.chance(0.4),
  };
}
