/**
 * Shopper analytics on the store floor: zone visits with inertia, lingering at shelves, picks
 * credited to the shopper standing at the shelf, heatmap ticks and store visits, with staff and
 * stationary objects left out. Pure computation driven by observation times, so the same
 * observations always give the same facts (live, replayed or evaluated).
 */
import type { StoreConfig } from '../../../device-config/schema.js';
import { FloorGrid } from './floor-grid.js';
import { StoreLayout } from '../sim/store-layout.js';
import { FloorZones } from './floor-zones.js';
import type { LocalHours } from './local-hours.js';
import { ShopperHeat, type HourCells } from './shopper-heat.js';
import { PresenceChange, ZonePresence, type ZoneInertia } from './zone-presence.js';

export type StaffReason = 'staff-zone' | 'badge' | 'admin';

export interface DwellStarted {
  shopper: string;
  zone: string;
  zoneType: string;
  enteredAt: number;
  at: number;
}

export interface Lingering {
  shopper: string;
  zone: string;
  /** Gondola whose front zone it is, when one is configured. */
  gondola: number | null;
  enteredAt: number;
  at: number;
}

/** A closed zone visit: the dwell fact. */
export interface ZoneVisit {
  shopper: string;
  zone: string;
  enteredAt: number;
  exitedAt: number;
  dwellSeconds: number;
  picks: number;
  lingered: boolean;
}

/** A shopper's whole time on the floor, from the first observation to the last. */
export interface StoreVisit {
  shopper: string;
  enteredAt: number;
  exitedAt: number;
  picks: number;
  /** Entry zone the shopper was first seen in, exit zone they were last seen in. */
  entryZone: string | null;
  exitZone: string | null;
}

export interface PickCredit {
  shopper: string;
  shelf: string;
  zone: string | null;
  distanceM: number;
  at: number;
}

/** Where facts and events go: the service stores and announces them. */
export interface AnalyticsSink {
  dwellStarted(event: DwellStarted): void;
  lingering(event: Lingering): void;
  zoneVisit(visit: ZoneVisit): void;
  storeVisit(visit: StoreVisit): void;
  /** Occupancy seconds per cell of one hour, from one shopper whose track ended. */
  heat(hourStart: number, cells: ReadonlyMap<number, number>, tickSeconds: number): void;
  staff(shopper: string, reason: StaffReason, at: number): void;
  pick?(credit: PickCredit): void;
}

export interface AnalyticsCounts {
  observations: number;
  shoppers: number;
  visits: number;
  storeVisits: number;
  staffShoppers: number;
  stationaryObjects: number;
  stationaryVisitsDropped: number;
  picks: number;
  picksUncredited: number;
  heatTicks: number;
  heatTicksDroppedStill: number;
  lingering: number;
}

interface FloorShopper {
  id: string;
  /** The last HISTORY observations as (t, x, y), a ring: where the shopper was a moment ago. */
  history: Float64Array;
  historyNext: number;
  presence: ZonePresence[];
  heat: ShopperHeat;
  firstAt: number;
  lastAt: number;
  x: number;
  y: number;
  picks: number;
  staff: boolean;
  /** Entry zone the track was born in, or -1. */
  entryZone: number;
}

/** A gondola's front edge, from (x0, y0) to (x1, y1): where its shoppers reach. */
interface ShelfFront {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  zone: number;
  gondola: number;
}

const HISTORY = 32;
/** Only shoppers observed this recently can be credited with a pick or a badge. */
const PRESENT_MS = 2_000;
/** A badge read at an antenna is its wearer's within this distance of the antenna's place. */
const BADGE_REACH_M = 2.0;

export class FloorAnalytics {
  readonly zones: FloorZones;
  readonly grid: FloorGrid;
  readonly tickSeconds: number;
  readonly counts: AnalyticsCounts = {
    observations: 0,
    shoppers: 0,
    visits: 0,
    storeVisits: 0,
    staffShoppers: 0,
    stationaryObjects: 0,
    stationaryVisitsDropped: 0,
    picks: 0,
    picksUncredited: 0,
    heatTicks: 0,
    heatTicksDroppedStill: 0,
    lingering: 0,
  };
  private readonly shoppers = new Map<string, FloorShopper>();
  private readonly staffIds = new Set<string>();
  private readonly inertia: ZoneInertia;
  private readonly lingeringMs: number;
  private readonly pickReachM: number;
  private readonly tickMs: number;
  private readonly shelfFronts = new Map<string, ShelfFront>();
  private readonly gondolaOfZone = new Map<number, number>();
  private readonly hourOf: (at: number) => number;

  constructor(
    private readonly config: StoreConfig,
    hours: LocalHours,
    private readonly sink: AnalyticsSink,
    layout: StoreLayout = new StoreLayout(config),
  ) {
    const a = config.analytics;
    this.zones = new FloorZones(config.zones);
    this.grid = new FloorGrid(config.store.floor.widthM, config.store.floor.depthM, a.heatmap.cellM);
    this.inertia = { enterObservations: a.zones.enterObservations, exitMs: a.zones.exitSeconds * 1000 };
    this.lingeringMs = a.lingeringSeconds * 1000;
    this.pickReachM = a.pickReachM;
    this.tickMs = a.heatmap.sampleSeconds * 1000;
    this.tickSeconds = a.heatmap.sampleSeconds;
    this.hourOf = (at) => hours.startOf(at);
    for (const g of config.gondolas) {
      const zone = g.frontZone ? (this.zones.byId(g.frontZone)?.index ?? -1) : -1;
      if (zone >= 0) this.gondolaOfZone.set(zone, g.id);
      const { origin, along, widthM } = layout.gondolas.find((x) => x.id === g.id)!;
      const front = { x0: origin.x, y0: origin.y, x1: origin.x + along.x * widthM, y1: origin.y + along.y * widthM };
      for (const s of g.shelves) this.shelfFronts.set(`${g.id}.${s.id}`, { ...front, zone, gondola: g.id });
    }
  }

  /** Shoppers on the floor now (staff and stationary objects left out). */
  get occupancy(): number {
    let n = 0;
    for (const s of this.shoppers.values()) if (!s.staff && !s.heat.stationary) n += 1;
    return n;
  }

  /** A shopper seen at a floor position (metres) at store time `at` (ms). */
  observe(id: string, at: number, x: number, y: number): void {
    if (this.staffIds.has(id)) return;
    let s = this.shoppers.get(id);
    if (!s) {
      s = this.born(id, at, x, y);
    } else if (at <= s.lastAt) {
      return;
    }
    this.counts.observations += 1;
    s.lastAt = at;
    s.x = x;
    s.y = y;
    const h = (s.historyNext % HISTORY) * 3;
    s.history[h] = at;
    s.history[h + 1] = x;
    s.history[h + 2] = y;
    s.historyNext += 1;
    s.heat.observe(at, x, y);
    for (const p of s.presence) {
      const change = p.observe(at, this.zones.contains(p.zone, x, y), this.inertia);
      if (change === PresenceChange.Entered) this.entered(s, p, at);
      else if (change === PresenceChange.Exited) this.closeVisit(s, p);
      if (s.staff) return;
      if (p.inside && !p.lingered && p.picks === 0 && at - p.enteredAt >= this.lingeringMs && this.zones.zones[p.zone]!.type === 'shelf-front') {
        p.lingered = true;
        this.counts.lingering += 1;
        this.sink.lingering({ shopper: id, zone: this.zones.zones[p.zone]!.id, gondola: this.gondolaOfZone.get(p.zone) ?? null, enteredAt: p.enteredAt, at });
      }
    }
  }

  /** The shopper's track ended (left, or lost for good). */
  end(id: string): void {
    const s = this.shoppers.get(id);
    if (!s) return;
    this.shoppers.delete(id);
    if (s.staff) return;
    for (const p of s.presence) if (p.end()) this.closeVisit(s, p);
    s.heat.finish();
    this.counts.heatTicksDroppedStill += s.heat.droppedStillTicks;
    if (s.heat.counted.size === 0 && s.heat.droppedStillTicks > 0) {
      this.counts.stationaryObjects += 1;
      return;
    }
    this.flushHeat(s.heat.counted);
    this.counts.storeVisits += 1;
    this.sink.storeVisit({
      shopper: id,
      enteredAt: s.firstAt,
      exitedAt: s.lastAt,
      picks: s.picks,
      entryZone: zoneId(this.zones, s.entryZone),
      exitZone: zoneId(this.zones, this.zones.firstOfTypeAt('exit', s.x, s.y)),
    });
  }

  /** Ends every track (the agent stops, a replay ends). */
  endAll(): void {
    for (const id of [...this.shoppers.keys()]) this.end(id);
  }

  /**
   * A product was taken from a shelf at `place` (where a shopper stands to reach the plates), the
   * hand out at `reachAt`: credited to the shopper in the shelf's front zone who stood nearest to
   * it then, else to the nearest shopper within reach. Returns who, or null.
   */
  pick(shelf: string, at: number, reachAt: number, place?: { x: number; y: number }): PickCredit | null {
    this.counts.picks += 1;
    const front = this.shelfFronts.get(shelf);
    if (!front) {
      this.counts.picksUncredited += 1;
      return null;
    }
    let best: FloorShopper | undefined;
    let bestD = Infinity;
    let bestInZone = false;
    for (const s of this.shoppers.values()) {
      if (s.staff || at - s.lastAt > PRESENT_MS) continue;
      const inZone = front.zone >= 0 && s.presence[front.zone]!.inside;
      const [x, y] = positionAt(s, reachAt);
      const d = place ? Math.hypot(x - place.x, y - place.y) : distanceToFront(front, x, y);
      if (!inZone && d > this.pickReachM) continue;
      if ((inZone && !bestInZone) || (inZone === bestInZone && d < bestD)) {
        best = s;
        bestD = d;
        bestInZone = inZone;
      }
    }
    if (!best) {
      this.counts.picksUncredited += 1;
      return null;
    }
    best.picks += 1;
    if (front.zone >= 0) {
      const p = best.presence[front.zone]!;
      if (p.inside) p.picks += 1;
    }
    const credit: PickCredit = { shopper: best.id, shelf, zone: bestInZone ? this.zones.zones[front.zone]!.id : null, distanceM: bestD, at };
    this.sink.pick?.(credit);
    return credit;
  }

  /** A staff badge was read at a place on the floor: its wearer is staff. */
  badgeSeen(at: number, x: number, y: number): string | null {
    let best: FloorShopper | undefined;
    let bestD = BADGE_REACH_M;
    for (const s of this.shoppers.values()) {
      if (at - s.lastAt > PRESENT_MS) continue;
      const d = Math.hypot(s.x - x, s.y - y);
      if (d <= bestD) {
        best = s;
        bestD = d;
      }
    }
    if (!best) return null;
    this.markStaff(best.id, 'badge', at);
    return best.id;
  }

  /** Marks a shopper track as staff: nothing more of it is counted, and the sink is told. */
  markStaff(id: string, reason: StaffReason, at: number): void {
    if (this.staffIds.has(id)) return;
    this.staffIds.add(id);
    this.counts.staffShoppers += 1;
    const s = this.shoppers.get(id);
    if (s) s.staff = true;
    this.sink.staff(id, reason, at);
  }

  isStaff(id: string): boolean {
    return this.staffIds.has(id);
  }

  /** Heat of shoppers still on the floor, for a live view. */
  liveHeat(): HourCells {
    const out: HourCells = new Map();
    for (const s of this.shoppers.values()) {
      if (s.staff) continue;
      for (const [hour, cells] of s.heat.counted) {
        const into = out.get(hour) ?? new Map<number, number>();
        for (const [cell, n] of cells) into.set(cell, (into.get(cell) ?? 0) + n);
        out.set(hour, into);
      }
    }
    return out;
  }

  private born(id: string, at: number, x: number, y: number): FloorShopper {
    const a = this.config.analytics.heatmap;
    const s: FloorShopper = {
      id,
      history: new Float64Array(HISTORY * 3).fill(Number.NaN),
      historyNext: 0,
      presence: this.zones.zones.map((z) => new ZonePresence(z.index)),
      heat: new ShopperHeat(this.grid, this.tickMs, { radiusM: a.stationaryRadiusM, maxMs: a.stationarySeconds * 1000 }, this.hourOf),
      firstAt: at,
      lastAt: Number.NEGATIVE_INFINITY,
      x,
      y,
      picks: 0,
      staff: false,
      entryZone: this.zones.firstOfTypeAt('entry', x, y),
    };
    this.shoppers.set(id, s);
    this.counts.shoppers += 1;
    return s;
  }

  private entered(s: FloorShopper, p: ZonePresence, at: number): void {
    const zone = this.zones.zones[p.zone]!;
    if (zone.type === 'staff-only') {
      this.markStaff(s.id, 'staff-zone', at);
      return;
    }
    this.sink.dwellStarted({ shopper: s.id, zone: zone.id, zoneType: zone.type, enteredAt: p.enteredAt, at });
  }

  private closeVisit(s: FloorShopper, p: ZonePresence): void {
    if (s.staff) return;
    // A visit spent entirely inside one long still stretch is an object standing there.
    if (s.heat.stationary && s.heat.stillSince <= p.enteredAt + this.tickMs) {
      this.counts.stationaryVisitsDropped += 1;
      return;
    }
    this.counts.visits += 1;
    this.sink.zoneVisit({
      shopper: s.id,
      zone: this.zones.zones[p.zone]!.id,
      enteredAt: p.enteredAt,
      exitedAt: p.exitedAt,
      dwellSeconds: (p.exitedAt - p.enteredAt) / 1000,
      picks: p.picks,
      lingered: p.lingered,
    });
  }

  private flushHeat(counted: HourCells): void {
    for (const [hour, cells] of counted) {
      const seconds = new Map<number, number>();
      for (const [cell, n] of cells) {
        seconds.set(cell, n * this.tickSeconds);
        this.counts.heatTicks += n;
      }
      this.sink.heat(hour, seconds, this.tickSeconds);
    }
  }
}

const zoneId = (zones: FloorZones, index: number): string | null => (index >= 0 ? zones.zones[index]!.id : null);

/** Where the shopper was at `t`: the last observation at or before it (the oldest kept, if none). */
function positionAt(s: FloorShopper, t: number): [number, number] {
  let bestT = -Infinity;
  let oldestT = Infinity;
  let best = -1;
  let oldest = -1;
  for (let i = 0; i < HISTORY; i++) {
    const at = s.history[i * 3]!;
    if (Number.isNaN(at)) continue;
    if (at <= t && at > bestT) [bestT, best] = [at, i];
    if (at < oldestT) [oldestT, oldest] = [at, i];
  }
  const i = best >= 0 ? best : oldest;
  return i < 0 ? [s.x, s.y] : [s.history[i * 3 + 1]!, s.history[i * 3 + 2]!];
}

function distanceToFront(f: ShelfFront, x: number, y: number): number {
  const dx = f.x1 - f.x0;
  const dy = f.y1 - f.y0;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.max(0, Math.min(1, ((x - f.x0) * dx + (y - f.y0) * dy) / len2)) : 0;
  return Math.hypot(x - (f.x0 + t * dx), y - (f.y0 + t * dy));
}
