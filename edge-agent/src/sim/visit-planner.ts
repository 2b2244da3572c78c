/**
 * Plans a party's visit when it arrives: the way in through the entry gate, the shelves each
 * member stops at, what they take, what they put back (and where), and the way out. The plan is
 * a timeline per member plus timed actions the world carries out when their time comes.
 */
import type { ProductConfig } from '../../../device-config/schema.js';
import { randomAppearance } from './appearance.js';
import type { FloorPaths } from './floor-paths.js';
import type { Random } from './random.js';
import type { ScenarioKnobs } from './scenario.js';
import type { ShelfStock } from './shelf-stock.js';
import { ARM_MS, ShopperTimeline } from './shopper-timeline.js';
import { REACH_STAND_OFF_M, type GondolaLayout, type PlateLayout, type StoreLayout, type Vec2 } from './store-layout.js';

export interface GatePlace {
  id: string;
  /** Where the gate stands on the floor's edge, and a point just inside the store. */
  outside: Vec2;
  inside: Vec2;
}

interface Timed {
  at: number;
  shopper: string;
}

export type VisitAction =
  | (Timed & { kind: 'scan'; gate: string; token: string })
  | (Timed & { kind: 'pass'; gate: string; direction: 'in' | 'out' })
  | (Timed & { kind: 'contact'; plates: string[]; pressGrams: number; liftAt: number; tauMs: number; hz: number; knockGrams: number; knockPlates: string[] })
  | (Timed & { kind: 'take'; item: number; product: string; shelf: string; nearU: number; count: number; contactAt: number; settleAt: number })
  | (Timed & { kind: 'return'; item: number; shelf: string; contactAt: number; settleAt: number })
  | (Timed & { kind: 'misplace'; item: number; plate: string; contactAt: number; settleAt: number })
  | (Timed & { kind: 'hand-rest'; plate: string; grams: number; until: number })
  | (Timed & { kind: 'carry-in'; item: number; product: string })
  | (Timed & { kind: 'linger-end'; gate: string })
  | (Timed & { kind: 'leave' });

export interface PlannedMember {
  timeline: ShopperTimeline;
  actions: VisitAction[];
}

export interface PlanningContext {
  layout: StoreLayout;
  paths: FloorPaths;
  stock: ShelfStock;
  products: readonly ProductConfig[];
  knobs: ScenarioKnobs;
  entry: GatePlace;
  exit: GatePlace;
  /** Timelines of shoppers already in the store, for "two at one shelf". */
  others: () => readonly ShopperTimeline[];
}

type PutBack = 'hesitate' | 'later' | 'misplace' | undefined;

export class VisitPlanner {
  private shopperCount = 0;

  constructor(
    private readonly ctx: PlanningContext,
    private readonly random: Random,
  ) {}

  planParty(arriveAt: number, size: number, party: string): PlannedMember[] {
    const token = `tok-${this.hex(12)}`;
    const members: PlannedMember[] = [];
    this.partyPlanned = [];
    for (let m = 0; m < size; m++) {
      const id = `s${String(++this.shopperCount).padStart(4, '0')}`;
      // Members follow their leader through the gate, one after the other, once the token is scanned.
      const leaderPass = members[0]?.actions.find((a) => a.kind === 'pass')?.at;
      const gap = m * this.random.between(700, 1400);
      const member = this.planMember(id, token, party, leaderPass === undefined ? arriveAt + gap : Math.max(arriveAt + gap, leaderPass - 500 + gap), m === 0);
      members.push(member);
      this.partyPlanned.push(member.timeline);
    }
    this.partyPlanned = [];
    return members;
  }

  /** The door the party being planned comes in by. */
  private partyDoor: PlanningContext['entry'] | undefined;

  /** Members of the party being planned: the world does not know them yet. */
  private partyPlanned: ShopperTimeline[] = [];

  private everyoneElse(): ShopperTimeline[] {
    return [...this.ctx.others(), ...this.partyPlanned];
  }

  private planMember(id: string, token: string, party: string, enterAt: number, leader: boolean): PlannedMember {
    const { knobs, paths, entry, exit } = this.ctx;
    const speed = knobs.walkSpeedMps * Math.max(0.6, this.random.normal(1, 0.12));
    const tagged = this.ctx.products.filter((p) => p.rfidTagged && p.plates.length > 0);
    // Someone bringing back a tagged item bought earlier comes in through the exit gate with it.
    const carryIn = leader && tagged.length > 0 && this.random.chance(knobs.carryInRate) ? this.random.pick(tagged) : undefined;
    // The party comes in together, through the door its leader scanned at.
    const door = leader ? (carryIn ? exit : entry) : (this.partyDoor ?? entry);
    if (leader) this.partyDoor = door;
    const away = outward(door);
    const begin = carryIn ? { x: door.outside.x + away.x * 1.8, y: door.outside.y + away.y * 1.8 } : door.outside;
    const start = { x: begin.x + this.random.normal(0, 0.08), y: begin.y + this.random.normal(0, 0.08) };
    const tl = new ShopperTimeline(id, token, party, randomAppearance(this.random), enterAt, start);
    const actions: VisitAction[] = [];
    const held: { item: number; product: string; shelf: string; mode: PutBack }[] = [];
    let item = 0;

    if (carryIn) {
      actions.push({ kind: 'carry-in', at: enterAt, shopper: id, item, product: carryIn.id });
      held.push({ item, product: carryIn.id, shelf: this.ctx.layout.plates.get(carryIn.plates[0]!)!.key.split('.').slice(0, 2).join('.'), mode: 'later' });
      item += 1;
      tl.walk([exit.outside], speed);
    }
    if (leader) {
      actions.push({ kind: 'scan', at: tl.now + 400, shopper: id, gate: door.id, token });
      tl.stand(1_200);
    } else tl.stand(500);
    actions.push({ kind: 'pass', at: tl.now, shopper: id, gate: door.id, direction: 'in' });
    tl.walk([door.inside], speed);

    const items = this.random.int(knobs.itemsMin, knobs.itemsMax);
    for (let i = 0; i < items; i++) {
      const choice = this.chooseFacing(tl, speed);
      if (!choice) break;
      const { product, shelf, plate, gondola } = choice;
      const u = Math.min(plate.u1, Math.max(plate.u0, (plate.u0 + plate.u1) / 2 + this.random.normal(0, 0.12)));
      const standOff = -REACH_STAND_OFF_M - Math.abs(this.random.normal(0, 0.05));
      const standAt = paths.nearestFree(onGondola(gondola, u, standOff));
      const facing = Math.atan2(gondola.inward.y, gondola.inward.x);
      this.walkToFreeSpot(tl, standAt, gondola, u, standOff, speed, id, facing);
      tl.stand(this.random.between(knobs.lingerSeconds[0], knobs.lingerSeconds[1]) * 1000, facing);

      // Someone changing their mind at this shelf leaves the item they carry here.
      const toMisplace = held.find((h) => h.mode === 'misplace' && h.shelf !== shelf);
      if (toMisplace) this.misplaceHere(tl, actions, toMisplace, gondola, shelf, u, facing);

      const count = this.random.chance(knobs.multiUnitRate) ? this.random.int(2, 3) : 1;
      const { liftAt, settleAt, contactAt } = this.reachInto(tl, actions, [plate.key, ...this.neighbourAtSeam(shelf, u)], plate.key, facing, count);
      actions.push({ kind: 'take', at: liftAt, shopper: id, item, product, shelf, nearU: u, count, contactAt, settleAt });
      if (this.random.chance(knobs.handRestRate)) {
        // The hand stays on the shelf: to others it is a reach like any other.
        const rest = tl.reach(plate.key, this.random.between(2_000, 5_000), facing);
        actions.push({ kind: 'hand-rest', at: rest.out, shopper: id, plate: plate.key, grams: this.random.between(150, 600), until: rest.end - ARM_MS });
      }
      const mode: PutBack = this.random.chance(knobs.putBackRate)
        ? this.random.chance(knobs.misplaceRate)
          ? 'misplace'
          : this.random.chance(0.75)
            ? 'hesitate'
            : 'later'
        : undefined;
      if (mode === 'hesitate') {
        tl.stand(this.random.between(1_500, 4_000), facing);
        const r = this.reachInto(tl, actions, [plate.key], plate.key, facing, 1);
        actions.push({ kind: 'return', at: r.liftAt, shopper: id, item, shelf, contactAt: r.contactAt, settleAt: r.settleAt });
      } else held.push({ item, product, shelf, mode });
      item += count;
    }

    // Left-overs: a misplacement with no later stop happens at the last shelf; late returns walk back.
    for (const h of held.filter((x) => x.mode === 'later' || x.mode === 'misplace')) {
      const shelf = this.ctx.layout.shelves.get(h.shelf)!;
      const gondola = this.ctx.layout.gondolas.find((g) => g.id === shelf.gondola)!;
      const productPlates = this.ctx.products.find((p) => p.id === h.product)!.plates.filter((k) => k.startsWith(`${h.shelf}.`));
      const plate = this.ctx.layout.plates.get(productPlates[0] ?? shelf.plates[0]!.key)!;
      const u = (plate.u0 + plate.u1) / 2;
      const facing = Math.atan2(gondola.inward.y, gondola.inward.x);
      if (h.mode === 'later') {
        tl.walk(paths.route(tl.position, paths.nearestFree(onGondola(gondola, u, -REACH_STAND_OFF_M))).slice(1), speed);
        tl.stand(this.random.between(800, 2_000), facing);
        const r = this.reachInto(tl, actions, [plate.key], plate.key, facing, 1);
        actions.push({ kind: 'return', at: r.liftAt, shopper: id, item: h.item, shelf: h.shelf, contactAt: r.contactAt, settleAt: r.settleAt });
      } else {
        const here = this.nearestGondola(tl.position);
        const hereShelf = here.gondola.shelves[this.random.int(0, here.gondola.shelves.length - 1)]!;
        this.misplaceHere(tl, actions, h, here.gondola, hereShelf.key, here.u, Math.atan2(here.gondola.inward.y, here.gondola.inward.x));
      }
    }

    const out = outward(exit);
    if (this.random.chance(knobs.gateLingerRate)) {
      // Waiting near the exit (for a friend, on the phone) with the goods, then out or back in.
      const across = { x: -out.y, y: out.x };
      const side = this.random.chance(0.5) ? 1 : -1;
      const spot = paths.nearestFree({ x: exit.inside.x + across.x * side * 0.7 - out.x * 0.2, y: exit.inside.y + across.y * side * 0.7 - out.y * 0.2 });
      tl.walk(paths.route(tl.position, spot).slice(1), speed);
      tl.stand(this.random.between(10_000, 40_000));
      actions.push({ kind: 'linger-end', at: tl.now, shopper: id, gate: exit.id });
      if (this.random.chance(0.5)) {
        const plate = this.random.pick([...this.ctx.layout.plates.values()]);
        tl.walk(paths.route(tl.position, paths.nearestFree(plate.standAt)).slice(1), speed);
        tl.stand(this.random.between(3_000, 8_000));
      }
    }
    tl.walk(paths.route(tl.position, exit.inside).slice(1), speed);
    tl.walk([exit.outside], speed);
    actions.push({ kind: 'pass', at: tl.now, shopper: id, gate: exit.id, direction: 'out' });
    // Walking on outside, past the gate's outside antenna.
    tl.walk([{ x: exit.outside.x + out.x * 1.8, y: exit.outside.y + out.y * 1.8 }], speed);
    actions.push({ kind: 'leave', at: tl.now, shopper: id });
    return { timeline: tl, actions };
  }

  /** Arm out, hand on the goods, lift, arm back; the shelf is disturbed from the touch until it settles. */
  private reachInto(tl: ShopperTimeline, actions: VisitAction[], handPlates: string[], plate: string, facing: number, count: number) {
    // People take turns at a facing: wait until whoever has a hand in it is done.
    const near = new Set([...handPlates, ...this.facingPlates(plate)]);
    const clearAt = busyUntil(this.everyoneElse(), near, tl.now, tl.id);
    if (clearAt > tl.now) tl.stand(clearAt - tl.now + this.random.between(600, 1_500), facing);
    const grabMs = this.random.between(300, 900) + (count - 1) * 250;
    const reach = tl.reach(plate, grabMs, facing);
    const contactAt = reach.out - 80;
    const liftAt = reach.out + grabMs;
    const tauMs = this.random.between(150, 450);
    const settleAt = liftAt + 5 * tauMs;
    // Handling: putting the item in the basket, reading a label; nobody reaches twice in one breath.
    tl.stand(this.random.between(800, 2_500), facing);
    const shelfKey = plate.slice(0, plate.lastIndexOf('.'));
    actions.push({
      kind: 'contact',
      at: contactAt,
      shopper: tl.id,
      plates: handPlates,
      pressGrams: this.random.between(30, 300),
      liftAt,
      tauMs,
      hz: this.random.between(2, 4),
      knockGrams: this.random.between(5, 40),
      knockPlates: [plate, ...this.neighbours(shelfKey, plate)],
    });
    return { contactAt, liftAt, settleAt };
  }

  private misplaceHere(tl: ShopperTimeline, actions: VisitAction[], h: { item: number; product: string; mode: PutBack }, gondola: GondolaLayout, shelfKey: string, u: number, facing: number): void {
    const shelf = this.ctx.layout.shelves.get(shelfKey)!;
    const own = new Set(this.ctx.products.find((p) => p.id === h.product)?.plates ?? []);
    const foreign = shelf.plates.filter((p) => !own.has(p.key)).sort((a, b) => Math.abs((a.u0 + a.u1) / 2 - u) - Math.abs((b.u0 + b.u1) / 2 - u));
    const plate = foreign[0] ?? shelf.plates[0]!;
    const r = this.reachInto(tl, actions, [plate.key], plate.key, facing, 1);
    actions.push({ kind: 'misplace', at: r.liftAt, shopper: tl.id, item: h.item, plate: plate.key, contactAt: r.contactAt, settleAt: r.settleAt });
    h.mode = undefined;
  }

  private chooseFacing(tl: ShopperTimeline, speed: number): { product: string; shelf: string; plate: PlateLayout; gondola: GondolaLayout } | undefined {
    const facings = this.ctx.stock.stockedFacings();
    if (facings.length === 0) return undefined;
    let candidates = facings;
    if (this.random.chance(this.ctx.knobs.sameShelfRate)) {
      const busy = this.shelvesBusySoon(tl, speed);
      const together = facings.filter((f) => busy.has(f.shelf));
      if (together.length > 0) candidates = together;
    }
    const f = this.random.pick(candidates);
    const plate = this.ctx.layout.plates.get(this.random.pick(f.plates))!;
    const gondola = this.ctx.layout.gondolas.find((g) => g.id === plate.gondola)!;
    return { product: f.product, shelf: f.shelf, plate, gondola };
  }

  /**
   * Two people never stand in one spot: when someone is standing where this shopper means to
   * stand, they wait beside them (shoulder to shoulder along the shelf) until the spot is free,
   * then step in. Only shoppers planned before are known, which is who is already there.
   */
  private walkToFreeSpot(tl: ShopperTimeline, spot: Vec2, gondola: GondolaLayout, u: number, standOff: number, speed: number, self: string, facing: number): void {
    const { paths } = this.ctx;
    const route = paths.route(tl.position, spot);
    let length = 0;
    for (let i = 1; i < route.length; i++) length += Math.hypot(route[i]!.x - route[i - 1]!.x, route[i]!.y - route[i - 1]!.y);
    const arrive = tl.now + (length / speed) * 1000;
    const nearest = (p: Vec2, t: number): number => {
      let min = Infinity;
      for (const other of this.everyoneElse()) {
        if (other.id === self) continue;
        const q = other.positionAt(t);
        if (q) min = Math.min(min, Math.hypot(q.x - p.x, q.y - p.y));
      }
      return min;
    };
    // Free for a whole stay: someone planned earlier may still be on their way to this spot.
    const busy = (t: number): boolean => {
      for (let k = t; k <= t + STAY_MS; k += 500) if (nearest(spot, k) < PERSONAL_SPACE_M) return true;
      return false;
    };
    let freeAt = arrive;
    while (freeAt < arrive + MAX_WAIT_MS && busy(freeAt)) freeAt += 500;
    if (freeAt === arrive) {
      tl.walk(route.slice(1), speed);
      return;
    }
    let aside = spot;
    let clearance = -Infinity;
    for (const step of [0.6, -0.6, 0.9, -0.9]) {
      const v = u + step;
      if (v < 0.15 || v > gondola.widthM - 0.15) continue;
      const candidate = paths.nearestFree(onGondola(gondola, v, standOff));
      const c = nearest(candidate, arrive);
      if (c > clearance) {
        aside = candidate;
        clearance = c;
      }
    }
    tl.walk(paths.route(tl.position, aside).slice(1), speed);
    if (freeAt > tl.now) tl.stand(freeAt - tl.now, facing);
    tl.walk([spot], speed);
  }

  /** The plates of the facing a plate belongs to (the plate alone when it holds nothing). */
  private facingPlates(plate: string): string[] {
    const owners = this.ctx.products.filter((p) => p.plates.includes(plate));
    return owners.length === 0 ? [plate] : owners.flatMap((p) => p.plates);
  }

  /** Shelves another shopper will be standing at a few seconds from now. */
  private shelvesBusySoon(tl: ShopperTimeline, speed: number): Set<string> {
    const busy = new Set<string>();
    const soon = tl.now + (6 / speed) * 1000;
    for (const other of this.everyoneElse()) {
      for (const r of other.reaches) {
        if (r.end + 3_000 >= soon && r.start - 8_000 <= soon) busy.add(r.plate.slice(0, r.plate.lastIndexOf('.')));
      }
    }
    return busy;
  }

  private neighbours(shelfKey: string, plate: string): string[] {
    const shelf = this.ctx.layout.shelves.get(shelfKey);
    const i = shelf?.plates.findIndex((p) => p.key === plate) ?? -1;
    if (!shelf || i < 0) return [];
    return [shelf.plates[i - 1]?.key, shelf.plates[i + 1]?.key].filter((k): k is string => k !== undefined);
  }

  /** A hand near the seam between two plates presses on both. */
  private neighbourAtSeam(shelfKey: string, u: number): string[] {
    const shelf = this.ctx.layout.shelves.get(shelfKey);
    return (shelf?.plates ?? []).filter((p) => (Math.abs(p.u0 - u) < 0.06 || Math.abs(p.u1 - u) < 0.06) && !(u >= p.u0 && u <= p.u1)).map((p) => p.key);
  }

  private nearestGondola(p: Vec2): { gondola: GondolaLayout; u: number } {
    let best = { gondola: this.ctx.layout.gondolas[0]!, u: 0, d: Infinity };
    for (const g of this.ctx.layout.gondolas) {
      const rel = { x: p.x - g.origin.x, y: p.y - g.origin.y };
      const u = Math.min(g.widthM, Math.max(0, rel.x * g.along.x + rel.y * g.along.y));
      const q = onGondola(g, u, 0);
      const d = Math.hypot(q.x - p.x, q.y - p.y);
      if (d < best.d) best = { gondola: g, u, d };
    }
    return best;
  }

  private hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += this.random.int(0, 15).toString(16);
    return s;
  }
}

/** Unit vector from a gate's inside point to its outside point. */
function outward(gate: GatePlace): Vec2 {
  const dx = gate.outside.x - gate.inside.x;
  const dy = gate.outside.y - gate.inside.y;
  const n = Math.hypot(dx, dy) || 1;
  return { x: dx / n, y: dy / n };
}

/** A point in a gondola's frame: `u` along the front, `v` into it (negative: in front of it). */
/** Closest two shoppers stand to each other (shoulder to shoulder). */
const PERSONAL_SPACE_M = 0.45;
/** Longest a shopper waits beside someone for their spot at a shelf. */
const MAX_WAIT_MS = 60_000;
/** How long a shopper expects to stand at a shelf to choose and take something. */
const STAY_MS = 12_000;

export function onGondola(g: GondolaLayout, u: number, v: number): Vec2 {
  return { x: g.origin.x + g.along.x * u + g.inward.x * v, y: g.origin.y + g.along.y * u + g.inward.y * v };
}

/** When the last reach of someone else into these plates that overlaps `from` ends (or `from`). */
export function busyUntil(others: readonly ShopperTimeline[], plates: ReadonlySet<string>, from: number, self: string): number {
  let until = from;
  for (let changed = true; changed; ) {
    changed = false;
    for (const other of others) {
      if (other.id === self) continue;
      for (const r of other.reaches) {
        if (plates.has(r.plate) && r.end + 1_500 > until && r.start < until + 4_000) {
          until = r.end + 1_500;
          changed = true;
        }
      }
    }
  }
  return until;
}
