/**
 * Shelf stock in the agent: the stock book kept from weight events and settled plate readings,
 * every movement stored with the levels it leads to, restocks by staff told apart from shopping,
 * and stock alerts for staff and the cloud — low and out of stock once a shelf has settled, an
 * item left on a plate it does not belong to, a plate whose reading cannot be true — each raised
 * once while it lasts and resolved when it ends.
 */
import type { StoreConfig } from '../../../device-config/schema.js';
import type { BusEvents, EventBus } from '../bus.js';
import type { StoreDatabase } from '../db/database.js';
import { StaffAlerts } from '../alerts/staff-alerts.js';
import { StockRepository, type StoredLevel } from '../db/repositories/stock.js';
import { describeError } from '../errors.js';
import type { Component, ComponentHealth } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { ShelfGramsTick } from '../shelf/shelf-tick.js';
import type { StoreLayout } from '../sim/store-layout.js';
import type { RestockWindows } from './restock-windows.js';
import { StockBook, type Facing, type StockChange } from './stock-book.js';
import type { StockSummaryPayload } from '../../../sync/summary-payloads.js';
import { StaffBadges } from '../analytics/staff-badges.js';

/** How often a quiet shelf's plates are read as stock (store time). */
const SETTLE_EVERY_MS = 1_000;
/** A tracked zero is stored again once it moved this much. */
const ZERO_STORE_GRAMS = 0.5;
/** Staff this close to where one stands at a shelf, seen this recently, are restocking it. */
const STAFF_REACH_M = 1.2;
const STAFF_SEEN_MS = 3_000;
const SHELF_BUTTON = 'shelf button';

export interface StockServiceOptions {
  config: StoreConfig;
  database: StoreDatabase;
  bus: EventBus;
  log: Logger;
  layout: StoreLayout;
  restock: RestockWindows;
  /** Latest calibrated grams of a plate, null before its first reading. */
  gramsOn: (plate: string) => number | null;
  /** A shelf's weight change still unfinished; its plates' noise. */
  shelves: { isBusy(shelf: string): boolean; noise(shelf: string): readonly number[] | undefined };
  clock: () => number;
}

export class StockService implements Component {
  readonly name = 'stock';
  readonly dependsOn = ['database'] as const;
  readonly book: StockBook;
  private repo: StockRepository | undefined;
  private alerts: StaffAlerts | undefined;
  private readonly lastEventAt = new Map<string, number>();
  private readonly lastSettleAt = new Map<string, number>();
  private readonly storedZero = new Map<string, number>();
  private readonly staff = new Map<string, { x: number; y: number; at: number }>();
  private readonly decided = new Map<number, BusEvents['checkout.line']>();
  private readonly standAt = new Map<string, { x: number; y: number }[]>();
  private readonly platesOf = new Map<string, { key: string; index: number }[]>();
  private readonly badges: StaffBadges;
  private readonly lowUnits = new Map<string, number>();
  private failures = 0;
  private lastFailure: string | undefined;
  readonly counts = { movements: 0, settles: 0, corrections: 0, restockArrivals: 0, alertsRaised: 0 };

  constructor(private readonly options: StockServiceOptions) {
    this.book = new StockBook(options.config.planogram.products, options.config.stock.driftTracking);
    for (const shelf of options.layout.shelves.values()) {
      this.platesOf.set(shelf.key, shelf.plates.map((p) => ({ key: p.key, index: p.index })));
      this.standAt.set(shelf.key, shelf.plates.map((p) => p.standAt));
    }
    this.badges = new StaffBadges(options.config.analytics.staffBadges);
    for (const p of options.config.planogram.products) if (p.lowStockUnits !== undefined) this.lowUnits.set(p.id, p.lowStockUnits);
  }

  get restock(): RestockWindows {
    return this.options.restock;
  }

  /** Whether a product may be offered: known to be on a shelf, or not known to be gone. */
  inStock(product: string): boolean {
    return this.book.inStock(product);
  }

  /** Per product for the hourly summary: units at the hour's end, movements in it, time out of stock per facing. */
  hour(from: number, to: number): StockSummaryPayload['products'] | undefined {
    const repo = this.repo;
    if (!repo || this.book.facings.length === 0) return undefined;
    const moved = repo.movedSince(to);
    const byProduct = new Map<string, StockSummaryPayload['products'][number]>();
    for (const f of this.book.facings) {
      let p = byProduct.get(f.product);
      if (!p) byProduct.set(f.product, (p = { product: f.product, unitsOnShelf: 0, sold: 0, putBack: 0, velocity: 0, restocked: 0, corrected: 0, outOfStockSeconds: [] }));
      p.unitsOnShelf += Math.max(0, f.units - (moved.get(f.plate) ?? 0));
    }
    for (const h of repo.productHour(from, to)) {
      const p = byProduct.get(h.product);
      if (!p) continue;
      Object.assign(p, { sold: h.sold, putBack: h.putBack, velocity: h.sold - h.putBack, restocked: h.restocked, corrected: h.corrected });
    }
    for (const o of repo.outages(from, to)) {
      const seconds = (Math.min(o.endedAt ?? to, to) - Math.max(o.startedAt, from)) / 1000;
      byProduct.get(o.product)?.outOfStockSeconds.push({ plate: o.plate, seconds: Math.round(seconds) });
    }
    return [...byProduct.values()].sort((a, b) => (a.product < b.product ? -1 : 1));
  }

  async start(): Promise<void> {
    const db = this.options.database.handle;
    this.repo = new StockRepository(db);
    this.alerts = new StaffAlerts(db, this.options.config.store.id, this.options.bus);
    for (const level of this.repo.levels()) {
      this.book.restore(level);
      this.storedZero.set(level.plate, level.zero);
    }
    const { bus, config } = this.options;
    bus.on('shelf.weight-event', this.name, (e) => {
      this.lastEventAt.set(e.shelf, e.tEnd);
      const decided = this.decided.get(e.id);
      this.decided.delete(e.id);
      // A return checkout gave to a shopper during a restock is theirs (a stray beside the staff).
      const restocking = this.options.restock.active(e.shelf, e.tEnd) && decided?.kind !== 'return';
      const changes = this.book.weightEvent(e, restocking, decided?.kind === 'return' ? decided : undefined);
      if (restocking && e.kind === 'return') this.counts.restockArrivals += 1;
      this.store(changes);
      for (const c of changes) {
        if (c.kind === 'misplaced') this.raise('misplaced', `${c.plate}:${c.product}`, { plate: c.plate, product: c.product, weightEvent: c.weightEvent });
        if (c.kind === 'misplaced-removed' && !this.book.facing(c.plate)?.foreign.some((f) => f.product === c.product)) this.resolve('misplaced', `${c.plate}:${c.product}`, { plate: c.plate });
      }
    });
    // Checkout decides before this service hears the same weight event (it listens first).
    bus.on('checkout.line', this.name, (d) => {
      this.decided.set(d.weightEvent, d);
      if (this.decided.size > 100) this.decided.delete(this.decided.keys().next().value!);
    });
    bus.on('analytics.staff', this.name, (s) => void this.staff.set(s.shopper, { x: NaN, y: NaN, at: -Infinity }));
    bus.on('vision.shoppers', this.name, (u) => {
      for (const t of u.tracks) {
        const known = this.staff.get(t.id);
        if (known) Object.assign(known, { x: t.x, y: t.y, at: t.at });
      }
      for (const id of u.ended) this.staff.delete(id);
    });
    this.options.restock.staffAt = (shelf, at) => this.staffAtShelf(shelf, at);
    // The shelf's restock button toggles restock mode there: on for stock.restockMinutes, off again.
    bus.on('shelf.button', this.name, (b) => {
      if (b.button !== 'RESTOCK') return;
      const on = this.options.restock.list(b.at).some((w) => w.shelf === b.shelf && w.by === SHELF_BUTTON);
      if (on) this.options.restock.stop(b.shelf);
      else this.options.restock.start(b.shelf, b.at + config.stock.restockMinutes * 60_000, SHELF_BUTTON);
      this.options.log.info({ shelf: b.shelf, restocking: !on }, on ? 'restock mode off (shelf button)' : 'restock mode on (shelf button)');
    });
    bus.on('rfid.tag', this.name, (o) => {
      if (o.kind !== 'seen' || !o.shelf || !this.badges.matches(o.epc)) return;
      this.options.restock.start(o.shelf, o.at + config.stock.restockMinutes * 60_000, `badge ${o.epc}`);
    });
  }

  async stop(): Promise<void> {
    this.options.bus.removeAllOf(this.name);
    this.options.restock.staffAt = undefined;
    this.repo = undefined;
  }

  /** On the shelf sample path: one comparison per tick, the settle work once a second per shelf. */
  readonly sink = (tick: ShelfGramsTick): void => {
    const last = this.lastSettleAt.get(tick.shelf) ?? 0;
    if (tick.at - last < SETTLE_EVERY_MS) return;
    this.lastSettleAt.set(tick.shelf, tick.at);
    this.settleShelf(tick.shelf, tick.at);
  };

  private settleShelf(shelf: string, at: number): void {
    if (!this.repo) return;
    const quietMs = this.options.config.stock.quietSeconds * 1000;
    if (this.options.shelves.isBusy(shelf) || at - (this.lastEventAt.get(shelf) ?? -Infinity) < quietMs) return;
    const noise = this.options.shelves.noise(shelf) ?? [];
    const changes: StockChange[] = [];
    const touched: Facing[] = [];
    for (const { key, index } of this.platesOf.get(shelf) ?? []) {
      const f = this.book.facing(key);
      const grams = this.options.gramsOn(key);
      if (!f || grams === null) continue;
      const wasSettled = f.settledAt !== null;
      const change = this.book.settle(key, grams, noise[index] ?? 1, at);
      this.counts.settles += 1;
      if (change) {
        changes.push(change);
        if (wasSettled) this.counts.corrections += 1;
      }
      touched.push(f);
    }
    if (changes.length > 0) this.store(changes);
    // A zero that followed drift is kept too, so a restart does not read the drift as units.
    const drifted = touched.filter((f) => Math.abs(f.zero - (this.storedZero.get(f.plate) ?? 0)) > ZERO_STORE_GRAMS && !changes.some((c) => c.plate === f.plate));
    if (drifted.length > 0) this.storeLevels(drifted);
    for (const f of touched) this.checkFacing(f, at);
  }

  /** Low, out and implausible: judged on settled plates only, so a hand on the shelf raises nothing. */
  private checkFacing(f: Facing, at: number): void {
    const low = this.lowUnits.get(f.product) ?? this.options.config.stock.lowUnits;
    const detail = { plate: f.plate, product: f.product, units: f.units };
    if (f.implausible) this.raise('plate-implausible', f.plate, { ...detail, reason: f.implausible });
    else this.resolve('plate-implausible', f.plate, detail);
    if (f.implausible || f.settledAt === null) return;
    const out = f.units === 0;
    if (out) this.raise('out-of-stock', f.plate, detail);
    else this.resolve('out-of-stock', f.plate, detail);
    if (!out && f.units <= low) this.raise('low-stock', f.plate, { ...detail, threshold: low });
    else this.resolve('low-stock', f.plate, detail);
    try {
      this.repo?.outage(f.plate, f.product, out, at);
    } catch (err) {
      this.fail(err);
    }
  }

  private levelOf(f: Facing): StoredLevel {
    this.storedZero.set(f.plate, f.zero);
    return { plate: f.plate, product: f.product, units: f.units, zero: f.zero, foreign: f.foreign, settledAt: f.settledAt };
  }

  private storeLevels(facings: readonly Facing[]): void {
    try {
      this.repo?.record([], facings.map((f) => this.levelOf(f)), this.options.clock());
    } catch (err) {
      this.fail(err);
    }
  }

  private store(changes: readonly StockChange[]): void {
    if (!this.repo || changes.length === 0) return;
    const plates = new Set(changes.map((c) => c.plate));
    const levels: StoredLevel[] = [...plates].map((plate) => this.levelOf(this.book.facing(plate)!));
    try {
      this.repo.record(changes, levels, this.options.clock());
      this.counts.movements += changes.length;
      for (const c of changes) this.options.bus.emit('stock.changed', c);
    } catch (err) {
      this.fail(err);
    }
  }

  private raise(kind: string, subject: string, detail: Record<string, unknown>): void {
    try {
      if (this.alerts?.raise(kind, subject, detail, this.options.clock())) this.counts.alertsRaised += 1;
    } catch (err) {
      this.fail(err);
    }
  }

  private resolve(kind: string, subject: string, detail: Record<string, unknown>): void {
    try {
      this.alerts?.resolve(kind, subject, detail, this.options.clock());
    } catch (err) {
      this.fail(err);
    }
  }

  /** A member of staff (a track analytics knows as staff) seen lately where one stands to reach the shelf. */
  private staffAtShelf(shelf: string, at: number): boolean {
    if (this.staff.size === 0) return false;
    const spots = this.standAt.get(shelf) ?? [];
    for (const s of this.staff.values()) {
      if (at - s.at > STAFF_SEEN_MS || s.at - at > STAFF_SEEN_MS) continue;
      if (spots.some((p) => Math.hypot(p.x - s.x, p.y - s.y) <= STAFF_REACH_M)) return true;
    }
    return false;
  }


  private fail(err: unknown): void {
    this.failures += 1;
    this.lastFailure = describeError(err);
    this.options.log.error({ err }, 'stock fact not stored');
  }

  health(): ComponentHealth {
    const facings = this.book.facings;
    const now = this.options.clock();
    return {
      status: this.failures > 0 ? 'degraded' : 'up',
      ...(this.lastFailure ? { detail: `${this.failures} stock facts failed: ${this.lastFailure}` } : {}),
      facings: facings.length,
      outOfStock: facings.filter((f) => f.settledAt !== null && f.units === 0).map((f) => f.plate),
      implausible: facings.filter((f) => f.implausible).map((f) => f.plate),
      misplacedItems: facings.reduce((s, f) => s + f.foreign.length, 0),
      restocking: this.options.restock.list(now),
      counters: { ...this.counts, failures: this.failures },
    };
  }
}
