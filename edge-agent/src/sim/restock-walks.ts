/**
 * Staff restocking a facing: out of the back room with a crate and a badge tag, to the shelf
 * front of a facing running low, a few units put on its plates per reach until it is full again,
 * and back. Planned as a timeline when the walk starts; the world puts the units when each reach
 * comes.
 */
import { randomAppearance } from './appearance.js';
import type { FloorPaths } from './floor-paths.js';
import type { Random } from './random.js';
import { facingKey, type ShelfStock } from './shelf-stock.js';
import { ShopperTimeline } from './shopper-timeline.js';
import { REACH_STAND_OFF_M, type PlateLayout, type StoreLayout, type Vec2 } from './store-layout.js';
import { busyUntil, onGondola } from './visit-planner.js';

/** EPC prefix of the simulator's staff badges when the store configures none (`analytics.staffBadges`). */
export const SIM_STAFF_BADGE_PREFIX = 'E2801190';

export interface RestockTarget {
  plate: string;
  product: string;
  shelf: string;
  units: number;
  full: number;
}

export interface RestockReach {
  contactAt: number;
  liftAt: number;
  settleAt: number;
  /** Units this reach means to put (fewer when the facing filled up meanwhile). */
  units: number;
  pressGrams: number;
  tauMs: number;
  hz: number;
  knockGrams: number;
}

export interface RestockVisit {
  staff: string;
  badge: string;
  timeline: ShopperTimeline;
  target: RestockTarget;
  /** Standing at the shelf front, and leaving it. */
  arriveAt: number;
  leaveShelfAt: number;
  reaches: RestockReach[];
}

export interface RestockContext {
  layout: StoreLayout;
  paths: FloorPaths;
  speed: number;
  /** Where staff come out of and go back to (inside the back room). */
  room: Vec2;
  /** Everyone else on the floor: staff wait for hands in the facing and do not stand on toes. */
  others: () => readonly ShopperTimeline[];
}

/** A 96-bit badge EPC: the prefix, then the badge number. */
export function restockBadge(prefix: string, n: number): string {
  return (prefix + n.toString(16).toUpperCase().padStart(24 - prefix.length, '0')).slice(0, 24);
}

/**
 * The facing to restock now: the lowest of those at or under `belowUnits`, else the lowest below
 * full; ties are a seeded choice. Facings another member of staff is restocking are left alone.
 */
export function chooseRestockFacing(stock: ShelfStock, belowUnits: number, claimed: ReadonlySet<string>, random: Random): RestockTarget | undefined {
  const counts = stock.facingUnits();
  const facings = stock
    .plannedFacings()
    .filter((f) => !claimed.has(facingKey(f.plate, f.product)))
    .map((f) => ({ ...f, units: counts.get(facingKey(f.plate, f.product)) ?? 0, full: stock.fullUnits(f.plate, f.product) }));
  const short = facings.filter((f) => f.units < f.full);
  const low = short.filter((f) => f.units <= belowUnits);
  const pool = low.length > 0 ? low : short.length > 0 ? short : facings;
  if (pool.length === 0) return undefined;
  const fewest = Math.min(...pool.map((f) => f.units));
  return random.pick(pool.filter((f) => f.units === fewest));
}

export function planRestock(ctx: RestockContext, random: Random, staff: string, badge: string, at: number, target: RestockTarget): RestockVisit {
  const plate = ctx.layout.plates.get(target.plate)!;
  const gondola = ctx.layout.gondolas.find((g) => g.id === plate.gondola)!;
  const facing = Math.atan2(gondola.inward.y, gondola.inward.x);
  const start = ctx.paths.nearestFree(ctx.room);
  const tl = new ShopperTimeline(staff, '', '', randomAppearance(random), at, start);
  tl.stand(random.between(1_500, 3_000));
  const spot = freeSpot(ctx, tl, plate);
  tl.walk(ctx.paths.route(tl.position, spot).slice(1), ctx.speed);
  const arriveAt = tl.now;
  tl.stand(random.between(1_500, 4_000), facing);
  const handPlates = new Set([plate.key, ...neighbours(ctx.layout, plate)]);
  const reaches: RestockReach[] = [];
  for (let left = target.full - target.units; left > 0; ) {
    const units = Math.min(left, random.int(1, 3));
    const clearAt = busyUntil(ctx.others(), handPlates, tl.now, staff);
    if (clearAt > tl.now) tl.stand(clearAt - tl.now + random.between(600, 1_500), facing);
    const grabMs = random.between(600, 1_400) + (units - 1) * 400;
    const reach = tl.reach(plate.key, grabMs, facing);
    const tauMs = random.between(150, 450);
    const liftAt = reach.out + grabMs;
    reaches.push({ contactAt: reach.out - 80, liftAt, settleAt: liftAt + 5 * tauMs, units, pressGrams: random.between(50, 400), tauMs, hz: random.between(2, 4), knockGrams: random.between(5, 40) });
    // The next units out of the crate.
    tl.stand(random.between(1_500, 4_000), facing);
    left -= units;
  }
  if (reaches.length === 0) tl.stand(random.between(5_000, 10_000), facing);
  const leaveShelfAt = tl.now;
  tl.walk(ctx.paths.route(tl.position, start).slice(1), ctx.speed);
  tl.stand(1_500);
  return { staff, badge, timeline: tl, target, arriveAt, leaveShelfAt, reaches };
}

/** In front of the plate, or a step aside when someone will be standing there. */
function freeSpot(ctx: RestockContext, tl: ShopperTimeline, plate: PlateLayout): Vec2 {
  const gondola = ctx.layout.gondolas.find((g) => g.id === plate.gondola)!;
  const mid = (plate.u0 + plate.u1) / 2;
  let best = { spot: plate.standAt, clearance: -Infinity };
  for (const step of [0, 0.35, -0.35, 0.6, -0.6]) {
    const u = mid + step;
    if (u < 0.15 || u > gondola.widthM - 0.15) continue;
    const spot = ctx.paths.nearestFree(onGondola(gondola, u, -REACH_STAND_OFF_M));
    const arrive = tl.now + (routeLength(ctx.paths.route(tl.position, spot)) / ctx.speed) * 1000;
    let clearance = Infinity;
    for (let t = arrive; t <= arrive + 10_000; t += 500) {
      for (const other of ctx.others()) {
        const q = other.positionAt(t);
        if (q) clearance = Math.min(clearance, Math.hypot(q.x - spot.x, q.y - spot.y));
      }
    }
    if (clearance >= 0.6) return spot;
    if (clearance > best.clearance) best = { spot, clearance };
  }
  return best.spot;
}

function neighbours(layout: StoreLayout, plate: PlateLayout): string[] {
  const shelf = layout.shelves.get(`${plate.gondola}.${plate.shelf}`);
  const i = shelf?.plates.findIndex((p) => p.key === plate.key) ?? -1;
  if (!shelf || i < 0) return [];
  return [shelf.plates[i - 1]?.key, shelf.plates[i + 1]?.key].filter((k): k is string => k !== undefined);
}

function routeLength(route: readonly Vec2[]): number {
  let length = 0;
  for (let i = 1; i < route.length; i++) length += Math.hypot(route[i]!.x - route[i - 1]!.x, route[i]!.y - route[i - 1]!.y);
  return length;
}
