import { describe, expect, it } from 'vitest';
import type { StoreConfig } from '../../device-config/schema.js';
import {
  FloorAnalytics,
  type AnalyticsSink,
  type DwellStarted,
  type Lingering,
  type PickCredit,
  type StaffReason,
  type StoreVisit,
  type ZoneVisit,
} from '../../edge-agent/src/analytics/floor-analytics.js';
import { LocalHours } from '../../edge-agent/src/analytics/local-hours.js';
import { Random } from '../../edge-agent/src/sim/random.js';
import { demoConfig } from '../support/demo-config.js';

/**
 * The demo store (12 × 8 m): entry [0,2]×[6.5,8], exit [10,12]×[6.5,8], front-1 [3,6]×[2.6,3.6]
 * (gondola 1), front-2 [3,6]×[4,5] (gondola 2), aisle-main [0,12]×[3.6,4], promo [8,10]×[3,5],
 * back-room (staff-only) [10,12]×[0,2].
 */
const CONFIG: StoreConfig = demoConfig('/tmp/unused');
const FRAME_MS = 200;
const HOUR_MS = 3_600_000;
/** 10:00:00 UTC. */
const T0 = Date.UTC(2026, 2, 2, 10, 0, 0);

interface Events {
  dwellStarted: DwellStarted;
  lingering: Lingering;
  zoneVisit: ZoneVisit;
  storeVisit: StoreVisit;
  heat: { hourStart: number; cells: Map<number, number>; tickSeconds: number };
  staff: { shopper: string; reason: StaffReason; at: number };
  pick: PickCredit;
}
type Logged = { [K in keyof Events]: { kind: K; event: Events[K] } }[keyof Events];

/** Records every call, in order. */
class RecordingSink implements AnalyticsSink {
  readonly log: Logged[] = [];
  dwellStarted(event: DwellStarted): void {
    this.log.push({ kind: 'dwellStarted', event });
  }
  lingering(event: Lingering): void {
    this.log.push({ kind: 'lingering', event });
  }
  zoneVisit(event: ZoneVisit): void {
    this.log.push({ kind: 'zoneVisit', event });
  }
  storeVisit(event: StoreVisit): void {
    this.log.push({ kind: 'storeVisit', event });
  }
  heat(hourStart: number, cells: ReadonlyMap<number, number>, tickSeconds: number): void {
    this.log.push({ kind: 'heat', event: { hourStart, cells: new Map(cells), tickSeconds } });
  }
  staff(shopper: string, reason: StaffReason, at: number): void {
    this.log.push({ kind: 'staff', event: { shopper, reason, at } });
  }
  pick(credit: PickCredit): void {
    this.log.push({ kind: 'pick', event: credit });
  }

  private of<K extends keyof Events>(kind: K, shopper?: string): Events[K][] {
    const out: Events[K][] = [];
    for (const l of this.log) {
      if (l.kind !== kind) continue;
      const e = l.event as Events[K];
      if (shopper === undefined || !('shopper' in e) || e.shopper === shopper) out.push(e);
    }
    return out;
  }
  dwells(shopper?: string): DwellStarted[] {
    return this.of('dwellStarted', shopper);
  }
  lingerings(shopper?: string): Lingering[] {
    return this.of('lingering', shopper);
  }
  zoneVisits(shopper?: string): ZoneVisit[] {
    return this.of('zoneVisit', shopper);
  }
  storeVisits(shopper?: string): StoreVisit[] {
    return this.of('storeVisit', shopper);
  }
  heats(): { hourStart: number; cells: Map<number, number>; tickSeconds: number }[] {
    return this.of('heat');
  }
  staffs(): { shopper: string; reason: StaffReason; at: number }[] {
    return this.of('staff');
  }
  picks(): PickCredit[] {
    return this.of('pick');
  }
  /** Kinds logged after the first staff call for `shopper` that concern the shopper (heat concerns whoever ended). */
  kindsAfterStaff(shopper: string): string[] {
    const i = this.log.findIndex((l) => l.kind === 'staff' && l.event.shopper === shopper);
    expect(i).toBeGreaterThanOrEqual(0);
    return this.log
      .slice(i + 1)
      .filter((l) => l.kind === 'heat' || ('shopper' in l.event && l.event.shopper === shopper))
      .map((l) => l.kind);
  }
}

function setup(): { floor: FloorAnalytics; sink: RecordingSink } {
  const sink = new RecordingSink();
  return { floor: new FloorAnalytics(CONFIG, new LocalHours('UTC'), sink), sink };
}

// ---- scripted walks -------------------------------------------------------------------------

type Point = readonly [number, number];
type Step = { walkTo: Point } | { stay: number };

interface Script {
  /** Position at `t` ms from the start. */
  at(t: number): { x: number; y: number };
  /** Length, ms. */
  duration: number;
}

/** A path walked at 1 m/s with stops (`stay` seconds). */
function script(start: Point, ...steps: Step[]): Script {
  const legs: { t0: number; t1: number; from: Point; to: Point }[] = [];
  let t = 0;
  let here = start;
  for (const s of steps) {
    const to = 'walkTo' in s ? s.walkTo : here;
    const ms = 'walkTo' in s ? Math.hypot(to[0] - here[0], to[1] - here[1]) * 1000 : s.stay * 1000;
    legs.push({ t0: t, t1: t + ms, from: here, to });
    t += ms;
    here = to;
  }
  return {
    duration: t,
    at(time: number) {
      const leg = legs.find((l) => time <= l.t1) ?? legs[legs.length - 1]!;
      const f = leg.t1 > leg.t0 ? Math.min(1, Math.max(0, (time - leg.t0) / (leg.t1 - leg.t0))) : 1;
      return { x: leg.from[0] + (leg.to[0] - leg.from[0]) * f, y: leg.from[1] + (leg.to[1] - leg.from[1]) * f };
    },
  };
}

/** Observes a script every 200 ms from `start`; `skip(k)` leaves out observation k. Returns the time of the last one. */
function play(floor: FloorAnalytics, id: string, s: Script, start = T0, skip: (k: number) => boolean = () => false): number {
  let last = start;
  for (let k = 0; k * FRAME_MS <= s.duration; k++) {
    if (skip(k)) continue;
    const p = s.at(k * FRAME_MS);
    floor.observe(id, start + k * FRAME_MS, p.x, p.y);
    last = start + k * FRAME_MS;
  }
  return last;
}

/** Observes a standing shopper (optionally with ± noise) every 200 ms for [from, to]. */
function standAt(floor: FloorAnalytics, id: string, from: number, to: number, x: number, y: number, random?: Random, noise = 0.1): number {
  let n = 0;
  for (let t = from; t <= to; t += FRAME_MS, n++) {
    floor.observe(id, t, x + (random ? random.between(-noise, noise) : 0), y + (random ? random.between(-noise, noise) : 0));
  }
  return n;
}

/** Where the scripted shopper truly was inside a zone (its polygon is a rectangle): [start, end) ms from the start, 1 ms resolution. */
function insideIntervals(s: Script, zoneId: string, until: number): [number, number][] {
  const zone = CONFIG.zones.find((z) => z.id === zoneId)!;
  const xs = zone.polygon.map((p) => p[0]);
  const ys = zone.polygon.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const out: [number, number][] = [];
  let open = -1;
  for (let t = 0; t <= until; t++) {
    const p = s.at(t);
    const inside = p.x > x0 && p.x < x1 && p.y > y0 && p.y < y1;
    if (inside && open < 0) open = t;
    if (!inside && open >= 0) {
      out.push([open, t]);
      open = -1;
    }
  }
  if (open >= 0) out.push([open, until]);
  return out;
}

/**
 * In at the entry, down to the aisle, a step into front-1 for 8 s, back to the aisle, along it
 * through the promo table, and out via the exit.
 */
const WALK = script(
  [1.0, 7.25],
  { stay: 2 },
  { walkTo: [2.5, 3.8] },
  { walkTo: [4.5, 3.8] },
  { walkTo: [4.5, 3.1] },
  { stay: 8 },
  { walkTo: [4.5, 3.8] },
  { walkTo: [10.5, 3.8] },
  { walkTo: [11.0, 7.25] },
  { stay: 2 },
);
const WALK_ZONES = ['entry', 'aisle-main', 'front-1', 'promo', 'exit'];

function sumSeconds(heats: readonly { cells: Map<number, number> }[]): number {
  let s = 0;
  for (const h of heats) for (const v of h.cells.values()) s += v;
  return s;
}

describe('FloorAnalytics: zone visits and the store visit', () => {
  it('reads the analytics defaults from the demo store', () => {
    expect(CONFIG.analytics.zones).toEqual({ enterObservations: 3, exitSeconds: 2 });
    expect(CONFIG.analytics.lingeringSeconds).toBe(20);
    expect(CONFIG.analytics.heatmap).toEqual({ cellM: 0.25, sampleSeconds: 0.2, stationaryRadiusM: 0.5, stationarySeconds: 300 });
  });

  it('turns a walk from the entry through front-1 to the exit into zone visits with the scripted dwell and one store visit', () => {
    const { floor, sink } = setup();
    const last = play(floor, 'shopper-1', WALK);
    const until = last - T0;

    // Every zone the path crosses, and only those, in the order they were entered.
    expect(sink.dwells().map((d) => d.zone)).toEqual(['entry', 'aisle-main', 'front-1', 'aisle-main', 'promo', 'exit']);
    for (const d of sink.dwells()) {
      expect(d.shopper).toBe('shopper-1');
      expect(d.at).toBeGreaterThanOrEqual(d.enteredAt);
      expect(d.zoneType).toBe(CONFIG.zones.find((z) => z.id === d.zone)!.type);
    }
    expect(sink.storeVisits()).toEqual([]);

    floor.end('shopper-1');

    for (const zone of [...WALK_ZONES, 'front-2', 'back-room']) {
      const truth = insideIntervals(WALK, zone, until);
      const visits = sink.zoneVisits().filter((v) => v.zone === zone);
      expect(visits.length, zone).toBe(truth.length);
      visits.forEach((v, i) => {
        const [start, end] = truth[i]!;
        expect(Math.abs(v.dwellSeconds - (end - start) / 1000), `${zone} #${i} dwell`).toBeLessThanOrEqual(0.2);
        expect(Math.abs(v.enteredAt - (T0 + start)), `${zone} #${i} enteredAt`).toBeLessThanOrEqual(101);
        expect(Math.abs(v.exitedAt - (T0 + end)), `${zone} #${i} exitedAt`).toBeLessThanOrEqual(101);
        expect(v.dwellSeconds).toBeCloseTo((v.exitedAt - v.enteredAt) / 1000, 9);
        expect(v).toMatchObject({ shopper: 'shopper-1', picks: 0, lingered: false });
      });
    }
    // In front of gondola 1: 0.5 m in at 1 m/s, 8 s standing, 0.5 m out.
    const front = sink.zoneVisits().find((v) => v.zone === 'front-1')!;
    expect(Math.abs(front.dwellSeconds - 9)).toBeLessThanOrEqual(0.2);
    expect(sink.lingerings()).toEqual([]);

    expect(sink.storeVisits()).toEqual([{ shopper: 'shopper-1', enteredAt: T0, exitedAt: last, picks: 0, entryZone: 'entry', exitZone: 'exit' }]);
    expect(floor.counts).toMatchObject({ shoppers: 1, storeVisits: 1, visits: 6, staffShoppers: 0, stationaryObjects: 0 });
  });

  it('never splits a visit when single observations are missed (every 5th dropped)', () => {
    const { floor, sink } = setup();
    const last = play(floor, 'shopper-2', WALK, T0, (k) => k % 5 === 4);
    floor.end('shopper-2');
    const until = last - T0;
    for (const zone of WALK_ZONES) {
      const truth = insideIntervals(WALK, zone, until);
      const visits = sink.zoneVisits().filter((v) => v.zone === zone);
      expect(visits.length, zone).toBe(truth.length);
      // One missed observation at a border moves that border's estimate by at most 0.1 s more.
      visits.forEach((v, i) => expect(Math.abs(v.dwellSeconds - (truth[i]![1] - truth[i]![0]) / 1000), `${zone} #${i}`).toBeLessThanOrEqual(0.4));
    }
    expect(sink.storeVisits()).toHaveLength(1);
    expect(sink.storeVisits()[0]).toMatchObject({ entryZone: 'entry', exitZone: 'exit' });
  });

  it('never splits a visit when single positions flicker over the border', () => {
    const { floor, sink } = setup();
    // 15 s in front-1 near its edge; every 5th position lands in the aisle.
    for (let k = 0; k <= 75; k++) floor.observe('flicker', T0 + k * FRAME_MS, 4.5, k % 5 === 4 ? 3.7 : 3.4);
    floor.end('flicker');
    const front = sink.zoneVisits().filter((v) => v.zone === 'front-1');
    expect(front).toHaveLength(1);
    expect(front[0]!.enteredAt).toBe(T0);
    expect(front[0]!.exitedAt).toBe(T0 + 15_000);
    // A single observation in the aisle never opens a visit there.
    expect(sink.zoneVisits().filter((v) => v.zone === 'aisle-main')).toEqual([]);
    expect(sink.dwells().map((d) => d.zone)).toEqual(['front-1']);
  });

  it('keeps shoppers apart and gives no entry or exit zone to a shopper first and last seen elsewhere', () => {
    const { floor, sink } = setup();
    standAt(floor, 'a', T0, T0 + 2000, 7, 6);
    standAt(floor, 'b', T0, T0 + 2000, 1, 7);
    floor.endAll();
    expect(sink.storeVisits('a')).toEqual([{ shopper: 'a', enteredAt: T0, exitedAt: T0 + 2000, picks: 0, entryZone: null, exitZone: null }]);
    expect(sink.storeVisits('b')[0]).toMatchObject({ entryZone: 'entry', exitZone: null });
    expect(floor.occupancy).toBe(0);
  });
});

describe('FloorAnalytics: staff', () => {
  it('marks a shopper entering the staff-only zone as staff and counts nothing of it afterwards', () => {
    const { floor, sink } = setup();
    const path = script([1, 7.25], { stay: 1 }, { walkTo: [1, 3.8] }, { walkTo: [11, 3.8] }, { walkTo: [11, 1] }, { stay: 5 }, { walkTo: [11, 3.8] }, { walkTo: [11, 7.25] });
    play(floor, 'clerk', path);
    const staff = sink.staffs();
    expect(staff).toHaveLength(1);
    expect(staff[0]).toMatchObject({ shopper: 'clerk', reason: 'staff-zone' });
    expect(staff[0]!.at).toBeGreaterThan(T0);
    expect(floor.isStaff('clerk')).toBe(true);
    expect(sink.dwells().map((d) => d.zone)).not.toContain('back-room');
    floor.end('clerk');
    expect(sink.kindsAfterStaff('clerk')).toEqual([]);
    expect(sink.storeVisits()).toEqual([]);
    expect(sink.heats()).toEqual([]);
    expect(floor.counts.staffShoppers).toBe(1);
    expect(floor.counts.storeVisits).toBe(0);
    // The same track id seen again is still staff.
    floor.observe('clerk', T0 + 600_000, 1, 7.25);
    floor.end('clerk');
    expect(sink.storeVisits()).toEqual([]);
  });

  it('leaves out a track marked as staff by an admin', () => {
    const { floor, sink } = setup();
    standAt(floor, 'temp', T0, T0 + 3000, 5, 3.8); // in the aisle: a visit open
    standAt(floor, 'shopper', T0, T0 + 3000, 1, 7.25);
    floor.markStaff('temp', 'admin', T0 + 3100);
    expect(sink.staffs()).toEqual([{ shopper: 'temp', reason: 'admin', at: T0 + 3100 }]);
    expect(floor.isStaff('temp')).toBe(true);
    standAt(floor, 'temp', T0 + 3200, T0 + 8000, 5, 3.1);
    floor.endAll();
    expect(sink.kindsAfterStaff('temp').filter((k) => k !== 'heat')).toEqual([]);
    expect(sink.zoneVisits('temp')).toEqual([]);
    expect(sink.storeVisits('temp')).toEqual([]);
    expect(sink.storeVisits('shopper')).toHaveLength(1);
    // Only the real shopper's heat: 16 ticks.
    expect(sumSeconds(sink.heats())).toBeCloseTo(16 * 0.2, 9);
    // Marking again tells nobody twice.
    floor.markStaff('temp', 'admin', T0 + 9000);
    expect(sink.staffs()).toHaveLength(1);
  });

  it('marks the nearest present shopper within 2 m of a staff badge read', () => {
    const { floor, sink } = setup();
    standAt(floor, 'near', T0, T0 + 2000, 4.5, 3.1);
    standAt(floor, 'farther', T0, T0 + 2000, 5.5, 3.1);
    standAt(floor, 'door', T0, T0 + 2000, 1, 7.25);
    expect(floor.badgeSeen(T0 + 2100, 4.7, 3.0)).toBe('near');
    expect(sink.staffs()).toEqual([{ shopper: 'near', reason: 'badge', at: T0 + 2100 }]);
    expect(floor.isStaff('near')).toBe(true);
    expect(floor.isStaff('farther')).toBe(false);
    // Nobody within 2 m.
    expect(floor.badgeSeen(T0 + 2200, 8, 1)).toBeNull();
    // Nobody seen in the last 2 s.
    expect(floor.badgeSeen(T0 + 6000, 1, 7.25)).toBeNull();
    expect(sink.staffs()).toHaveLength(1);
    floor.endAll();
    expect(sink.storeVisits('near')).toEqual([]);
    expect(sink.zoneVisits('near')).toEqual([]);
    expect(sink.storeVisits('farther')).toHaveLength(1);
    expect(sink.storeVisits('door')).toHaveLength(1);
  });
});

describe('FloorAnalytics: lingering and picks', () => {
  it('reports a shopper standing in front of a gondola over 20 s without a pick as lingering, once', () => {
    const { floor, sink } = setup();
    standAt(floor, 'browser', T0, T0 + 30_000, 4.5, 3.1);
    standAt(floor, 'other-side', T0, T0 + 30_000, 4.5, 4.5); // front-2
    standAt(floor, 'in-aisle', T0, T0 + 30_000, 7, 3.8); // not a shelf front
    expect(sink.lingerings('browser')).toEqual([{ shopper: 'browser', zone: 'front-1', gondola: 1, enteredAt: T0, at: T0 + 20_000 }]);
    expect(sink.lingerings('other-side')).toEqual([{ shopper: 'other-side', zone: 'front-2', gondola: 2, enteredAt: T0, at: T0 + 20_000 }]);
    expect(sink.lingerings('in-aisle')).toEqual([]);
    expect(floor.counts.lingering).toBe(2);
    floor.endAll();
    expect(sink.zoneVisits('browser')).toEqual([
      { shopper: 'browser', zone: 'front-1', enteredAt: T0, exitedAt: T0 + 30_000, dwellSeconds: 30, picks: 0, lingered: true },
    ]);
  });

  it('reports no lingering for a shopper who picked something before 20 s', () => {
    const { floor, sink } = setup();
    standAt(floor, 'buyer', T0, T0 + 10_000, 4.5, 3.1);
    const credit = floor.pick('1.2', T0 + 10_000, T0 + 9_500, { x: 4.5, y: 3.1 });
    expect(credit?.shopper).toBe('buyer');
    standAt(floor, 'buyer', T0 + 10_200, T0 + 30_000, 4.5, 3.1);
    expect(sink.lingerings()).toEqual([]);
    floor.endAll();
    expect(sink.zoneVisits('buyer')).toEqual([{ shopper: 'buyer', zone: 'front-1', enteredAt: T0, exitedAt: T0 + 30_000, dwellSeconds: 30, picks: 1, lingered: false }]);
  });

  it('credits a pick to the shopper standing at the plate, not to the one 1.2 m away', () => {
    const { floor, sink } = setup();
    for (let t = T0; t <= T0 + 4000; t += FRAME_MS) {
      floor.observe('at-plate', t, 4.0, 3.1);
      floor.observe('beside', t, 5.2, 3.1);
    }
    const credit = floor.pick('1.1', T0 + 3000, T0 + 2800, { x: 4.0, y: 3.1 });
    expect(credit).toEqual({ shopper: 'at-plate', shelf: '1.1', zone: 'front-1', distanceM: 0, at: T0 + 3000 });
    expect(sink.picks()).toEqual([credit]);
    floor.endAll();
    expect(sink.zoneVisits('at-plate').filter((v) => v.zone === 'front-1').map((v) => v.picks)).toEqual([1]);
    expect(sink.zoneVisits('beside').filter((v) => v.zone === 'front-1').map((v) => v.picks)).toEqual([0]);
    expect(sink.storeVisits('at-plate')[0]!.picks).toBe(1);
    expect(sink.storeVisits('beside')[0]!.picks).toBe(0);
    expect(floor.counts).toMatchObject({ picks: 1, picksUncredited: 0 });
  });

  it('credits the shopper where they stood when the hand went out, not where they are now', () => {
    const { floor } = setup();
    for (let t = T0; t <= T0 + 4000; t += FRAME_MS) {
      floor.observe('leaving', t, t < T0 + 2000 ? 4.0 : 4.0 + (t - T0 - 2000) / 1000, 3.1); // walks off at 2 s
      floor.observe('arriving', t, t < T0 + 2000 ? 5.8 : Math.max(4.1, 5.8 - (t - T0 - 2000) / 1000), 3.1);
    }
    // At 4 s 'arriving' stands 0.1 m from the plate, 'leaving' 2 m away; the hand went out at 1.5 s.
    expect(floor.pick('1.1', T0 + 4000, T0 + 1500, { x: 4.0, y: 3.1 })?.shopper).toBe('leaving');
  });

  it('credits a shopper within reach outside the front zone when nobody is in it', () => {
    const { floor } = setup();
    standAt(floor, 'aisle', T0, T0 + 2000, 4.5, 3.8);
    const credit = floor.pick('1.3', T0 + 2000, T0 + 1900, { x: 4.5, y: 3.0 });
    expect(credit).toMatchObject({ shopper: 'aisle', zone: null });
    expect(credit!.distanceM).toBeCloseTo(0.8, 9);
  });

  it('returns null and counts the pick uncredited when nobody is near', () => {
    const { floor, sink } = setup();
    standAt(floor, 'door', T0, T0 + 2000, 1, 7.25);
    standAt(floor, 'gone', T0, T0 + 1000, 4.0, 3.1); // in front-1, but last seen 4 s before the pick
    expect(floor.pick('1.1', T0 + 5000, T0 + 4800, { x: 4.0, y: 3.1 })).toBeNull();
    expect(floor.pick('9.9', T0 + 2000, T0 + 1800)).toBeNull(); // no such shelf
    expect(floor.counts).toMatchObject({ picks: 2, picksUncredited: 2 });
    expect(sink.picks()).toEqual([]);
    floor.endAll();
    expect(sink.storeVisits().map((v) => v.picks)).toEqual([0, 0]);
  });
});

describe('FloorAnalytics: stationary objects and heat', () => {
  it('leaves out an object standing in the promo zone for over 300 s: no store visit, no heat, no promo visit', () => {
    const { floor, sink } = setup();
    const random = new Random(11);
    const ticks = standAt(floor, 'mannequin', T0, T0 + 400_000, 9, 4.5, random);
    // A real shopper passing by meanwhile is counted as usual.
    play(floor, 'passer', script([7, 3.8], { walkTo: [11, 3.8] }), T0 + 100_000);
    floor.end('passer');
    expect(floor.occupancy).toBe(0);
    floor.end('mannequin');

    expect(sink.storeVisits().map((v) => v.shopper)).toEqual(['passer']);
    expect(sink.zoneVisits('mannequin')).toEqual([]);
    expect(sink.zoneVisits('passer').map((v) => v.zone)).toEqual(['aisle-main', 'promo']);
    // Heat from the passer only: 4 m at 1 m/s, 21 ticks.
    expect(sumSeconds(sink.heats())).toBeCloseTo(21 * 0.2, 9);
    expect(floor.counts).toMatchObject({ stationaryObjects: 1, stationaryVisitsDropped: 1, heatTicks: 21, heatTicksDroppedStill: ticks, storeVisits: 1 });
  });

  it('sends heat seconds that add up to ticks × 0.2 s for a simple walk', () => {
    const { floor, sink } = setup();
    const last = play(floor, 'walker', script([0.5, 3.8], { walkTo: [6.5, 3.8] }));
    expect(sink.heats()).toEqual([]); // nothing before the track ends
    floor.end('walker');
    const ticks = (last - T0) / FRAME_MS + 1;
    expect(ticks).toBe(31);
    const heats = sink.heats();
    expect(heats.map((h) => [h.hourStart, h.tickSeconds])).toEqual([[T0, 0.2]]);
    expect(sumSeconds(heats)).toBeCloseTo(ticks * 0.2, 9);
    expect(floor.counts.heatTicks).toBe(ticks);
    // Every cell along row y = 3.8 (row 15) from x = 0.5 to 6.5.
    const cells = [...heats[0]!.cells.keys()].sort((a, b) => a - b);
    expect(cells).toEqual(Array.from({ length: 25 }, (_, i) => 15 * 48 + 2 + i));
  });

  it('sends heat per hour for a walk across an hour boundary', () => {
    const { floor, sink } = setup();
    play(floor, 'late', script([0.5, 3.8], { walkTo: [6.5, 3.8] }), T0 + HOUR_MS - 3000);
    floor.end('late');
    const heats = sink.heats();
    expect(heats.map((h) => h.hourStart)).toEqual([T0, T0 + HOUR_MS]);
    expect(sumSeconds([heats[0]!])).toBeCloseTo(15 * 0.2, 9);
    expect(sumSeconds([heats[1]!])).toBeCloseTo(16 * 0.2, 9);
  });

  it('shows the heat of shoppers still on the floor live', () => {
    const { floor } = setup();
    play(floor, 'live', script([0.5, 3.8], { walkTo: [6.5, 3.8] }));
    let live = 0;
    for (const cells of floor.liveHeat().values()) for (const n of cells.values()) live += n;
    // Ticks of stretches already decided (all but the last half metre or so).
    expect(live).toBeGreaterThan(25);
    expect(live).toBeLessThanOrEqual(31);
    expect(floor.occupancy).toBe(1);
  });
});
