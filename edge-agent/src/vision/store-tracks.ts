/**
 * Store-level shopper tracks from the per-camera tracks projected onto the floor: one shopper
 * seen by two overlapping cameras is one track, and keeps its id while walking from one camera's
 * view into the next.
 *
 * Choices:
 * - A camera track, once linked to a store track, stays linked until its camera stops listing
 *   it: the camera's tracker already did the frame-to-frame association, and re-deciding every
 *   frame would swap shoppers who pass close to each other.
 * - Only confirmed camera tracks link or start store tracks (tentative ones are often noise);
 *   a `lost` camera track keeps its link but its coasted position is not used.
 * - A new camera track joins the store track nearest to it within `gateM` that has no track from
 *   the same camera yet (a camera does not see one shopper twice); when several new tracks compete,
 *   the Hungarian method assigns them. With embeddings on both sides the appearance must agree
 *   (cosine ≥ `minSimilarity`), so two shoppers meeting at a camera's edge are not merged.
 * - Position is the mean of the sources' latest floor points, smoothed by a small filter that
 *   predicts with the velocity, itself measured over windows of 0.4 s or more (cameras report a
 *   few milliseconds apart). Without sources a track coasts and ends after `timeoutMs`.
 * - Two store tracks that later turn out to be one shopper are not merged (a calibration good to
 *   a few decimetres makes the first link right).
 */
import munkres from 'munkres';
import type { FloorPoint } from './camera-track.js';
import { cosineSimilarity } from './person-embedder.js';

export interface FloorTrackObservation {
  trackId: number;
  state: 'tentative' | 'confirmed' | 'lost';
  floor: FloorPoint;
  /** L2-normalised appearance, when the camera pipeline computed one. */
  embedding?: Float32Array;
}

/** All of one camera's current tracks at one frame: a track not listed has ended. */
export interface CameraFloorUpdate {
  camera: string;
  /** Store time of the frame, ms. */
  at: number;
  tracks: readonly FloorTrackObservation[];
}

export interface ShopperTrackSource {
  camera: string;
  trackId: number;
}

/** A shopper on the store floor, metres and metres per second. */
export interface ShopperTrack {
  id: string;
  x: number;
  y: number;
  vx: number;
  vy: number;
  /** Store time of the last update, ms. */
  at: number;
  firstSeenAt: number;
  /** Camera tracks that see the shopper now; empty while the track coasts. */
  sources: ShopperTrackSource[];
}

export interface StoreTrackMergerOptions {
  /** Largest distance at which a new camera track joins a store track (default 0.7 m). */
  gateM?: number;
  /** Smallest appearance similarity for a join when both sides have embeddings (default 0.7). */
  minSimilarity?: number;
  /** A store track without sources ends after this long (default 3000 ms). */
  timeoutMs?: number;
  /** A source's position counts towards the mean while younger than this (default 1000 ms). */
  sourceMaxAgeMs?: number;
  /** Weights of a new position and of a new velocity measurement (defaults 0.6 and 0.5). */
  alpha?: number;
  beta?: number;
  idPrefix?: string;
}

export interface StoreTrackUpdate {
  /** Every live store track; the objects are updated in place by later calls. */
  tracks: readonly ShopperTrack[];
  /** Ids of store tracks that ended during this update. */
  ended: readonly string[];
}

interface Source extends ShopperTrackSource {
  key: string;
  x: number;
  y: number;
  seenAt: number;
}

interface StoreTrack {
  view: ShopperTrack;
  sources: Map<string, Source>;
  /** Running mean of the sources' embeddings (normalised on use). */
  appearance: Float32Array | undefined;
  lastSourceAt: number;
  /** Where the track was at the start of the current velocity window. */
  windowX: number;
  windowY: number;
  windowAt: number;
}

/** How far a coasting track is extrapolated at most: a shopper does not keep walking blind. */
const MAX_COAST_MS = 1000;
/** Shortest time over which a velocity is measured. */
const VELOCITY_WINDOW_MS = 400;
/** Weight of a new embedding in a track's appearance. */
const APPEARANCE_RATE = 0.2;

export class StoreTrackMerger {
  private readonly gate: number;
  private readonly minSimilarity: number;
  private readonly timeoutMs: number;
  private readonly sourceMaxAgeMs: number;
  private readonly alpha: number;
  private readonly beta: number;
  private readonly idPrefix: string;
  private readonly live: StoreTrack[] = [];
  private readonly byKey = new Map<string, StoreTrack>();
  private readonly views: ShopperTrack[] = [];
  private readonly endedIds: string[] = [];
  private readonly result: StoreTrackUpdate = { tracks: this.views, ended: this.endedIds };
  private readonly seen = new Set<string>();
  private nextId = 1;

  constructor(options: StoreTrackMergerOptions = {}) {
    this.gate = options.gateM ?? 0.7;
    this.minSimilarity = options.minSimilarity ?? 0.7;
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.sourceMaxAgeMs = options.sourceMaxAgeMs ?? 1000;
    this.alpha = options.alpha ?? 0.6;
    this.beta = options.beta ?? 0.5;
    this.idPrefix = options.idPrefix ?? 'shopper-';
    if (!(this.gate > 0) || !(this.timeoutMs >= 0) || !(this.sourceMaxAgeMs > 0)) throw new RangeError('gateM and sourceMaxAgeMs must be positive, timeoutMs not negative');
    if (!(this.minSimilarity >= -1 && this.minSimilarity <= 1)) throw new RangeError(`minSimilarity is a cosine (-1..1), got ${this.minSimilarity}`);
    if (!(this.alpha > 0 && this.alpha <= 1 && this.beta >= 0 && this.beta <= 1)) throw new RangeError('alpha must be in (0, 1] and beta in [0, 1]');
  }

  /** The live store tracks, as of the last update. */
  get tracks(): readonly ShopperTrack[] {
    return this.views;
  }

  update(input: CameraFloorUpdate): StoreTrackUpdate {
    const { camera, at } = input;
    if (typeof camera !== 'string' || camera === '' || !Number.isFinite(at)) throw new RangeError(`a camera update needs a camera id and a finite time, got ${JSON.stringify({ camera, at })}`);
    this.endedIds.length = 0;
    const touched = new Set<StoreTrack>();
    const seen = this.seen;
    seen.clear();

    const fresh: FloorTrackObservation[] = [];
    for (const obs of input.tracks) {
      if (!Number.isFinite(obs.floor.x) || !Number.isFinite(obs.floor.y)) continue;
      const key = `${camera}#${obs.trackId}`;
      seen.add(key);
      const linked = this.byKey.get(key);
      if (linked) {
        if (obs.state !== 'lost') {
          const source = linked.sources.get(key)!;
          source.x = obs.floor.x;
          source.y = obs.floor.y;
          source.seenAt = at;
          linked.lastSourceAt = Math.max(linked.lastSourceAt, at);
          this.learnAppearance(linked, obs.embedding);
          touched.add(linked);
        }
      } else if (obs.state === 'confirmed') {
        fresh.push(obs);
      }
    }
    // Tracks this camera no longer lists have ended; their store tracks lose that source.
    for (const track of this.live) {
      for (const [key, source] of track.sources) {
        if (source.camera !== camera || seen.has(key)) continue;
        track.sources.delete(key);
        this.byKey.delete(key);
        this.refreshSources(track);
      }
    }

    for (const [obs, track] of this.assign(camera, at, fresh)) {
      const key = `${camera}#${obs.trackId}`;
      const target = track ?? this.start(at);
      target.sources.set(key, { key, camera, trackId: obs.trackId, x: obs.floor.x, y: obs.floor.y, seenAt: at });
      target.lastSourceAt = Math.max(target.lastSourceAt, at);
      this.byKey.set(key, target);
      this.learnAppearance(target, obs.embedding);
      this.refreshSources(target);
      touched.add(target);
    }

    for (const track of touched) this.correct(track, at);
    this.expire(at);
    return this.result;
  }

  /** Pairs each new camera track with the store track it joins, or undefined for a new shopper. */
  private assign(camera: string, at: number, fresh: readonly FloorTrackObservation[]): [FloorTrackObservation, StoreTrack | undefined][] {
    const pairs: [FloorTrackObservation, StoreTrack | undefined][] = [];
    if (fresh.length === 0) return pairs;
    const candidates = this.live.filter((t) => ![...t.sources.values()].some((s) => s.camera === camera));
    const forbidden = this.gate * 10;
    const costs = fresh.map((obs) =>
      candidates.map((track) => {
        const dt = Math.min(MAX_COAST_MS, Math.max(0, at - track.view.at)) / 1000;
        const d = Math.hypot(obs.floor.x - (track.view.x + track.view.vx * dt), obs.floor.y - (track.view.y + track.view.vy * dt));
        if (d > this.gate) return forbidden;
        if (obs.embedding && track.appearance && cosineSimilarity(obs.embedding, track.appearance) < this.minSimilarity) return forbidden;
        return d;
      }),
    );
    const joined = new Map<number, StoreTrack>();
    if (candidates.length > 0) {
      for (const [i, j] of munkres(costs)) if (costs[i]![j]! < forbidden) joined.set(i, candidates[j]!);
    }
    fresh.forEach((obs, i) => pairs.push([obs, joined.get(i)]));
    return pairs;
  }

  private start(at: number): StoreTrack {
    const view: ShopperTrack = { id: `${this.idPrefix}${this.nextId++}`, x: NaN, y: NaN, vx: 0, vy: 0, at, firstSeenAt: at, sources: [] };
    const track: StoreTrack = { view, sources: new Map(), appearance: undefined, lastSourceAt: at, windowX: NaN, windowY: NaN, windowAt: at };
    this.live.push(track);
    this.views.push(view);
    return track;
  }

  /**
   * Moves the track towards the mean of its recently seen sources (predicting over the time since
   * the last step), and measures velocity over windows of at least VELOCITY_WINDOW_MS: cameras
   * report a few milliseconds apart, and differences over such steps would be mostly noise.
   */
  private correct(track: StoreTrack, at: number): void {
    let sx = 0;
    let sy = 0;
    let n = 0;
    for (const s of track.sources.values()) {
      if (at - s.seenAt > this.sourceMaxAgeMs) continue;
      sx += s.x;
      sy += s.y;
      n++;
    }
    if (n === 0) return;
    const mx = sx / n;
    const my = sy / n;
    const v = track.view;
    if (Number.isNaN(v.x)) {
      v.x = mx;
      v.y = my;
      v.at = at;
      track.windowX = mx;
      track.windowY = my;
      track.windowAt = at;
      return;
    }
    const dt = Math.max(0, at - v.at) / 1000;
    const px = v.x + v.vx * dt;
    const py = v.y + v.vy * dt;
    v.x = px + this.alpha * (mx - px);
    v.y = py + this.alpha * (my - py);
    v.at = Math.max(v.at, at);
    const window = v.at - track.windowAt;
    if (window >= VELOCITY_WINDOW_MS) {
      v.vx += this.beta * (((v.x - track.windowX) * 1000) / window - v.vx);
      v.vy += this.beta * (((v.y - track.windowY) * 1000) / window - v.vy);
      track.windowX = v.x;
      track.windowY = v.y;
      track.windowAt = v.at;
    }
  }

  private learnAppearance(track: StoreTrack, embedding: Float32Array | undefined): void {
    if (!embedding) return;
    if (!track.appearance || track.appearance.length !== embedding.length) {
      track.appearance = Float32Array.from(embedding);
      return;
    }
    const a = track.appearance;
    for (let i = 0; i < a.length; i++) a[i] = a[i]! * (1 - APPEARANCE_RATE) + embedding[i]! * APPEARANCE_RATE;
  }

  private refreshSources(track: StoreTrack): void {
    track.view.sources = [...track.sources.values()].map((s) => ({ camera: s.camera, trackId: s.trackId }));
  }

  /** Coasting tracks without sources end after the timeout. */
  private expire(at: number): void {
    let kept = 0;
    for (const track of this.live) {
      if (track.sources.size === 0 && at - track.lastSourceAt > this.timeoutMs) {
        this.endedIds.push(track.view.id);
        continue;
      }
      this.live[kept++] = track;
    }
    if (kept === this.live.length) return;
    this.live.length = kept;
    this.views.length = 0;
    for (const track of this.live) this.views.push(track.view);
  }
}
