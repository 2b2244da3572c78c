/**
 * Whether a tag is at an antenna: smoothed presence per (reader, antenna, EPC) from noisy reads.
 *
 * A tag becomes present after `seenReads` reads within `seenWindowMs`. A tag in an antenna's
 * field is read in most inventory rounds — at 10 rounds/s and 50–95 % per round, 4–9 reads a
 * second even with 20 % bursty misses — while a tag at the edge of the field answers a few
 * rounds in a hundred, 0.1–0.3 reads a second. Poisson reads at rate λ complete k reads within W
 * about λ(λW)^(k−1)/(k−1)! times a second: with k = 4 and W = 1 s a tag in the field is present
 * within a second, and an edge tag at 0.2 reads/s is falsely present about once an hour
 * (2 reads in 1.5 s would make it present every 20 s or so).
 *
 * A present tag is gone when unread for `intervalsToGone` of its own mean read interval, kept
 * between `goneFloorMs` and `goneCapMs`. Were reads random, gaps would be about exponential and a
 * gap of 20 mean intervals would come once in e^20 (5·10^8) reads; misses come in bursts, which
 * makes long gaps far likelier, and in the read model with 20 % bursty misses a present tag is
 * still falsely gone only about once in 50 tag-hours. So a tag read 10 times a second is gone
 * 2 s after its last read, one read 6 times a second (a weaker tag, more misses) after 3.3 s, and
 * one read every 1.5 s waits the cap of 10 s. Its RSSI is an exponentially weighted mean of its
 * reads.
 *
 * Time moves only with `push(read)` (which first settles everything due up to the read) and
 * `advance(now)`, never with timers, so a replay gives the same events as the live run. Gone
 * tags and candidates that never became present are forgotten.
 */
import type { TagRead } from '../devices/rfid/tag-read.js';

export interface TagPresenceSettings {
  seenReads: number;
  seenWindowMs: number;
  intervalsToGone: number;
  goneFloorMs: number;
  goneCapMs: number;
  /** Weight of a new interval in the tag's mean read interval. */
  intervalAlpha: number;
  /** Weight of a new read in the smoothed RSSI. */
  rssiAlpha: number;
  /** Most (reader, antenna, tag) triples followed at once; reads of more are dropped and counted. */
  maxTracked: number;
}

export const DEFAULT_TAG_PRESENCE_SETTINGS: TagPresenceSettings = {
  seenReads: 4,
  seenWindowMs: 1_000,
  intervalsToGone: 20,
  goneFloorMs: 1_500,
  goneCapMs: 10_000,
  intervalAlpha: 0.1,
  rssiAlpha: 0.25,
  maxTracked: 50_000,
};

export interface TagPresenceEvent {
  kind: 'seen' | 'gone';
  reader: string;
  antenna: number;
  epc: string;
  /** When the state changed: the confirming read for 'seen', the end of the wait for 'gone'. */
  at: number;
  /** First and last read of the spell ('seen': the confirming window). */
  firstReadAt: number;
  lastReadAt: number;
  /** Smoothed RSSI, dBm; NaN when the reader reports none. */
  rssi: number;
  /** Reads of the spell so far. */
  reads: number;
}

export interface TagPresenceCounters {
  reads: number;
  /** Reads without a usable time, EPC or antenna. */
  badReads: number;
  /** Reads stamped before the time already reached; taken as now. */
  lateReads: number;
  /** Reads dropped because `maxTracked` triples were followed. */
  overflowReads: number;
  seen: number;
  gone: number;
}

interface TagState {
  reader: string;
  antenna: number;
  epc: string;
  present: boolean;
  /** Times of the last `seenReads` reads, a ring. */
  recent: Float64Array;
  recentNext: number;
  recentCount: number;
  firstReadAt: number;
  lastReadAt: number;
  reads: number;
  meanInterval: number;
  rssi: number;
  /** Present: when it is gone without another read; candidate: when it is forgotten. */
  dueAt: number;
}

export class TagPresence {
  readonly counters: TagPresenceCounters = { reads: 0, badReads: 0, lateReads: 0, overflowReads: 0, seen: 0, gone: 0 };
  private readonly settings: TagPresenceSettings;
  private readonly states = new Map<string, Map<number, Map<string, TagState>>>();
  private tracked = 0;
  private present = 0;
  private now = -Infinity;
  /** No state is due before this (a lower bound: reads only push due times later). */
  private nextDueAt = Infinity;
  private readonly due: TagState[] = [];

  constructor(
    private readonly onEvent: (event: TagPresenceEvent) => void,
    settings: Partial<TagPresenceSettings> = {},
  ) {
    this.settings = { ...DEFAULT_TAG_PRESENCE_SETTINGS, ...settings };
  }

  get trackedCount(): number {
    return this.tracked;
  }

  get presentCount(): number {
    return this.present;
  }

  isPresent(reader: string, antenna: number, epc: string): boolean {
    return this.states.get(reader)?.get(antenna)?.get(epc)?.present === true;
  }

  /** Settles everything due up to the read's time, then takes the read. The read object is not kept. */
  push(read: TagRead): void {
    this.counters.reads += 1;
    const { reader, antenna, epc } = read;
    let at = read.at;
    if (!Number.isFinite(at) || typeof epc !== 'string' || epc.length === 0 || typeof reader !== 'string' || !Number.isInteger(antenna)) {
      this.counters.badReads += 1;
      return;
    }
    if (at < this.now) {
      this.counters.lateReads += 1;
      at = this.now;
    } else {
      this.advance(at);
    }
    const state = this.stateFor(reader, antenna, epc, at);
    if (!state) {
      this.counters.overflowReads += 1;
      return;
    }
    this.take(state, at, read.rssi);
  }

  /** Moves time to `now`: tags unread for too long are gone, stale candidates forgotten. */
  advance(now: number): void {
    if (!(now > this.now)) return;
    this.now = now;
    if (now < this.nextDueAt) return;
    const due = this.due;
    let next = Infinity;
    for (const ports of this.states.values()) {
      for (const tags of ports.values()) {
        for (const state of tags.values()) {
          if (state.dueAt <= now) due.push(state);
          else if (state.dueAt < next) next = state.dueAt;
        }
      }
    }
    this.nextDueAt = next;
    due.sort((a, b) => a.dueAt - b.dueAt);
    for (const state of due) this.forget(state);
    due.length = 0;
  }

  private stateFor(reader: string, antenna: number, epc: string, at: number): TagState | undefined {
    let ports = this.states.get(reader);
    if (!ports) {
      ports = new Map();
      this.states.set(reader, ports);
    }
    let tags = ports.get(antenna);
    if (!tags) {
      tags = new Map();
      ports.set(antenna, tags);
    }
    let state = tags.get(epc);
    if (state) return state;
    if (this.tracked >= this.settings.maxTracked) return undefined;
    state = {
      reader,
      antenna,
      epc,
      present: false,
      recent: new Float64Array(Math.max(1, this.settings.seenReads)),
      recentNext: 0,
      recentCount: 0,
      firstReadAt: at,
      lastReadAt: at,
      reads: 0,
      meanInterval: NaN,
      rssi: NaN,
      dueAt: Infinity,
    };
    tags.set(epc, state);
    this.tracked += 1;
    return state;
  }

  private take(state: TagState, at: number, rssi: number): void {
    const s = this.settings;
    if (state.reads > 0) {
      const gap = at - state.lastReadAt;
      if (gap > 0) {
        const clipped = Math.min(gap, s.goneCapMs);
        state.meanInterval = Number.isNaN(state.meanInterval) ? clipped : state.meanInterval + (clipped - state.meanInterval) * s.intervalAlpha;
      }
    }
    state.reads += 1;
    state.lastReadAt = at;
    if (Number.isFinite(rssi)) state.rssi = Number.isNaN(state.rssi) ? rssi : state.rssi + (rssi - state.rssi) * s.rssiAlpha;

    if (state.present) {
      state.dueAt = at + this.timeout(state);
    } else {
      const ring = state.recent;
      ring[state.recentNext] = at;
      state.recentNext = (state.recentNext + 1) % ring.length;
      state.recentCount = Math.min(ring.length, state.recentCount + 1);
      const oldest = ring[state.recentCount < ring.length ? 0 : state.recentNext]!;
      if (state.recentCount >= s.seenReads && at - oldest <= s.seenWindowMs) {
        state.present = true;
        this.present += 1;
        this.counters.seen += 1;
        state.firstReadAt = oldest;
        state.reads = s.seenReads;
        state.dueAt = at + this.timeout(state);
        this.emit('seen', state, at);
      } else {
        // A candidate whose reads have all left the window has nothing left to complete.
        state.dueAt = at + s.seenWindowMs;
      }
    }
    if (state.dueAt < this.nextDueAt) this.nextDueAt = state.dueAt;
  }

  private timeout(state: TagState): number {
    const s = this.settings;
    const interval = Number.isNaN(state.meanInterval) ? 0 : state.meanInterval;
    return Math.min(s.goneCapMs, Math.max(s.goneFloorMs, s.intervalsToGone * interval));
  }

  private forget(state: TagState): void {
    const tags = this.states.get(state.reader)?.get(state.antenna);
    tags?.delete(state.epc);
    this.tracked -= 1;
    if (!state.present) return;
    this.present -= 1;
    this.counters.gone += 1;
    this.emit('gone', state, state.dueAt);
  }

  private emit(kind: 'seen' | 'gone', state: TagState, at: number): void {
    this.onEvent({
      kind,
      reader: state.reader,
      antenna: state.antenna,
      epc: state.epc,
      at,
      firstReadAt: state.firstReadAt,
      lastReadAt: state.lastReadAt,
      rssi: state.rssi,
      reads: state.reads,
    });
  }
}
