/**
 * The simulated store: shelves with real stock, shelf controllers and gates speaking their
 * protocols, cameras looking at shoppers who come, shop and leave — run as time-ordered events
 * so a seed always gives the same day, whether it is recorded at full speed or played live.
 */
import type { StoreConfig } from '../../../device-config/schema.js';
import { encodeGateLine } from '../devices/gate/gate-protocol.js';
import { EventQueue } from './event-queue.js';
import { FloorPaths } from './floor-paths.js';
import type { TruthLine, TruthStream, TruthStreams } from './ground-truth.js';
import { Random } from './random.js';
import { randomAppearance } from './appearance.js';
import { chooseRestockFacing, planRestock, restockBadge, SIM_STAFF_BADGE_PREFIX, type RestockContext, type RestockReach, type RestockVisit } from './restock-walks.js';
import { stockKnobs, type Scenario } from './scenario.js';
import { SimShelfController } from './shelf-controllers.js';
import { DisturbanceSet, knock, press } from './shelf-disturbances.js';
import { facingKey, ShelfStock, type StockUnit } from './shelf-stock.js';
import { SimRfid, type WorldTag } from './sim-rfid.js';
import { STOCK_SNAPSHOT_MS, StockTruth } from './stock-truth.js';
import { ShopperTimeline } from './shopper-timeline.js';
import { StoreLayout, centroid, type Vec2 } from './store-layout.js';
import { VisitPlanner, type GatePlace, type VisitAction } from './visit-planner.js';
import type { WorldSnapshot } from './world-snapshot.js';
import { round3 } from '../numbers.js';

/** Time the entry gate takes to let a party through: a scan, then each member in turn. */
const GATE_PARTY_MS = 1_500;
const GATE_PERSON_MS = 1_500;

export interface SimDeviceRef {
  /** Agent-side device id (`shelf-1.2`, a gate id). */
  device: string;
  /** The device URL in the store configuration. */
  url: string;
  /** The name in the device's `sim://` URL. */
  simName: string;
  kind: 'scale' | 'gate' | 'rfid';
}

/** Where the world's output goes: a recording on disk, or live devices for a running agent. */
export interface SimSink {
  serial(device: SimDeviceRef, at: number, bytes: Buffer): void;
  frame(camera: string, at: number, snapshot: WorldSnapshot): void | Promise<void>;
  truth<S extends TruthStream>(stream: S, record: TruthStreams[S]): void;
}

export interface WorldOptions {
  config: StoreConfig;
  scenario: Scenario;
  /** Continuous arrivals at this rate instead of the scenario's fixed number (the demo). */
  liveShoppersPerHour?: number;
  /** Emit camera frames (off for shelf-only tests). */
  cameras?: boolean;
}

/** Truth track points are taken at this rate when no overhead camera sets it. */
const TRACK_HZ = 5;
/** A day runs on past its planned end until the last shopper has left, at most this long. */
const OVERTIME_MS = 10 * 60_000;

interface MemberState {
  timeline: ShopperTimeline;
  taken: Map<number, StockUnit[]>;
  lines: Map<string, number>;
  zoneVisits: Map<string, number>;
}

export class StoreWorld {
  readonly layout: StoreLayout;
  readonly controllers: SimShelfController[];
  readonly startAt: number;
  readonly plannedEndAt: number;
  readonly stock: ShelfStock;
  private readonly queue = new EventQueue();
  private readonly disturbances = new DisturbanceSet();
  private readonly random: Random;
  private readonly planner: VisitPlanner;
  /** Members of staff on the floor: walks out of the back room to the shelves and back. */
  private readonly staff = new Map<string, ShopperTimeline>();
  private staffToCome = 0;
  /** Staff restocking right now (they are among `staff` too), and the facings they have taken on. */
  private readonly restocks = new Map<string, RestockVisit>();
  private readonly restockClaims = new Set<string>();
  private readonly stockTruth: StockTruth | undefined;
  private readonly members = new Map<string, MemberState>();
  private readonly parties = new Map<string, { token: string; members: string[]; left: number; lines: Map<string, number> }>();
  private readonly gates = new Map<string, { ref: SimDeviceRef; bootDeviceMs: number }>();
  private readonly entry: GatePlace;
  private readonly exit: GatePlace;
  private readonly rfid: SimRfid;
  /** Tags that left through the exit today: some come back as returns. */
  private readonly exitedEpcs: { epc: string; product: string }[] = [];
  private readonly worldTags: WorldTag[] = [];
  private snapshotCache: WorldSnapshot | undefined;
  private sink: SimSink | undefined;
  private partiesToCome = 0;
  private partyCount = 0;
  private weightEventCount = 0;
  private clock: number;
  private over = false;

  constructor(private readonly options: WorldOptions) {
    const { config, scenario } = options;
    this.layout = new StoreLayout(config);
    this.random = new Random(scenario.seed);
    this.startAt = scenario.startAt;
    this.clock = this.startAt;
    this.plannedEndAt = this.startAt + scenario.minutes * 60_000;
    const stockKnobValues = stockKnobs(scenario.knobs);
    const drifting = stockKnobValues.driftingPlate?.plate;
    if (drifting !== undefined && !this.layout.plates.has(drifting)) throw new Error(`invalid scenario knobs: driftingPlate ${drifting} is not a plate of store ${config.store.id}`);
    const emptyFacings = stockKnobValues.emptyFacings > 0 ? { count: stockKnobValues.emptyFacings, random: this.random.fork('empty-facings') } : undefined;
    this.stock = new ShelfStock(this.layout, config.planogram.products, this.random.fork('stock'), 1, emptyFacings);
    this.stockTruth = stockKnobValues.truth
      ? new StockTruth(this.stock, config.planogram.products, { stock: (line) => this.out.truth('stock', line), fault: (fault) => this.out.truth('stock-faults', fault) })
      : undefined;
    const sensors = this.random.fork('sensors');
    this.controllers = [...this.layout.shelves.values()]
      .filter((s) => s.protocol === 'scale-line')
      .map((s) => new SimShelfController(s, config.store.id, sensors.fork(s.key), scenario.knobs, this.startAt));
    for (const g of config.gates) {
      const simName = g.device.startsWith('sim://') ? g.device.slice('sim://'.length) : g.id;
      this.gates.set(g.id, { ref: { device: g.id, url: g.device, simName, kind: 'gate' }, bootDeviceMs: this.random.fork(`gate:${g.id}`).int(1_000, 9_000_000) });
    }
    this.entry = this.gatePlace(['entry', 'entry-exit'], 'entry');
    this.exit = this.gatePlace(['exit', 'entry-exit'], 'exit');
    this.rfid = new SimRfid(this.layout, this.exit, this.random.fork('rfid'), scenario.knobs.rfidMissRate);
    this.planner = new VisitPlanner(
      {
        layout: this.layout,
        paths: new FloorPaths(this.layout),
        stock: this.stock,
        products: config.planogram.products,
        knobs: scenario.knobs,
        entry: this.entry,
        exit: this.exit,
        others: () => this.othersOnTheFloor(),
      },
      this.random.fork('visits'),
    );
    this.scheduleDevices();
    this.scheduleArrivals();
    this.scheduleStaffWalks();
    this.scheduleStockTruth();
    this.scheduleRestocks();
  }

  /** Serial devices the world speaks through (shelf controllers and gates). */
  get serialDevices(): SimDeviceRef[] {
    return [
      ...this.controllers.map((c) => c.ref),
      ...[...this.gates.values()].map((g) => g.ref),
      ...this.rfid.readers.map((r): SimDeviceRef => ({ device: r.config.id, url: r.config.device, simName: r.simName, kind: 'rfid' })),
    ];
  }

  get now(): number {
    return this.clock;
  }

  /** True once the day is over: past its end and everyone has left. */
  get finished(): boolean {
    return this.over;
  }

  /** Time of the next event, for pacing a live run. */
  get nextEventAt(): number | undefined {
    return this.queue.peekTime();
  }

  /** Runs every event up to `until` (store ms), in order; returns whether the day goes on. */
  async runUntil(until: number, sink: SimSink): Promise<boolean> {
    this.sink = sink;
    for (;;) {
      const next = this.queue.peekTime();
      if (next === undefined || next > until || this.over) break;
      const event = this.queue.pop()!;
      this.clock = event.at;
      const pending = event.action();
      if (pending) await pending;
    }
    if (!this.over && this.queue.peekTime() === undefined) this.over = true;
    return !this.over;
  }

  snapshot(at: number): WorldSnapshot {
    if (this.snapshotCache?.at === at) return this.snapshotCache;
    const shoppers = [];
    for (const m of this.members.values()) {
      const pose = m.timeline.poseAt(at);
      if (pose) shoppers.push(pose);
    }
    for (const tl of this.staff.values()) {
      const pose = tl.poseAt(at);
      if (pose) shoppers.push(pose);
    }
    this.snapshotCache = { at, shoppers, units: this.stock.snapshotUnits(), light: lightAt(at - this.startAt) };
    return this.snapshotCache;
  }

  private get out(): SimSink {
    if (!this.sink) throw new Error('the world runs only inside runUntil');
    return this.sink;
  }

  private get dayOver(): boolean {
    if (this.options.liveShoppersPerHour !== undefined || this.clock < this.plannedEndAt) return false;
    return (this.partiesToCome === 0 && this.members.size === 0 && this.staffToCome === 0 && this.staff.size === 0) || this.clock >= this.plannedEndAt + OVERTIME_MS;
  }

  private scheduleDevices(): void {
    for (const c of this.controllers) {
      this.queue.schedule(this.startAt, () => {
        const { at, bytes } = c.boot();
        this.out.serial(c.ref, at, bytes);
      });
      const tick = () => {
        for (const o of c.sample(this.stock, this.disturbances)) this.out.serial(c.ref, o.at, o.bytes);
        if (!this.dayOver) this.queue.schedule(c.nextAt, tick);
        else this.finish();
      };
      this.queue.schedule(c.nextAt, tick);
    }
    this.queue.schedule(this.startAt, () => this.prune());
    for (const reader of this.rfid.readers) {
      const ref: SimDeviceRef = { device: reader.config.id, url: reader.config.device, simName: reader.simName, kind: 'rfid' };
      const round = (n: number) => () => {
        const at = this.startAt + n * this.rfid.roundIntervalMs;
        for (const o of this.rfid.round(reader, at, this.tagsAt(at))) this.out.serial(ref, o.at, o.bytes);
        if (!this.dayOver) this.queue.schedule(this.startAt + (n + 1) * this.rfid.roundIntervalMs, round(n + 1));
      };
      this.queue.schedule(this.startAt, round(0));
    }
    const overhead = this.options.config.cameras.find((c) => c.role === 'overhead');
    const trackPeriod = 1000 / (overhead?.fps ?? TRACK_HZ);
    const track = (n: number) => () => {
      const at = this.startAt + n * trackPeriod;
      for (const m of this.members.values()) {
        const p = m.timeline.positionAt(at);
        if (p && this.insideFloor(p)) this.out.truth('tracks', { at, shopper: m.timeline.id, x: round3(p.x), y: round3(p.y) });
      }
      for (const tl of this.staff.values()) {
        const p = tl.positionAt(at);
        if (p && this.insideFloor(p)) this.out.truth('tracks', { at, shopper: tl.id, x: round3(p.x), y: round3(p.y), staff: true });
      }
      if (!this.dayOver) this.queue.schedule(this.startAt + (n + 1) * trackPeriod, track(n + 1));
    };
    this.queue.schedule(this.startAt, track(0));
    if (this.options.cameras === false) return;
    for (const cam of this.options.config.cameras) {
      const period = 1000 / cam.fps;
      const frame = (n: number) => async () => {
        const at = this.startAt + n * period;
        await this.out.frame(cam.id, at, this.snapshot(at));
        if (!this.dayOver) this.queue.schedule(this.startAt + (n + 1) * period, frame(n + 1));
      };
      this.queue.schedule(this.startAt, frame(0));
    }
  }

  private prune(): void {
    this.disturbances.prune(this.clock);
    this.queue.schedule(this.clock + 1_000, () => this.prune());
  }

  private finish(): void {
    this.over = true;
  }

  private scheduleArrivals(): void {
    const arrivals = this.random.fork('arrivals');
    const { scenario } = this.options;
    if (this.options.liveShoppersPerHour !== undefined) {
      const meanGap = 3_600_000 / Math.max(1, this.options.liveShoppersPerHour);
      const next = (at: number) => {
        this.queue.schedule(at, () => {
          this.arrive(arrivals.chance(scenario.knobs.groupRate) ? arrivals.int(2, 3) : 1);
          next(this.clock + arrivals.exponential(meanGap));
        });
      };
      next(this.startAt + 2_000);
      return;
    }
    const sizes: number[] = [];
    for (let left = scenario.shoppers; left > 0; ) {
      const size = arrivals.chance(scenario.knobs.groupRate) ? Math.min(left, arrivals.int(2, 3)) : 1;
      sizes.push(size);
      left -= size;
    }
    this.partiesToCome = sizes.length;
    if (scenario.profile === 'easy') {
      // One party at a time: the next comes in a little after the last one has left.
      const next = (i: number, at: number) => {
        if (i >= sizes.length) return;
        this.queue.schedule(at, () => {
          const members = this.arrive(sizes[i]!);
          const leaves = Math.max(...members.map((m) => m.leaveAt));
          next(i + 1, leaves + 2_000 + arrivals.exponential(6_000));
        });
      };
      next(0, this.startAt + 2_000);
      return;
    }
    const windowMs = Math.max(0.3 * (this.plannedEndAt - this.startAt), this.plannedEndAt - this.startAt - 100_000);
    const times = sizes.map(() => this.startAt + 2_000 + arrivals.float() * windowMs).sort((a, b) => a - b);
    // The entry gate lets one party through at a time: the next waits until the last one is in.
    for (let i = 1; i < times.length; i++) times[i] = Math.max(times[i]!, times[i - 1]! + GATE_PARTY_MS + sizes[i - 1]! * GATE_PERSON_MS);
    sizes.forEach((size, i) => this.queue.schedule(times[i]!, () => void this.arrive(size)));
  }

  /**
   * Staff come out of the back room (the first staff-only zone), work at one or two shelves for
   * a while without changing stock, and go back. They are on camera but must never be counted.
   */
  private scheduleStaffWalks(): void {
    const walks = this.options.scenario.knobs.staffWalks;
    const room = this.layout.zonesOfType('staff-only')[0];
    if (walks === 0 || !room || this.layout.plates.size === 0) return;
    const random = this.random.fork('staff');
    const paths = new FloorPaths(this.layout);
    const plates = [...this.layout.plates.values()];
    const windowMs = Math.max(60_000, this.plannedEndAt - this.startAt - 120_000);
    this.staffToCome = walks;
    for (let i = 0; i < walks; i++) {
      const at = this.startAt + 5_000 + random.float() * windowMs;
      this.queue.schedule(at, () => {
        this.staffToCome -= 1;
        const start = paths.nearestFree(room.centroid);
        const tl = new ShopperTimeline(`staff-${String(i + 1).padStart(2, '0')}`, '', '', randomAppearance(random), this.clock, start);
        tl.stand(1_500);
        const speed = this.options.scenario.knobs.walkSpeedMps;
        for (let k = random.int(1, 2); k > 0; k--) {
          const plate = random.pick(plates);
          const gondola = this.layout.gondolas.find((g) => g.id === plate.gondola)!;
          tl.walk(paths.route(tl.position, paths.nearestFree(plate.standAt)).slice(1), speed);
          tl.stand(random.between(20_000, 60_000), Math.atan2(gondola.inward.y, gondola.inward.x));
        }
        tl.walk(paths.route(tl.position, start).slice(1), speed);
        tl.stand(1_500);
        this.staff.set(tl.id, tl);
        this.queue.schedule(tl.leaveAt, () => void this.staff.delete(tl.id));
      });
    }
  }

  /** The stock as the day starts (with the planted drift), then a snapshot every 10 s. */
  private scheduleStockTruth(): void {
    const truth = this.stockTruth;
    if (!truth) return;
    this.queue.schedule(this.startAt, () => {
      truth.start(this.startAt);
      const drifting = this.options.scenario.knobs.driftingPlate;
      if (!drifting) return;
      const own = this.options.config.planogram.products.find((p) => p.plates.includes(drifting.plate));
      const total = this.controllers.flatMap((c) => c.noise).find((n) => n.plate === drifting.plate)?.driftGPerHour ?? drifting.gPerHour;
      this.out.truth('stock-faults', {
        at: this.startAt,
        kind: 'drift',
        plate: drifting.plate,
        ...(own ? { product: own.id } : {}),
        detail: `drifts ${round3(total)} g/h (${drifting.gPerHour} g/h planted on top of its own small drift)`,
      });
    });
    const snapshot = (n: number) => () => {
      truth.snapshot(this.startAt + n * STOCK_SNAPSHOT_MS);
      if (!this.dayOver) this.queue.schedule(this.startAt + (n + 1) * STOCK_SNAPSHOT_MS, snapshot(n + 1));
    };
    this.queue.schedule(this.startAt + STOCK_SNAPSHOT_MS, snapshot(1));
  }

  /** Restock walks at spread times over the day: one in each equal slice of it, at a seeded moment. */
  private scheduleRestocks(): void {
    const { restockWalks: walks, restockBelowUnits } = stockKnobs(this.options.scenario.knobs);
    const room = this.layout.zonesOfType('staff-only')[0];
    if (walks === 0 || !room || this.layout.plates.size === 0) return;
    const random = this.random.fork('restock');
    const context: RestockContext = { layout: this.layout, paths: new FloorPaths(this.layout), speed: this.options.scenario.knobs.walkSpeedMps, room: room.centroid, others: () => this.othersOnTheFloor() };
    const prefix = (this.options.config.analytics?.staffBadges?.[0] ?? SIM_STAFF_BADGE_PREFIX).toUpperCase();
    const windowMs = Math.max(60_000, this.plannedEndAt - this.startAt - 120_000);
    this.staffToCome += walks;
    for (let i = 0; i < walks; i++) {
      const at = this.startAt + 5_000 + (windowMs * (i + random.between(0.2, 0.8))) / walks;
      const staff = `restock-${String(i + 1).padStart(2, '0')}`;
      this.queue.schedule(at, () => {
        this.staffToCome -= 1;
        this.restockWalk(context, random, staff, restockBadge(prefix, i + 1), restockBelowUnits);
      });
    }
  }

  private restockWalk(context: RestockContext, random: Random, staff: string, badge: string, belowUnits: number): void {
    const target = chooseRestockFacing(this.stock, belowUnits, this.restockClaims, random);
    if (!target) return;
    const claim = facingKey(target.plate, target.product);
    this.restockClaims.add(claim);
    const visit = planRestock(context, random, staff, badge, this.clock, target);
    this.restocks.set(staff, visit);
    this.staff.set(staff, visit.timeline);
    let units = 0;
    for (const reach of visit.reaches) {
      this.queue.schedule(reach.contactAt, () => this.restockContact(visit, reach));
      this.queue.schedule(reach.liftAt, () => void (units += this.restockPut(visit, reach, random)));
    }
    const end = visit.reaches.length > 0 ? visit.reaches[visit.reaches.length - 1]!.settleAt : visit.leaveShelfAt;
    this.queue.schedule(end, () => {
      this.restockClaims.delete(claim);
      const { plate, product, shelf } = visit.target;
      this.out.truth('restocks', { at: visit.arriveAt, end, shelf, plate, product, units, staff, badge });
    });
    this.queue.schedule(visit.timeline.leaveAt, () => {
      this.staff.delete(staff);
      this.restocks.delete(staff);
    });
  }

  /** Shoppers and restocking staff, whom a shopper (or restocker) planning a visit makes room for. */
  private othersOnTheFloor(): ShopperTimeline[] {
    return [...[...this.members.values()].map((m) => m.timeline), ...[...this.restocks.values()].map((v) => v.timeline)];
  }

  private restockContact(visit: RestockVisit, r: RestockReach): void {
    const plate = visit.target.plate;
    this.disturbances.add(press(plate, r.contactAt, r.liftAt + 200 - r.contactAt, r.pressGrams, r.hz + 1));
    const shelf = this.layout.shelves.get(visit.target.shelf)!;
    const i = shelf.plates.findIndex((p) => p.key === plate);
    for (const p of [shelf.plates[i], shelf.plates[i - 1], shelf.plates[i + 1]]) {
      if (p) this.disturbances.add(knock(p.key, r.liftAt, p.key === plate ? r.knockGrams : r.knockGrams * 0.4, r.tauMs, r.hz));
    }
  }

  /** Units of one reach onto the facing, never past full; returns how many went on. */
  private restockPut(visit: RestockVisit, r: RestockReach, random: Random): number {
    const { plate, product, shelf, full } = visit.target;
    const now = this.stock.facingUnits().get(facingKey(plate, product)) ?? 0;
    const units: StockUnit[] = [];
    for (let k = Math.min(r.units, full - now); k > 0; k--) {
      const unit = this.stock.restock(product, plate, random);
      if (!unit) break;
      units.push(unit);
    }
    if (units.length === 0) {
      this.out.truth('touches', { shopper: visit.staff, plates: [plate], kind: 'empty-reach', tStart: r.contactAt, tEnd: r.settleAt });
      return 0;
    }
    this.weightEvent('return', visit.staff, '', product, shelf, units, 1, r.contactAt, r.settleAt, false, true);
    this.stockTruth?.changed(r.liftAt, 'restock', r.settleAt, visit.staff);
    return units.length;
  }

  private arrive(size: number): ShopperTimeline[] {
    this.partiesToCome = Math.max(0, this.partiesToCome - 1);
    const party = `p${String(++this.partyCount).padStart(4, '0')}`;
    const planned = this.planner.planParty(this.clock, size, party);
    this.parties.set(party, { token: planned[0]!.timeline.token, members: planned.map((m) => m.timeline.id), left: 0, lines: new Map() });
    for (const { timeline, actions } of planned) {
      this.members.set(timeline.id, { timeline, taken: new Map(), lines: new Map(), zoneVisits: new Map() });
      for (const action of actions) this.queue.schedule(action.at, () => this.carryOut(action));
    }
    return planned.map((p) => p.timeline);
  }

  private carryOut(a: VisitAction): void {
    const member = this.members.get(a.shopper);
    if (!member) return;
    const tl = member.timeline;
    switch (a.kind) {
      case 'scan':
        this.gateLine(a.gate, { kind: 'scan', token: a.token }, a.shopper);
        return;
      case 'pass':
        this.gateLine(a.gate, { kind: 'pass', direction: a.direction }, a.shopper);
        if (a.gate === this.exit.id) this.tagPassages(member, a.gate, a.direction);
        return;
      case 'carry-in': {
        // Half the time it is an item that left earlier today: its tag has been billed before.
        const earlier = this.exitedEpcs.filter((e) => e.product === a.product);
        const reuse = earlier.length > 0 && this.random.chance(0.5) ? this.random.pick(earlier).epc : undefined;
        const unit = this.stock.outsideUnit(a.product, reuse);
        if (!unit) return;
        member.taken.set(a.item, [unit]);
        tl.take(unit.product, a.at);
        return;
      }
      case 'linger-end':
        this.tagPassages(member, a.gate, 'linger');
        return;
      case 'contact': {
        const share = a.pressGrams / a.plates.length;
        for (const plate of a.plates) this.disturbances.add(press(plate, a.at, a.liftAt + 200 - a.at, share, a.hz + 1));
        for (const plate of a.knockPlates) {
          const grams = plate === a.knockPlates[0] ? a.knockGrams : a.knockGrams * 0.4;
          this.disturbances.add(knock(plate, a.liftAt, grams, a.tauMs, a.hz));
        }
        return;
      }
      case 'take': {
        const units: StockUnit[] = [];
        for (let i = 0; i < a.count; i++) {
          const unit = this.stock.take(a.product, a.shelf, a.nearU);
          if (unit) units.push(unit);
        }
        if (units.length === 0) {
          this.out.truth('touches', { shopper: a.shopper, plates: [], kind: 'empty-reach', tStart: a.contactAt, tEnd: a.settleAt });
          return;
        }
        member.taken.set(a.item, units);
        for (const u of units) tl.take(u.product, a.at);
        this.addLine(member, a.product, units.length);
        this.weightEvent('pick', a.shopper, tl.token, a.product, a.shelf, units, -1, a.contactAt, a.settleAt, false);
        this.stockTruth?.changed(a.at, 'pick', a.settleAt, a.shopper);
        return;
      }
      case 'return':
      case 'misplace': {
        const units = member.taken.get(a.item);
        const unit = units?.pop();
        if (!unit) return;
        tl.release(unit.product, a.at);
        let placed: StockUnit | undefined;
        if (a.kind === 'return' && this.stock.returnToFacing(unit, a.shelf)) placed = this.latestUnit(unit.id);
        else {
          this.stock.misplace(unit, this.layout.plates.get(a.kind === 'misplace' ? a.plate : this.anyPlateOf(a.shelf))!);
          placed = this.latestUnit(unit.id);
        }
        if (!placed) return;
        this.addLine(member, unit.product, -1);
        this.weightEvent('return', a.shopper, tl.token, unit.product, placed.shelf, [placed], 1, a.contactAt, a.settleAt, placed.misplaced);
        this.stockTruth?.changed(a.at, placed.misplaced ? 'misplace' : 'put-back', a.settleAt, a.shopper);
        this.stockTruth?.placed(this.stock.plateUnder(placed), placed.product, a.settleAt, a.shopper);
        return;
      }
      case 'hand-rest':
        this.disturbances.add(press(a.plate, a.at, a.until - a.at, a.grams, 0.7));
        this.out.truth('touches', { shopper: a.shopper, plates: [a.plate], kind: 'hand-rest', tStart: a.at, tEnd: a.until });
        return;
      case 'leave':
        this.leave(member);
        return;
    }
  }

  /** Ground truth for every tagged unit a shopper carries through (or lingers at) the exit gate. */
  private tagPassages(member: MemberState, gate: string, direction: 'out' | 'in' | 'linger'): void {
    for (const units of member.taken.values()) {
      for (const u of units) {
        if (!u.epc) continue;
        this.out.truth('rfid-passages', { epc: u.epc, product: u.product, gate, direction, at: this.clock, shopper: member.timeline.id });
        if (direction === 'out') this.exitedEpcs.push({ epc: u.epc, product: u.product });
      }
    }
  }

  /** Where every tag is at time `at`: on its shelf, or with the shopper carrying it. */
  private tagsAt(at: number): WorldTag[] {
    const tags = this.worldTags;
    tags.length = 0;
    for (const u of this.stock.allUnits()) {
      if (!u.epc) continue;
      const shelf = this.layout.shelves.get(u.shelf);
      const g = shelf && this.layout.gondolas.find((x) => x.id === shelf.gondola);
      if (!shelf || !g) continue;
      const v = u.depth + 0.05;
      tags.push({ epc: u.epc, x: g.origin.x + g.along.x * u.u + g.inward.x * v, y: g.origin.y + g.along.y * u.u + g.inward.y * v, z: shelf.heightM + 0.05, shelf: u.shelf });
    }
    for (const m of this.members.values()) {
      const p = m.timeline.positionAt(at);
      if (!p) continue;
      for (const units of m.taken.values()) for (const u of units) if (u.epc) tags.push({ epc: u.epc, x: p.x, y: p.y, z: 0.9, shelf: undefined });
    }
    for (const v of this.restocks.values()) {
      const p = v.timeline.positionAt(at);
      // A badge clipped on at the chest.
      if (p) tags.push({ epc: v.badge, x: p.x, y: p.y, z: 1.3, shelf: undefined });
    }
    return tags;
  }

  private weightEvent(kind: 'pick' | 'return', shopper: string, token: string, product: string, shelf: string, units: StockUnit[], sign: number, tStart: number, tEnd: number, misplaced: boolean, restock = false): void {
    const plates: Record<string, number> = {};
    let delta = 0;
    for (const unit of units) {
      for (const s of this.stock.shares(unit)) {
        plates[s.plate] = round3((plates[s.plate] ?? 0) + sign * s.grams);
        delta += sign * s.grams;
      }
    }
    this.weightEventCount += 1;
    this.out.truth('weight-events', {
      id: `we-${String(this.weightEventCount).padStart(6, '0')}`,
      kind,
      shopper,
      token,
      product,
      count: units.length,
      shelf,
      plates,
      deltaGrams: round3(delta),
      tStart,
      tEnd,
      misplaced,
      ...(restock ? { restock: true as const } : {}),
    });
  }

  private leave(member: MemberState): void {
    const tl = member.timeline;
    this.members.delete(tl.id);
    this.out.truth('carts', { shopper: tl.id, token: tl.token, party: tl.party, enteredAt: tl.enterAt, leftAt: this.clock, lines: linesOf(member.lines) });
    for (const visit of this.dwellOf(tl)) this.out.truth('dwell', visit);
    const party = this.parties.get(tl.party)!;
    for (const [product, n] of member.lines) party.lines.set(product, (party.lines.get(product) ?? 0) + n);
    party.left += 1;
    if (party.left < party.members.length) return;
    this.parties.delete(tl.party);
    const catalogue = this.options.config.planogram.products;
    const lines = linesOf(party.lines).map((l) => {
      const p = catalogue.find((x) => x.id === l.product)!;
      return { product: l.product, name: p.name, count: l.count, unitPrice: p.price, total: p.price * l.count };
    });
    this.out.truth('receipts', {
      token: party.token,
      party: tl.party,
      shoppers: party.members,
      closedAt: this.clock,
      currency: this.options.config.store.currency,
      lines,
      total: lines.reduce((s, l) => s + l.total, 0),
    });
  }

  /** Zone visits of a whole timeline, sampled every 50 ms. */
  private dwellOf(tl: ShopperTimeline) {
    const visits: { shopper: string; zone: string; enteredAt: number; exitedAt: number; dwellSeconds: number }[] = [];
    const open = new Map<string, number>();
    const step = 50;
    for (let t = tl.enterAt; t <= tl.leaveAt + step; t += step) {
      const p = tl.positionAt(Math.min(t, tl.leaveAt - 1));
      const inside = new Set(p && t <= tl.leaveAt ? this.layout.zonesAt(p).map((z) => z.id) : []);
      for (const z of inside) if (!open.has(z)) open.set(z, t);
      for (const [z, since] of open) {
        if (!inside.has(z)) {
          visits.push({ shopper: tl.id, zone: z, enteredAt: since, exitedAt: t, dwellSeconds: round3((t - since) / 1000) });
          open.delete(z);
        }
      }
    }
    return visits;
  }

  private gateLine(gate: string, message: { kind: 'scan'; token: string } | { kind: 'pass'; direction: 'in' | 'out' }, shopper: string): void {
    const g = this.gates.get(gate);
    const deviceTs = g ? Math.floor(g.bootDeviceMs + (this.clock - this.startAt)) >>> 0 : undefined;
    this.out.truth('gate-events', { at: this.clock, gate, ...message, shopper });
    if (g) this.out.serial(g.ref, this.clock + 2, encodeGateLine({ ...message, deviceTs }));
  }

  private gatePlace(kinds: string[], zoneType: 'entry' | 'exit'): GatePlace {
    const gate = this.options.config.gates.find((g) => kinds.includes(g.kind));
    const zone = (gate?.zone && this.layout.zone(gate.zone)) || this.layout.zonesOfType(zoneType)[0];
    const inside = zone ? zone.centroid : { x: 0.6, y: this.layout.depthM / 2 };
    // The gate stands where the zone meets the nearest wall.
    const walls = [
      { x: 0, y: inside.y },
      { x: this.layout.widthM, y: inside.y },
      { x: inside.x, y: 0 },
      { x: inside.x, y: this.layout.depthM },
    ];
    const wall = walls.reduce((a, b) => (Math.hypot(b.x - inside.x, b.y - inside.y) < Math.hypot(a.x - inside.x, a.y - inside.y) ? b : a));
    const outside = { x: wall.x + Math.sign(wall.x - inside.x) * 0.3, y: wall.y + Math.sign(wall.y - inside.y) * 0.3 };
    return { id: gate?.id ?? `${zoneType}-gate`, outside, inside: zone ? centroid(zone.polygon) : inside };
  }

  private insideFloor(p: Vec2): boolean {
    return p.x >= 0 && p.y >= 0 && p.x <= this.layout.widthM && p.y <= this.layout.depthM;
  }

  private addLine(member: MemberState, product: string, n: number): void {
    member.lines.set(product, (member.lines.get(product) ?? 0) + n);
  }

  private latestUnit(id: number): StockUnit | undefined {
    for (const u of this.stock.allUnits()) if (u.id === id) return u;
    return undefined;
  }

  private anyPlateOf(shelf: string): string {
    return this.layout.shelves.get(shelf)!.plates[0]!.key;
  }
}

function linesOf(map: Map<string, number>): TruthLine[] {
  return [...map.entries()].filter(([, n]) => n > 0).map(([product, count]) => ({ product, count })).sort((a, b) => a.product.localeCompare(b.product));
}

/** Store lighting: slow swells and a faint flicker, around 1. */
function lightAt(ms: number): number {
  return 1 + 0.025 * Math.sin(ms / 2_700) + 0.012 * Math.sin(ms / 137) + 0.006 * Math.sin(ms / 9.7);
}
