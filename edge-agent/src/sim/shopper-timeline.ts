/**
 * Where a shopper is at any instant of a visit, planned ahead as straight walks and stops, so
 * cameras, ground truth and other shoppers can ask for any time without stepping a simulation.
 */
import type { Vec2 } from './store-layout.js';
import type { ShopperAppearance, ShopperPose } from './world-snapshot.js';

export interface Movement {
  t0: number;
  t1: number;
  from: Vec2;
  to: Vec2;
  /** Facing direction while standing (radians); walking faces the direction of travel. */
  facing: number;
}

export interface Reach {
  plate: string;
  /** Arm starts moving out / is fully out / is back. */
  start: number;
  out: number;
  end: number;
}

/** Arm travel time out or back, ms. */
export const ARM_MS = 600;

export class ShopperTimeline {
  readonly moves: Movement[] = [];
  readonly reaches: Reach[] = [];
  /** Products in hand, as (time taken, time given up) spans. */
  readonly held: { product: string; from: number; to: number }[] = [];

  constructor(
    readonly id: string,
    readonly token: string,
    readonly party: string,
    readonly appearance: ShopperAppearance,
    readonly enterAt: number,
    start: Vec2,
  ) {
    this.cursor = { t: enterAt, at: start, facing: 0 };
  }

  private cursor: { t: number; at: Vec2; facing: number };

  get now(): number {
    return this.cursor.t;
  }

  get position(): Vec2 {
    return this.cursor.at;
  }

  get leaveAt(): number {
    return this.moves.length === 0 ? this.enterAt : this.moves[this.moves.length - 1]!.t1;
  }

  /** Walks through the waypoints at `speed` m/s. */
  walk(waypoints: readonly Vec2[], speed: number): void {
    for (const to of waypoints) {
      const from = this.cursor.at;
      const d = Math.hypot(to.x - from.x, to.y - from.y);
      if (d < 1e-6) continue;
      const t1 = this.cursor.t + (d / speed) * 1000;
      const facing = Math.atan2(to.y - from.y, to.x - from.x);
      this.moves.push({ t0: this.cursor.t, t1, from, to, facing });
      this.cursor = { t: t1, at: to, facing };
    }
  }

  /** Stands still for `ms`, facing `facing` (radians) when given. */
  stand(ms: number, facing?: number): void {
    const f = facing ?? this.cursor.facing;
    this.moves.push({ t0: this.cursor.t, t1: this.cursor.t + ms, from: this.cursor.at, to: this.cursor.at, facing: f });
    this.cursor = { ...this.cursor, t: this.cursor.t + ms, facing: f };
  }

  reach(plate: string, holdMs: number, facing: number): Reach {
    const start = this.cursor.t;
    const reach = { plate, start, out: start + ARM_MS, end: start + 2 * ARM_MS + holdMs };
    this.stand(reach.end - start, facing);
    this.reaches.push(reach);
    return reach;
  }

  take(product: string, at: number): void {
    this.held.push({ product, from: at, to: Infinity });
  }

  release(product: string, at: number): void {
    const item = this.held.find((h) => h.product === product && h.to === Infinity && h.from <= at);
    if (item) item.to = at;
  }

  positionAt(t: number): Vec2 | undefined {
    const m = this.moveAt(t);
    if (!m) return undefined;
    const span = m.t1 - m.t0;
    const f = span <= 0 ? 1 : Math.min(1, Math.max(0, (t - m.t0) / span));
    return { x: m.from.x + (m.to.x - m.from.x) * f, y: m.from.y + (m.to.y - m.from.y) * f };
  }

  poseAt(t: number): ShopperPose | undefined {
    const m = this.moveAt(t);
    if (!m) return undefined;
    const position = this.positionAt(t)!;
    const r = this.reaches.find((x) => t >= x.start && t < x.end);
    const pose: ShopperPose = {
      id: this.id,
      position,
      heading: m.facing,
      appearance: this.appearance,
      holding: this.held.filter((h) => h.from <= t && t < h.to).map((h) => h.product),
    };
    if (r) {
      const extension = t < r.out ? (t - r.start) / ARM_MS : t > r.end - ARM_MS ? (r.end - t) / ARM_MS : 1;
      pose.reach = { plate: r.plate, extension: Math.max(0, Math.min(1, extension)) };
      const taken = this.held.find((h) => h.from >= r.start && h.from <= t && t < h.to);
      if (taken) pose.reach.carrying = taken.product;
    }
    return pose;
  }

  private moveAt(t: number): Movement | undefined {
    if (this.moves.length === 0 || t < this.moves[0]!.t0 || t >= this.leaveAt) return undefined;
    let lo = 0;
    let hi = this.moves.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.moves[mid]!.t0 <= t) lo = mid;
      else hi = mid - 1;
    }
    return this.moves[lo];
  }
}
