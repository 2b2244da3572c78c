/**
 * What the live store page shows, kept up to date from the bus: shoppers on the floor, open
 * shopper sessions with their carts, occupancy and today's footfall, and the recent events; and
 * the Server-Sent Event streams that carry it to the pages.
 *
 * Choices:
 * - One feed per admin app listens to the bus (a unique owner, so a second app on the same agent,
 *   as tests build, keeps its own) and holds the state, so a snapshot needs no open stream.
 * - Every write to the streams happens in one flush, at most every THROTTLE_MS: vision reports a
 *   few times per camera frame, and a tablet on store Wi-Fi needs no more than ~5 updates/s.
 * - Sessions and occupancy are recomputed at each flush and sent only when they changed: carts
 *   change on weight events and exit tags, which have no event of their own.
 * - A shopper is dropped DROP_AFTER_MS of store time after its last position, or when it ends.
 */
import type { ServerResponse } from 'node:http';
import type { Database } from 'better-sqlite3';
import type { BusEvents } from '../../bus.js';
import type { AdminContext } from '../admin-context.js';
import { floorPlan, type FloorPlan } from './floor-plan.js';
import { tokenHint } from './token-hint.js';
import { LocalHours } from '../../analytics/local-hours.js';
import { AlertRepository, type Alert } from '../../db/repositories/alerts.js';
import { GateEventRepository } from '../../db/repositories/gate-events.js';
import { ReceiptRepository } from '../../db/repositories/receipts.js';
import { WeightEventRepository } from '../../db/repositories/weight-events.js';
import type { GateEvent } from '../../devices/gate/gate-event.js';
import type { WeightEvent } from '../../shelf/weight-event.js';

export interface LiveShopper {
  id: string;
  x: number;
  y: number;
  /** Store time of its last position. */
  at: number;
  /** False while the tracker coasts it (no camera sees it now). */
  seen: boolean;
  staff: boolean;
  /** Token of the open shopper session it is a member of. */
  token: string | null;
}

export interface LiveSession {
  id: number;
  token: string;
  gate: string;
  startedAt: number;
  members: { track: string; joinedAt: number; how: string; present: boolean }[];
  awaitingTracks: number;
  lines: { product: string; name: string; quantity: number; price: number }[];
  total: number;
}

export interface LiveOccupancy {
  /** Shoppers on the floor as analytics counts them (staff and stationary objects left out). */
  occupancy: number;
  /** Tracks drawn on the plan. */
  tracked: number;
  openSessions: number;
  shoppersInSessions: number;
  /** Gate passes since local midnight, or null while the database is closed. */
  footfall: { entries: number; exits: number; since: number } | null;
}

export interface LiveEvent {
  id: number;
  type: 'gate' | 'weight' | 'receipt' | 'alert' | 'signage';
  at: number;
  text: string;
  level: 'info' | 'ok' | 'warn' | 'bad';
  /** Plates a weight event happened on ("G.S.P"), for the plan to point at. */
  plates?: string[];
}

export interface LiveSnapshot {
  at: number;
  store: { name: string; currency: string; timezone: string };
  floor: FloorPlan;
  shoppers: LiveShopper[];
  sessions: LiveSession[];
  occupancy: LiveOccupancy;
  /** Newest first. */
  events: LiveEvent[];
}

const THROTTLE_MS = 200;
const TICK_MS = 1_000;
const PING_MS = 15_000;
const DROP_AFTER_MS = 3_000;
const KEEP_EVENTS = 50;
/** How far back the event list reaches when the page starts (after a restart). */
const BACKFILL_MS = 6 * 3_600_000;
/** A client this far behind is cut off; its page reconnects and starts from a fresh snapshot. */
const MAX_BUFFERED = 1 << 20;

let feeds = 0;

export class LiveFeed {
  private readonly owner = `admin-live-${++feeds}`;
  private readonly plan: FloorPlan;
  private readonly products: Map<string, { name: string; price: number }>;
  private readonly money: Intl.NumberFormat;
  private readonly hours: LocalHours;
  private readonly shoppers = new Map<string, Omit<LiveShopper, 'token' | 'staff'>>();
  private readonly events: LiveEvent[] = [];
  private readonly pending: LiveEvent[] = [];
  private readonly streams = new Set<ServerResponse>();
  private nextEventId = 1;
  private shoppersDirty = false;
  private lastFlush = 0;
  private lastPing = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private sentSessions = '';
  private sentOccupancy = '';
  private footfall: { since: number; entries: number; exits: number } | undefined;

  constructor(private readonly ctx: AdminContext) {
    const { config } = ctx;
    this.plan = floorPlan(config, ctx.layout);
    this.products = new Map(config.planogram.products.map((p) => [p.id, { name: p.name, price: p.price }]));
    this.money = new Intl.NumberFormat(config.store.locale, { style: 'currency', currency: config.store.currency });
    this.hours = new LocalHours(config.store.timezone);
  }

  start(): void {
    const { bus } = this.ctx;
    this.backfill();
    bus.on('vision.shoppers', this.owner, (u) => this.shoppersSeen(u));
    bus.on('gate.event', this.owner, (e) => {
      if (e.kind === 'pass') this.footfall = undefined;
      this.gateEvent(e);
    });
    bus.on('shelf.weight-event', this.owner, (e) => this.weightEvent(e));
    bus.on('checkout.receipt', this.owner, (r) => this.receipt(r.receiptId, r.token, r.lines, r.reviewLines, r.total, r.at));
    bus.on('alert.raised', this.owner, (a) => this.alert(a));
    bus.on('signage.card', this.owner, (c) =>
      this.add('signage', c.at, `${c.screen}: ${c.trigger}${c.products.length > 0 ? ` · ${c.products.map((p) => this.products.get(p)?.name ?? p).join(', ')}` : ''}`, 'info'),
    );
    // Carts change on these without an event of their own; the flush sends sessions if they did.
    bus.on('rfid.passage', this.owner, () => this.schedule());
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    this.tickTimer.unref();
  }

  /** Ends every stream and stops listening (the app is closing). */
  stop(): void {
    this.ctx.bus.removeAllOf(this.owner);
    clearInterval(this.tickTimer);
    clearTimeout(this.flushTimer);
    this.tickTimer = undefined;
    this.flushTimer = undefined;
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  snapshot(): LiveSnapshot {
    this.prune();
    const { config } = this.ctx;
    return {
      at: this.ctx.clock(),
      store: { name: config.store.name, currency: config.store.currency, timezone: config.store.timezone },
      floor: this.plan,
      shoppers: this.shopperList(),
      sessions: this.sessions(),
      occupancy: this.occupancy(),
      events: [...this.events].reverse(),
    };
  }

  /** Takes over a response as a live stream until the client goes away; it starts with the current state. */
  attach(res: ServerResponse, headers: Record<string, string | number | string[] | undefined>): void {
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.socket?.setNoDelay(true);
    this.streams.add(res);
    const remove = () => this.streams.delete(res);
    res.on('close', remove);
    res.on('error', remove);
    this.prune();
    this.write(res, 'retry: 2000\n\n');
    this.write(res, frame('shoppers', { at: this.ctx.clock(), shoppers: this.shopperList() }));
    this.write(res, frame('sessions', { sessions: this.sessions() }));
    this.write(res, frame('occupancy', this.occupancy()));
  }

  get connections(): number {
    return this.streams.size;
  }

  private shoppersSeen(u: BusEvents['vision.shoppers']): void {
    for (const t of u.tracks) {
      if (!Number.isFinite(t.x) || !Number.isFinite(t.y)) continue;
      this.shoppers.set(t.id, { id: t.id, x: Math.round(t.x * 100) / 100, y: Math.round(t.y * 100) / 100, at: t.at, seen: t.sources.length > 0 });
    }
    for (const id of u.ended) this.shoppers.delete(id);
    this.shoppersDirty = true;
    this.schedule();
  }

  private gateEvent(e: GateEvent): void {
    this.add('gate', e.at, e.kind === 'pass' ? `${e.gate}: pass ${e.direction ?? ''}`.trim() : `${e.gate}: scan${e.token ? ` · ${tokenHint(e.token)}` : ''}`, e.kind === 'pass' ? 'info' : 'ok');
  }

  private weightEvent(e: WeightEvent): void {
    this.add('weight', e.tEnd, this.describeWeight(e), e.flags.length > 0 || e.candidates[0]?.product == null ? 'warn' : 'info', e.plates);
  }

  private receipt(id: number, token: string, lines: number, reviewLines: number, total: number, at: number): void {
    this.add('receipt', at, `receipt #${id} · ${tokenHint(token)} · ${lines} line${lines === 1 ? '' : 's'} · ${this.money.format(total / 100)}${reviewLines > 0 ? ` · ${reviewLines} to review` : ''}`, reviewLines > 0 ? 'warn' : 'ok');
  }

  private alert(a: Alert): void {
    this.add('alert', a.at, `${a.kind}: ${a.subject}`, 'bad');
  }

  /** After a restart the list starts from the stored facts of the last hours, not empty. */
  private backfill(): void {
    const db = this.ctx.database()?.handle;
    if (!db) return;
    const to = this.ctx.clock();
    const from = to - BACKFILL_MS;
    const items: { at: number; add: () => void }[] = [];
    for (const e of new GateEventRepository(db).between(from, to + 1)) items.push({ at: e.at, add: () => this.gateEvent(e) });
    for (const e of new WeightEventRepository(db).between(from, to + 1)) items.push({ at: e.tEnd, add: () => this.weightEvent(e) });
    for (const r of new ReceiptRepository(db).between(from, to + 1)) {
      items.push({ at: r.closedAt, add: () => this.receipt(r.id, r.token, r.lines.length, r.lines.filter((l) => l.status === 'review').length, r.total, r.closedAt) });
    }
    for (const a of new AlertRepository(db).recent(from)) if (a.at >= from) items.push({ at: a.at, add: () => this.alert(a) });
    items.sort((a, b) => a.at - b.at);
    for (const item of items.slice(-KEEP_EVENTS)) item.add();
  }

  private add(type: LiveEvent['type'], at: number, text: string, level: LiveEvent['level'], plates?: string[]): void {
    const event: LiveEvent = { id: this.nextEventId++, type, at, text, level, ...(plates ? { plates: [...plates] } : {}) };
    this.events.push(event);
    if (this.events.length > KEEP_EVENTS) this.events.shift();
    if (this.streams.size > 0) this.pending.push(event);
    this.schedule();
  }

  private describeWeight(e: WeightEvent): string {
    const top = e.candidates[0];
    const what = top?.product ? `${top.count} × ${this.products.get(top.product)?.name ?? top.product}` : 'unknown item';
    const grams = `${e.deltaGrams > 0 ? '+' : '−'}${Math.round(Math.abs(e.deltaGrams))} g`;
    return `${e.kind} · ${what} · ${grams} · shelf ${e.shelf}`;
  }

  private schedule(): void {
    if (this.flushTimer || this.streams.size === 0) return;
    const wait = Math.max(0, this.lastFlush + THROTTLE_MS - Date.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, wait);
    this.flushTimer.unref();
  }

  private flush(): void {
    this.lastFlush = Date.now();
    if (this.prune()) this.shoppersDirty = true;
    if (this.shoppersDirty) {
      this.shoppersDirty = false;
      this.broadcast(frame('shoppers', { at: this.ctx.clock(), shoppers: this.shopperList() }));
    }
    for (const e of this.pending.splice(0)) this.broadcast(frame('event', e));
    const sessions = JSON.stringify({ sessions: this.sessions() });
    if (sessions !== this.sentSessions) {
      this.sentSessions = sessions;
      this.broadcast(`event: sessions\ndata: ${sessions}\n\n`);
    }
    const occupancy = JSON.stringify(this.occupancy());
    if (occupancy !== this.sentOccupancy) {
      this.sentOccupancy = occupancy;
      this.broadcast(`event: occupancy\ndata: ${occupancy}\n\n`);
    }
  }

  private tick(): void {
    if (this.streams.size === 0) return;
    if (Date.now() - this.lastPing >= PING_MS) {
      this.lastPing = Date.now();
      this.broadcast(': ping\n\n');
    }
    this.schedule();
  }

  /** Drops shoppers not placed for DROP_AFTER_MS of store time; true when any was dropped. */
  private prune(): boolean {
    const now = this.ctx.clock();
    let dropped = false;
    for (const [id, s] of this.shoppers) {
      if (now - s.at > DROP_AFTER_MS) {
        this.shoppers.delete(id);
        dropped = true;
      }
    }
    return dropped;
  }

  private shopperList(): LiveShopper[] {
    const tracker = this.ctx.checkout.sessions;
    const floor = this.ctx.analytics.floor;
    return [...this.shoppers.values()].map((s) => {
      const session = tracker?.sessionOfTrack(s.id);
      const member = session?.members.some((m) => m.track === s.id && m.leftAt === null);
      return { ...s, staff: floor.isStaff(s.id) || (tracker?.isStaff(s.id) ?? false), token: member ? tokenHint(session!.token) : null };
    });
  }

  private sessions(): LiveSession[] {
    const { checkout } = this.ctx;
    return (checkout.sessions?.open ?? [])
      .filter((s) => s.endedAt === null)
      .map((s) => {
        const lines = [...checkout.cart(s.id)]
          .filter(([, quantity]) => quantity !== 0)
          .map(([product, quantity]) => ({ product, name: this.products.get(product)?.name ?? product, quantity, price: this.products.get(product)?.price ?? 0 }));
        return {
          id: s.id,
          token: tokenHint(s.token),
          gate: s.gate,
          startedAt: s.startedAt,
          members: s.members.map((m) => ({ track: m.track, joinedAt: m.joinedAt, how: m.how, present: m.leftAt === null })),
          awaitingTracks: s.awaitingTracks,
          lines,
          total: lines.reduce((sum, l) => sum + Math.max(0, l.quantity) * l.price, 0),
        };
      })
      .sort((a, b) => b.startedAt - a.startedAt);
  }

  private occupancy(): LiveOccupancy {
    const open = (this.ctx.checkout.sessions?.open ?? []).filter((s) => s.endedAt === null);
    return {
      occupancy: this.ctx.analytics.floor.occupancy,
      tracked: this.shoppers.size,
      openSessions: open.length,
      shoppersInSessions: open.reduce((n, s) => n + s.members.filter((m) => m.leftAt === null).length, 0),
      footfall: this.todaysFootfall(),
    };
  }

  private todaysFootfall(): LiveOccupancy['footfall'] {
    const db = this.ctx.database();
    if (!db) return null;
    const since = this.hours.startOfDay(this.ctx.clock());
    if (this.footfall?.since !== since) this.footfall = { since, ...countPasses(db.handle, since) };
    return { ...this.footfall };
  }

  private broadcast(text: string): void {
    for (const res of this.streams) this.write(res, text);
  }

  private write(res: ServerResponse, text: string): void {
    if (res.writableEnded || res.destroyed) return;
    if (res.writableLength > MAX_BUFFERED) {
      res.destroy();
      return;
    }
    res.write(text);
  }
}

function frame(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

function countPasses(db: Database, since: number): { entries: number; exits: number } {
  const rows = db.prepare("SELECT direction, COUNT(*) AS n FROM gate_events WHERE kind = 'pass' AND at >= ? GROUP BY direction").all(since) as { direction: string | null; n: number }[];
  return { entries: rows.find((r) => r.direction === 'in')?.n ?? 0, exits: rows.find((r) => r.direction === 'out')?.n ?? 0 };
}
