/**
 * Binds floor tracks to paying tokens and decides when a session ends. A token scanned at a gate
 * stays open for the members of its party; each pass in on it binds the track appearing at that
 * gate then. A track lost mid-store is re-associated with the next new track that appears where
 * the lost shopper could have walked by then, instead of opening a new (unpaid) shopper. A member
 * leaves by an exit pass, or by a track lost near an exit and not seen again; when the last one has
 * left, the session ends. Everything is driven by the event times, so a replay decides the same.
 */
import type { CheckoutConfig, StoreConfig } from '../../../device-config/schema.js';
import type { GateEvent } from '../devices/gate/gate-event.js';
import type { Vec2 } from '../sim/store-layout.js';
import type { StoreLayout } from '../sim/store-layout.js';
import type { VisionShoppers } from '../vision/vision-service.js';
import { FloorHistory, distanceToPolygon } from './floor-history.js';
import { activeMembers, type JoinHow, type LeaveHow, type SessionEndReason, type SessionMember, type ShopperSession } from './shopper-session.js';

/** Where the tracker's decisions go: the service stores each before anyone hears of it. */
export interface SessionSink {
  open(token: string, gate: string, at: number): number;
  joined(session: ShopperSession, member: SessionMember): void;
  left(session: ShopperSession, member: SessionMember): void;
  ended(session: ShopperSession): void;
}

export interface SessionCounts {
  sessions: number;
  unpaidPasses: number;
  passesWithoutTrack: number;
  reassociated: number;
  unmatchedExits: number;
  abandoned: number;
}

interface GatePlace {
  id: string;
  polygon: Vec2[];
  entry: boolean;
  exit: boolean;
}

interface PendingPass {
  sessionId: number;
  gate: GatePlace;
  at: number;
}

/** An exit pass finds the member whose track was seen this recently near the gate. */
const EXIT_SEEN_MS = 3_000;
/** A track counts as new at a gate when it first appeared this long before a pass at most. */
const EARLY_TRACK_MS = 3_000;
/** A re-appearing track is at most this far from where it was lost, plus the walking allowance. */
const REAPPEAR_BASE_M = 1.0;

export class SessionTracker {
  readonly history: FloorHistory;
  private readonly settings: CheckoutConfig;
  private readonly floor: { widthM: number; depthM: number };
  private readonly gates = new Map<string, GatePlace>();
  private readonly sessions = new Map<number, ShopperSession>();
  private readonly byTrack = new Map<string, { session: ShopperSession; member: SessionMember }>();
  /** Tokens scanned at each gate and still open for their party, oldest first. */
  private readonly tokens = new Map<string, { token: string; at: number; sessionId: number | null; passes: number }[]>();
  private pending: PendingPass[] = [];
  private readonly staff = new Set<string>();
  private now = -Infinity;
  readonly counts: SessionCounts = { sessions: 0, unpaidPasses: 0, passesWithoutTrack: 0, reassociated: 0, unmatchedExits: 0, abandoned: 0 };

  constructor(
    config: StoreConfig,
    layout: StoreLayout,
    private readonly sink: SessionSink,
  ) {
    this.settings = config.checkout;
    this.floor = config.store.floor;
    this.history = new FloorHistory(Math.max(120_000, this.settings.reassociateSeconds * 1000));
    for (const g of config.gates) {
      const zone = g.zone ? layout.zone(g.zone) : undefined;
      if (!zone) continue;
      this.gates.set(g.id, { id: g.id, polygon: zone.polygon, entry: g.kind !== 'exit', exit: g.kind !== 'entry' });
    }
  }

  get open(): ShopperSession[] {
    return [...this.sessions.values()];
  }

  sessionOfTrack(track: string): ShopperSession | undefined {
    return this.byTrack.get(track)?.session;
  }

  session(id: number): ShopperSession | undefined {
    return this.sessions.get(id);
  }

  isStaff(track: string): boolean {
    return this.staff.has(track);
  }

  markStaff(track: string): void {
    this.staff.add(track);
  }

  /**
   * Sessions open before a restart: their members come back lost (from the first event after the
   * restart, in store time), to be found again by the next new tracks or time out.
   */
  restore(session: ShopperSession): void {
    // Through the gate but not yet seen when the agent went down: the shopper is inside, to be
    // found like a lost member (the stand-in is never stored; the track that replaces it is).
    if (session.members.length === 0) {
      session.members.push({ track: `unseen-${session.id}`, joinedAt: session.startedAt, how: 'entry', leftAt: null, leftHow: null, lost: null, exitGateEventId: null });
    }
    for (const m of session.members) if (m.leftAt === null) m.lost ??= { at: NaN, x: NaN, y: NaN, nearExit: false };
    this.sessions.set(session.id, session);
    for (const m of session.members) if (m.leftAt === null) this.byTrack.set(m.track, { session, member: m });
  }

  gate(event: GateEvent): void {
    this.advance(event.at);
    const place = this.gates.get(event.gate);
    if (event.kind === 'scan') {
      if (event.token) {
        const list = this.tokens.get(event.gate) ?? [];
        list.push({ token: event.token, at: event.at, sessionId: null, passes: 0 });
        this.tokens.set(event.gate, list);
      }
      return;
    }
    if (!place) return;
    // Someone bringing an item back may come in through an exit gate: a token scanned there still opens a session.
    if (event.direction === 'in') this.passIn(place, event);
    else if (event.direction === 'out' && place.exit) this.passOut(place, event);
  }

  shoppers(update: VisionShoppers): void {
    this.advance(update.at);
    const fresh: string[] = [];
    for (const t of update.tracks) {
      if (this.history.observe(t.id, t.at, t.x, t.y)) fresh.push(t.id);
      const bound = this.byTrack.get(t.id);
      if (bound?.member.lost) bound.member.lost = null;
    }
    for (const id of fresh) if (!this.byTrack.has(id) && !this.staff.has(id)) this.placeNewTrack(id, update.at);
    for (const id of update.ended) this.trackEnded(id, update.at);
    this.history.prune(update.at);
  }

  /** Moves the tracker's clock: members lost too long leave, sessions whose members all left end. */
  advance(at: number): void {
    if (at <= this.now) return;
    this.now = at;
    const bindMs = this.settings.entryBindSeconds * 1000;
    const expired = this.pending.filter((p) => at - p.at > bindMs);
    if (expired.length > 0) {
      this.pending = this.pending.filter((p) => at - p.at <= bindMs);
      for (const p of expired) {
        this.counts.passesWithoutTrack += 1;
        const s = this.sessions.get(p.sessionId);
        if (s) s.awaitingTracks -= 1;
      }
    }
    for (const s of [...this.sessions.values()]) {
      for (const m of activeMembers(s)) {
        if (!m.lost) continue;
        if (Number.isNaN(m.lost.at)) m.lost.at = at;
        if (m.lost.nearExit && at - m.lost.at >= this.settings.exitLostSeconds * 1000) this.leave(s, m, m.lost.at, 'lost-at-exit');
        else if (at - m.lost.at >= this.settings.abandonMinutes * 60_000) this.leave(s, m, at, 'abandoned');
      }
      this.maybeEnd(s, at);
    }
  }

  private passIn(place: GatePlace, event: GateEvent): void {
    const openMs = this.settings.tokenOpenSeconds * 1000;
    const list = (this.tokens.get(place.id) ?? []).filter((t) => event.at - t.at <= openMs);
    this.tokens.set(place.id, list);
    // Two parties scanning one after the other: each token's first pass is its own, later passes
    // follow the newest token (the rest of its party).
    const open = list.find((t) => t.passes === 0) ?? list[list.length - 1];
    if (!open) {
      this.counts.unpaidPasses += 1;
      return;
    }
    open.passes += 1;
    let session = open.sessionId === null ? undefined : this.sessions.get(open.sessionId);
    if (!session) {
      const id = this.sink.open(open.token, place.id, event.at);
      session = { id, token: open.token, gate: place.id, startedAt: event.at, members: [], awaitingTracks: 0, endedAt: null, endReason: null };
      this.sessions.set(id, session);
      open.sessionId = id;
      this.counts.sessions += 1;
    }
    session.awaitingTracks += 1;
    const pass: PendingPass = { sessionId: session.id, gate: place, at: event.at };
    // The track may already be there (the camera saw the shopper step in before the beam broke).
    let best: string | undefined;
    let bestD = Infinity;
    for (const [id, p] of this.history.live()) {
      if (this.byTrack.has(id) || this.staff.has(id)) continue;
      if ((this.history.firstAt(id) ?? -Infinity) < event.at - EARLY_TRACK_MS) continue;
      const d = distanceToPolygon(p, place.polygon);
      if (d <= this.settings.gateNearM && d < bestD) {
        best = id;
        bestD = d;
      }
    }
    if (best) this.bind(session, best, event.at, 'entry', pass);
    else this.pending.push(pass);
  }

  private passOut(place: GatePlace, event: GateEvent): void {
    let best: { session: ShopperSession; member: SessionMember } | undefined;
    let bestD = Infinity;
    for (const s of this.sessions.values()) {
      for (const m of activeMembers(s)) {
        const last = this.history.last(m.track);
        if (!last) continue;
        const recent = m.lost ? m.lost.nearExit && event.at - m.lost.at <= this.settings.exitLostSeconds * 1000 : event.at - last.at <= EXIT_SEEN_MS;
        if (!recent) continue;
        if (distanceToPolygon(last, place.polygon) > this.settings.gateNearM) continue;
        // Whoever is still in view inside is waiting; the one passing was last seen at the store's edge.
        const d = this.toEdge(last) + (last.at >= event.at - 100 ? 1 : 0);
        if (d < bestD) {
          best = { session: s, member: m };
          bestD = d;
        }
      }
    }
    if (!best) {
      this.counts.unmatchedExits += 1;
      return;
    }
    best.member.exitGateEventId = event.id;
    this.leave(best.session, best.member, event.at, 'exit-gate');
    this.maybeEnd(best.session, event.at);
  }

  /** Distance to the edge of the floor plan, where the doors are. */
  private toEdge(p: Vec2): number {
    return Math.max(0, Math.min(p.x, this.floor.widthM - p.x, p.y, this.floor.depthM - p.y));
  }

  private placeNewTrack(id: string, at: number): void {
    const first = this.history.first(id)!;
    // A pass in waiting for its shopper, at the gate the new track appeared by.
    const bindMs = this.settings.entryBindSeconds * 1000;
    const waiting = this.pending.find((p) => at - p.at <= bindMs && distanceToPolygon(first, p.gate.polygon) <= this.settings.gateNearM);
    if (waiting) {
      const session = this.sessions.get(waiting.sessionId);
      if (session) {
        this.bind(session, id, at, 'entry', waiting);
        return;
      }
    }
    // A member lost mid-store, back under a new track id.
    let best: { session: ShopperSession; member: SessionMember } | undefined;
    let bestScore = Infinity;
    for (const s of this.sessions.values()) {
      for (const m of activeMembers(s)) {
        if (!m.lost) continue;
        const gapS = (at - m.lost.at) / 1000;
        if (gapS > this.settings.reassociateSeconds || gapS < 0) continue;
        const reach = REAPPEAR_BASE_M + this.settings.reassociateSpeedMps * gapS;
        // A member lost before a restart has no place: anywhere will do, the oldest first.
        const d = Number.isNaN(m.lost.x) ? reach : Math.hypot(first.x - m.lost.x, first.y - m.lost.y);
        if (d > reach) continue;
        const score = d / reach;
        if (score < bestScore) {
          best = { session: s, member: m };
          bestScore = score;
        }
      }
    }
    if (!best) return;
    this.counts.reassociated += 1;
    const { session, member } = best;
    // The member carries on under the new id; the old id stays in the member's history rows.
    this.leave(session, member, at, 'replaced');
    this.bind(session, id, at, 'reassociated');
  }

  private bind(session: ShopperSession, track: string, at: number, how: JoinHow, pass?: PendingPass): void {
    if (pass) {
      this.pending = this.pending.filter((p) => p !== pass);
      session.awaitingTracks -= 1;
    }
    const member: SessionMember = { track, joinedAt: at, how, leftAt: null, leftHow: null, lost: null, exitGateEventId: null };
    session.members.push(member);
    this.byTrack.set(track, { session, member });
    this.sink.joined(session, member);
  }

  private trackEnded(id: string, at: number): void {
    this.history.end(id, at);
    const bound = this.byTrack.get(id);
    if (!bound || bound.member.leftAt !== null) return;
    const last = this.history.last(id);
    const nearExit = last !== undefined && [...this.gates.values()].some((g) => g.exit && distanceToPolygon(last, g.polygon) <= this.settings.gateNearM);
    bound.member.lost = { at: last?.at ?? at, x: last?.x ?? NaN, y: last?.y ?? NaN, nearExit };
  }

  private leave(session: ShopperSession, member: SessionMember, at: number, how: LeaveHow): void {
    member.leftAt = at;
    member.leftHow = how;
    member.lost = null;
    this.byTrack.delete(member.track);
    if (how === 'abandoned') this.counts.abandoned += 1;
    this.sink.left(session, member);
  }

  private maybeEnd(session: ShopperSession, at: number): void {
    if (session.endedAt !== null || session.awaitingTracks > 0) return;
    if (activeMembers(session).length > 0) return;
    const reasons = session.members.map((m) => m.leftHow);
    const reason: SessionEndReason = session.members.length === 0 ? 'no-track' : reasons.includes('abandoned') ? 'abandoned' : 'exit';
    session.endedAt = session.members.length === 0 ? at : Math.max(...session.members.filter((m) => m.leftHow !== 'replaced').map((m) => m.leftAt ?? at), session.startedAt);
    session.endReason = reason;
    this.sessions.delete(session.id);
    for (const list of this.tokens.values()) for (const t of list) if (t.sessionId === session.id) t.sessionId = null;
    this.sink.ended(session);
  }
}
