/**
 * Grab-and-go checkout in the agent. Gate events and floor tracks make shopper sessions; each
 * settled weight event is attributed to the most probable shopper and item and appended to that
 * session's cart ledger with its evidence; when a session ends, its receipt, lines, review items
 * and `receipt.created` outbox message are written in one transaction, then announced. Tags
 * leaving through the exit gate confirm or complete the bill. Deterministic given its inputs.
 */
import type { Database } from 'better-sqlite3';
import type { ProductConfig, StoreConfig } from '../../../device-config/schema.js';
import type { BusEvents, EventBus } from '../bus.js';
import type { StoreDatabase } from '../db/database.js';
import { CartLedgerRepository } from '../db/repositories/cart-ledger.js';
import { OutboxRepository } from '../db/repositories/outbox.js';
import { ShopperSessionRepository } from '../db/repositories/shopper-sessions.js';
import { describeError } from '../errors.js';
import type { Component, ComponentHealth } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { RestockWindows } from '../stock/restock-windows.js';
import type { TagObservation, TagPassage } from '../rfid/rfid-facts.js';
import type { WeightEvent } from '../shelf/weight-event.js';
import { ItemInference } from '../shelf/item-inference.js';
import { StoreLayout } from '../sim/store-layout.js';
import { liveCart, type CartLine, type NewCartLine } from './cart-line.js';
import { fuseWeightEvent } from './item-fusion.js';
import { buildReceipt, type DraftReviewItem } from './receipt-builder.js';
import { receiptPayload, ReviewQueue } from './review-queue.js';
import { SessionTracker, type SessionSink } from './session-tracker.js';
import { associate, reachPlace, type Participant } from './shopper-association.js';
import type { ShopperSession } from './shopper-session.js';
import { quantile, round3 } from '../numbers.js';
import { DEFAULT_DETECTOR_SETTINGS } from '../shelf/weight-event-detector.js';

export interface CheckoutServiceOptions {
  config: StoreConfig;
  database: StoreDatabase;
  bus: EventBus;
  log: Logger;
  /** When staff restock shelves (weight put back then is not a put-back). */
  restock?: RestockWindows;
}

export interface CheckoutCounts {
  weightEvents: number;
  cartLines: number;
  unattributed: number;
  unknownItems: number;
  lateEvents: number;
  receipts: number;
  reviewItems: number;
  exitTagsConfirmed: number;
  exitTagsBilled: number;
  storeFailures: number;
  /** Scans at a gate refused while new sessions are refused (the disk nearly full). */
  refusedScans: number;
  /** Weight put on shelves while staff were restocking them: not shopping. */
  restockArrivals: number;
}

/** A weight event may still arrive for a session that ended this recently (it settled as they left). */
/** Below this probability of being the shelf's own goods, weight put there during a restock may be a shopper's stray. */
const RESTOCK_OWN_GOODS = 0.1;
const NOTHING_HELD: ReadonlyMap<string, number> = new Map();
const LATE_MS = 15_000;
const MAX_EVENT_MS = DEFAULT_DETECTOR_SETTINGS.maxEventMs;
/** A tag passage through the exit gate lasts at most 5 minutes (`maxPassageMs`), and is decided a few seconds after. */
const EXIT_PASS_KEEP_MS = 600_000;
/** Shelf tags that went silent this close to a weight event are its evidence. */
const TAG_WINDOW_MS = 2_500;
const TAG_KEEP_MS = 60_000;

export class CheckoutService implements Component {
  readonly name = 'checkout';
  readonly dependsOn = ['database'] as const;
  private readonly layout: StoreLayout;
  private readonly products: Map<string, ProductConfig>;
  /** Explains a put-back again from what the shopper holds. */
  private readonly inference: ItemInference;
  private tracker: SessionTracker | undefined;
  private db: Database | undefined;
  private repos: { sessions: ShopperSessionRepository; ledger: CartLedgerRepository; outbox: OutboxRepository; review: ReviewQueue } | undefined;
  /** Live carts of open (and just-closed) sessions, from their ledgers. */
  private readonly carts = new Map<number, Map<string, number>>();
  private readonly recentlyEnded: ShopperSession[] = [];
  private readonly unclosed: ShopperSession[] = [];
  /** Exit gate passes (gate event id) → the session that left through them, while tags may still follow. */
  private readonly exitPasses = new Map<number, { session: number; at: number }>();
  private readonly tagsGone: TagObservation[] = [];
  private readonly latencies: number[] = [];
  private lastFailure: string | undefined;
  /** Why new sessions are refused (the disk nearly full), or undefined while they are accepted. */
  private refusing: string | undefined;
  readonly counts: CheckoutCounts = { weightEvents: 0, cartLines: 0, unattributed: 0, unknownItems: 0, lateEvents: 0, receipts: 0, reviewItems: 0, exitTagsConfirmed: 0, exitTagsBilled: 0, storeFailures: 0, refusedScans: 0, restockArrivals: 0 };

  constructor(private readonly options: CheckoutServiceOptions) {
    this.layout = new StoreLayout(options.config);
    this.products = new Map(options.config.planogram.products.map((p) => [p.id, p]));
    this.inference = new ItemInference(options.config.planogram.products);
  }

  get sessions(): SessionTracker | undefined {
    return this.tracker;
  }

  /** Units per product in an open session's cart. */
  cart(sessionId: number): ReadonlyMap<string, number> {
    return this.carts.get(sessionId) ?? new Map();
  }

  async start(): Promise<void> {
    const db = this.options.database.handle;
    this.db = db;
    this.repos = { sessions: new ShopperSessionRepository(db), ledger: new CartLedgerRepository(db), outbox: new OutboxRepository(db), review: new ReviewQueue(db, this.options.config) };
    this.tracker = new SessionTracker(this.options.config, this.layout, this.sink);
    for (const s of this.repos.sessions.openSessions()) {
      this.tracker.restore(s);
      this.carts.set(s.id, liveCart(this.repos.ledger.lines(s.id)));
    }
    // Tags may still follow the exits just before a restart.
    for (const e of this.repos.sessions.recentExits(EXIT_PASS_KEEP_MS)) this.exitPasses.set(e.gateEventId, { session: e.sessionId, at: e.at });
    const { bus } = this.options;
    bus.on('gate.event', this.name, (e) => {
      if (e.kind === 'scan' && this.refusing !== undefined) {
        this.counts.refusedScans += 1;
        this.options.log.warn({ gate: e.gate, reason: this.refusing }, 'a scan at the gate is refused: no new shopper sessions');
        return;
      }
      this.guard(() => this.tracker!.gate(e));
    });
    bus.on('vision.shoppers', this.name, (u) => this.guard(() => this.tracker!.shoppers({ ...u, tracks: u.tracks.filter((t) => t.sources.length > 0) })));
    bus.on('analytics.staff', this.name, (s) => this.tracker!.markStaff(s.shopper));
    bus.on('rfid.tag', this.name, (o) => {
      if (o.kind !== 'gone' || !o.shelf || !o.product) return;
      this.tagsGone.push(o);
      while (this.tagsGone.length > 0 && this.tagsGone[0]!.at < o.at - TAG_KEEP_MS) this.tagsGone.shift();
    });
    bus.on('shelf.weight-event', this.name, (e) => {
      const restocking = e.kind === 'return' && (this.options.restock?.active(e.shelf, e.tEnd) ?? false);
      this.guard(() => this.weightEvent(e, restocking));
    });
    bus.on('rfid.passage', this.name, (p) => this.guard(() => this.tagPassage(p)));
  }

  async stop(): Promise<void> {
    this.options.bus.removeAllOf(this.name);
  }

  /**
   * Stops (with a reason) or resumes opening new shopper sessions. Sessions already open carry on
   * to their receipts: shoppers inside are billed, nobody new is let in on a token.
   */
  refuseNewSessions(reason: string | undefined): void {
    if (reason === this.refusing) return;
    this.refusing = reason;
    if (reason) this.options.log.error({ reason }, 'checkout refuses new shopper sessions');
    else this.options.log.info('checkout accepts new shopper sessions again');
  }

  health(): ComponentHealth {
    const open = this.tracker?.open ?? [];
    const problems = [...(this.lastFailure ? [`${this.counts.storeFailures} checkout facts failed: ${this.lastFailure}`] : []), ...(this.refusing ? [`no new shopper sessions: ${this.refusing}`] : [])];
    return {
      status: this.counts.storeFailures > 0 || this.refusing ? 'degraded' : 'up',
      ...(problems.length > 0 ? { detail: problems.join('; ') } : {}),
      acceptingSessions: this.refusing === undefined,
      openSessions: open.length,
      shoppersInStore: open.reduce((s, x) => s + x.members.filter((m) => m.leftAt === null).length, 0),
      receiptLatencyMs: this.latencies.length > 0 ? { p50: round3(quantile(this.latencies, 0.5)), p95: round3(quantile(this.latencies, 0.95)) } : null,
      counters: { ...this.counts, ...(this.tracker?.counts ?? {}) },
    };
  }

  private readonly sink: SessionSink = {
    open: (token, gate, at) => this.repos!.sessions.open(token, gate, at),
    joined: (session, member) => {
      this.repos!.sessions.joined(session.id, member.track, member.joinedAt, member.how);
      if (!this.carts.has(session.id)) this.carts.set(session.id, new Map());
    },
    left: (session, member) => {
      this.repos!.sessions.left(session.id, member.track, member.leftAt!, member.leftHow!, member.exitGateEventId);
      if (member.exitGateEventId === null) return;
      const at = member.leftAt!;
      this.exitPasses.set(member.exitGateEventId, { session: session.id, at });
      // A passage is decided at most this long after its gate pass; older passes are let go (in order of insertion).
      for (const [id, pass] of this.exitPasses) {
        if (pass.at >= at - EXIT_PASS_KEEP_MS) break;
        this.exitPasses.delete(id);
      }
    },
    ended: (session) => this.closeOrRetry(session),
  };

  /**
   * A receipt that could not be written (the disk, the database) is tried again with the next
   * event, and the event that ended the session still goes on; the session stays open in SQLite,
   * so a restart closes it too.
   */
  private closeOrRetry(session: ShopperSession): void {
    try {
      this.closeSession(session);
    } catch (err) {
      this.counts.storeFailures += 1;
      this.lastFailure = describeError(err);
      this.options.log.error({ err, session: session.id }, 'the receipt could not be written; trying again with the next event');
      this.unclosed.push(session);
    }
  }

  private weightEvent(e: WeightEvent, restocking: boolean): void {
    const tracker = this.tracker!;
    tracker.advance(e.tEnd);
    const place = reachPlace(this.layout, e);
    const participants: Participant[] = [];
    const boundTracks = new Set<string>();
    for (const s of [...tracker.open, ...this.recentlyEnded.filter((r) => r.endedAt !== null && r.endedAt >= e.tStart - LATE_MS)]) {
      const tracks = s.members.map((m) => m.track);
      tracks.forEach((t) => boundTracks.add(t));
      participants.push({ session: s.id, tracks });
    }
    for (const id of tracker.history.presentBetween(e.tStart - 2_000, e.tEnd + 1_000)) {
      if (!boundTracks.has(id) && !tracker.isStaff(id)) participants.push({ session: null, tracks: [id] });
    }
    const who = place ? associate(e, place, participants, tracker.history, this.options.config.checkout) : [];
    const tagsGone = new Map<string, number>();
    for (const o of this.tagsGone) {
      if (o.shelf === e.shelf && o.at >= e.tStart - TAG_WINDOW_MS && o.at <= e.tEnd + TAG_WINDOW_MS) tagsGone.set(o.product!, (tagsGone.get(o.product!) ?? 0) + 1);
    }
    const holds = (session: number, product: string) => this.carts.get(session)?.get(product) ?? 0;
    const returnCandidates = (session: number | null) =>
      this.inference.weigh({ perPlate: e.perPlate, deltaGrams: e.deltaGrams, noiseSigma: e.noiseSigma, held: (session !== null && this.carts.get(session)) || NOTHING_HELD });
    const fused = fuseWeightEvent(e, who, { tagsGone, returnCandidates });
    // Staff filling the shelf: stock arriving, never a shopper's put-back; unless the weight cannot be
    // the shelf's own goods (staff fill a shelf with those) and a shopper beside them holds what it is.
    const ownGoods = e.candidates.reduce((sum, c) => sum + (c.product !== null && !c.misplaced ? c.probability : 0), 0);
    const strayOfShopper = ownGoods < RESTOCK_OWN_GOODS && fused?.session != null && fused.misplaced && fused.product !== null && holds(fused.session, fused.product) >= fused.count;
    if (restocking && !strayOfShopper) {
      this.counts.restockArrivals += 1;
      return;
    }
    this.counts.weightEvents += 1;
    const evidence = {
      weightEvent: e.id,
      kind: e.kind,
      shelf: e.shelf,
      plates: e.plates,
      deltaGrams: e.deltaGrams,
      candidates: e.candidates.slice(0, 3),
      shoppers: who.slice(0, 3).map((w) => ({ session: w.session, track: w.track, distanceM: round3(w.distanceM), probability: round3(w.probability) })),
      ...(tagsGone.size > 0 ? { tagsGone: Object.fromEntries(tagsGone) } : {}),
      ...(e.flags.length > 0 ? { flags: e.flags } : {}),
    };
    const db = this.db!;
    let decided: BusEvents['checkout.line'] | undefined;
    db.transaction(() => {
      if (!fused || fused.session === null) {
        this.counts.unattributed += 1;
        const top = e.candidates[0];
        this.review(null, null, { kind: 'unattributed', product: top?.product ?? null, quantity: top?.count ?? 1, confidence: fused?.probability ?? 0, reason: `${e.kind} on shelf ${e.shelf} (${round3(e.deltaGrams)} g) with no paying shopper within reach`, evidence }, e.tEnd);
        return;
      }
      const session = tracker.session(fused.session) ?? this.recentlyEnded.find((s) => s.id === fused.session)!;
      if (fused.product === null) {
        this.counts.unknownItems += 1;
        this.review(session, null, { kind: 'unknown-item', product: null, quantity: 1, confidence: fused.probability, reason: `${e.kind} of ${round3(e.deltaGrams)} g on shelf ${e.shelf} matches no product`, evidence }, e.tEnd);
        return;
      }
      const line = this.appendLine({
        sessionId: session.id,
        product: fused.product,
        quantity: e.kind === 'pick' ? fused.count : -fused.count,
        source: 'weight',
        weightEventId: e.id,
        tagPassageId: null,
        deltaGrams: e.deltaGrams,
        productProbability: round3(fused.productProbability),
        associationProbability: round3(fused.associationProbability),
        distanceM: round3(fused.distanceM),
        confidence: round3(fused.probability),
        evidence: { ...evidence, track: fused.track, misplaced: fused.misplaced, alternatives: fused.alternatives.map((a) => ({ ...a, probability: round3(a.probability) })) },
        at: e.tEnd,
      });
      if (session.endedAt !== null) {
        this.counts.lateEvents += 1;
        this.review(session, line, {
          kind: 'late-event',
          product: line.product,
          // Negative for a put-back: accepted, it refunds those units.
          quantity: line.quantity,
          confidence: line.confidence,
          reason: `a ${e.kind} settled after the session's receipt was written`,
          evidence: { ...evidence, cartLine: line.id },
        }, e.tEnd);
      }
      decided = { weightEvent: e.id, kind: e.kind, product: fused.product, count: fused.count, misplaced: fused.misplaced, at: e.tEnd };
    })();
    // Who held what explains a put-back better than weight alone: the stock hears the decision.
    if (decided) this.options.bus.emit('checkout.line', decided);
  }

  private tagPassage(p: TagPassage): void {
    if (p.outcome !== 'billable' || p.gateEventId === null || !p.product) return;
    const sessionId = this.exitPasses.get(p.gateEventId)?.session;
    if (sessionId === undefined) return;
    const db = this.db!;
    db.transaction(() => {
      const exitedBefore = this.repos!.ledger.lines(sessionId).filter((l) => l.source === 'rfid' && l.product === p.product).length;
      const open = this.tracker!.session(sessionId);
      const receipt = open ? undefined : this.repos!.review.receipts.ofSession(sessionId);
      const held = open
        ? (this.carts.get(sessionId)?.get(p.product!) ?? 0)
        : (receipt?.lines.filter((l) => l.product === p.product && l.status !== 'rejected').reduce((s, l) => s + l.quantity, 0) ?? 0);
      // Tags already accounted for by the cart (or an earlier exit tag of the same product) only confirm it.
      if (held > exitedBefore) {
        this.counts.exitTagsConfirmed += 1;
        this.appendLine(this.rfidLine(sessionId, p, 0));
        return;
      }
      this.counts.exitTagsBilled += 1;
      const line = this.appendLine(this.rfidLine(sessionId, p, 1));
      if (open || !receipt) return;
      const policy = this.options.config.rfid.exitPolicy;
      const id = this.review(open ?? null, line, {
        kind: 'exit-tag',
        product: p.product,
        quantity: 1,
        confidence: p.confidence,
        reason: `tag ${p.epc} left through ${p.gate} with this shopper but is not on the receipt`,
        evidence: { tagPassage: p.id, epc: p.epc, cartLine: line.id },
      }, p.at, receipt.id);
      if (policy === 'bill') this.repos!.review.decide(id, { decision: 'accept', by: 'rfid-exit-policy' }, p.at);
    })();
  }

  private rfidLine(sessionId: number, p: TagPassage, quantity: number): NewCartLine {
    return {
      sessionId,
      product: p.product!,
      quantity,
      source: 'rfid',
      weightEventId: null,
      tagPassageId: p.id,
      deltaGrams: null,
      productProbability: 1,
      associationProbability: round3(p.confidence),
      distanceM: null,
      confidence: round3(p.confidence),
      evidence: { tagPassage: p.id, epc: p.epc, serial: p.serial, gate: p.gate, confirms: quantity === 0 },
      at: p.at,
    };
  }

  private closeSession(session: ShopperSession): void {
    const t0 = performance.now();
    const repos = this.repos!;
    const endedAt = session.endedAt ?? session.startedAt;
    let receiptId = 0;
    let lines = 0;
    let reviewLines = 0;
    let total = 0;
    this.db!.transaction(() => {
      repos.sessions.ended(session.id, endedAt, session.endReason ?? 'exit');
      const ledger = repos.ledger.lines(session.id).filter((l) => l.quantity !== 0);
      const draft = buildReceipt(ledger, this.products, this.options.config.checkout.reviewBelow, { abandoned: session.endReason === 'abandoned' });
      const reviews = repos.review.receipts;
      receiptId = reviews.create(
        {
          sessionId: session.id,
          token: session.token,
          currency: this.options.config.store.currency,
          total: draft.total,
          confidence: round3(draft.confidence),
          status: 'final',
          closedAt: endedAt,
          createdAt: endedAt,
        },
        draft.lines.map((l) => ({ ...l, confidence: round3(l.confidence) })),
      );
      for (const r of draft.review) reviews.addReview({ ...r, confidence: round3(r.confidence), receiptId, sessionId: session.id }, endedAt);
      reviews.attachSessionReviews(session.id, receiptId);
      const pending = reviews.reviewsOf(receiptId).filter((r) => r.decidedAt === null).length;
      const receipt = reviews.get(receiptId)!;
      if (pending > 0) reviews.adjust(receiptId, receipt.total, 'pending-review', 0, endedAt);
      this.counts.reviewItems += draft.review.length;
      repos.outbox.add('receipt.created', receiptPayload(this.options.config, receipt, pending), endedAt);
      // Staff may have decided an item while the shopper was still inside: the next revision has it.
      repos.review.applyDecided(receiptId, endedAt);
      lines = draft.lines.length;
      reviewLines = draft.lines.filter((l) => l.status === 'review').length;
      total = draft.total;
    })();
    this.counts.receipts += 1;
    const latencyMs = performance.now() - t0;
    this.latencies.push(latencyMs);
    if (this.latencies.length > 10_000) this.latencies.splice(0, 5_000);
    this.recentlyEnded.push(session);
    // Kept as long as an event that started before the exit may still settle: a weight event lasts
    // up to 30 s (the detector's maxEventMs), and its start may precede the exit by LATE_MS.
    while (this.recentlyEnded.length > 0 && this.recentlyEnded[0]!.endedAt! < endedAt - LATE_MS - MAX_EVENT_MS) {
      this.carts.delete(this.recentlyEnded[0]!.id);
      this.recentlyEnded.shift();
    }
    this.options.bus.emit('checkout.receipt', { receiptId, sessionId: session.id, token: session.token, total, lines, reviewLines, latencyMs, at: endedAt });
  }

  private appendLine(line: NewCartLine): CartLine {
    const stored = this.repos!.ledger.append(line);
    this.counts.cartLines += 1;
    const cart = this.carts.get(line.sessionId) ?? new Map<string, number>();
    cart.set(line.product, (cart.get(line.product) ?? 0) + line.quantity);
    this.carts.set(line.sessionId, cart);
    return stored;
  }

  private review(session: ShopperSession | null, line: CartLine | null, item: DraftReviewItem, at: number, receiptId?: number): number {
    this.counts.reviewItems += 1;
    const receipt = receiptId ?? (session && session.endedAt !== null ? this.repos!.review.receipts.ofSession(session.id)?.id : undefined);
    return this.repos!.review.receipts.addReview({ ...item, confidence: round3(item.confidence), receiptId: receipt ?? null, sessionId: session?.id ?? line?.sessionId ?? null }, at);
  }

  private guard(work: () => void): void {
    if (this.unclosed.length > 0) for (const session of this.unclosed.splice(0)) this.closeOrRetry(session);
    try {
      work();
    } catch (err) {
      this.counts.storeFailures += 1;
      this.lastFailure = describeError(err);
      this.options.log.error({ err }, 'checkout could not record a fact; the event is kept in its own table for review');
    }
  }
}
