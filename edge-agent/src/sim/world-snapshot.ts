/**
 * What the simulated world looks like at one instant: the renderers draw camera frames from it,
 * and the ground-truth writers record it. Everything here is true state, never a sensor reading.
 */
import type { Vec2 } from './store-layout.js';

export type Rgb = readonly [number, number, number];

export interface ShopperAppearance {
  /** Standing height in metres (1.5–1.95). */
  heightM: number;
  /** Shoulder width in metres. */
  shoulderM: number;
  shirt: Rgb;
  trousers: Rgb;
  hair: Rgb;
  skin: Rgb;
  /** Carries a basket (drawn beside the hip). */
  basket: boolean;
}

export interface ShopperPose {
  /** Stable anonymous id, e.g. "s0007". */
  id: string;
  position: Vec2;
  /** Direction the shopper faces, radians, 0 = +x, π/2 = +y. */
  heading: number;
  appearance: ShopperAppearance;
  /**
   * Set while a hand is at a shelf: the plate reached, how far the arm is out (0–1), and the
   * product in the hand once it has been taken off the shelf.
   */
  reach?: { plate: string; extension: number; carrying?: string };
  /** Product ids in hand or basket, for shelf-camera rendering of what was taken. */
  holding: readonly string[];
}

/** One unit of product resting on a shelf, for the shelf camera. */
export interface ShelfUnit {
  product: string;
  shelf: string;
  /** Offset of the unit's centre along the gondola front, metres from its left end. */
  u: number;
  /** How far back from the front edge (metres): units hide the ones behind them. */
  depth: number;
  /** Package size in metres. */
  widthM: number;
  heightM: number;
}

export interface WorldSnapshot {
  /** Store time, ms since the epoch. */
  at: number;
  shoppers: readonly ShopperPose[];
  /** Units currently on shelves, in a stable order. */
  units: readonly ShelfUnit[];
  /** Multiplier on scene brightness (lighting flicker and dimming), around 1. */
  light: number;
}
