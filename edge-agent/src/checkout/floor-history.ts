/**
 * Where each floor track has been over the last minutes: association asks where shoppers stood
 * while a shelf was disturbed, which is seconds before the weight event is announced. Points are
 * kept per track in time order and pruned from the front; a track's history outlives its end by
 * the same span, so an event that settles after a shopper walked off still finds them.
 */
import type { Vec2 } from '../sim/store-layout.js';

export interface FloorPoint {
  at: number;
  x: number;
  y: number;
}

interface TrackHistory {
  points: FloorPoint[];
  firstAt: number;
  lastAt: number;
  endedAt: number | null;
}

export class FloorHistory {
  private readonly tracks = new Map<string, TrackHistory>();

  constructor(private readonly keepMs: number) {}

  /** Records a position; returns true when the track is new. */
  observe(track: string, at: number, x: number, y: number): boolean {
    let h = this.tracks.get(track);
    const fresh = h === undefined;
    if (!h) this.tracks.set(track, (h = { points: [], firstAt: at, lastAt: at, endedAt: null }));
    h.points.push({ at, x, y });
    h.lastAt = at;
    h.endedAt = null;
    return fresh;
  }

  end(track: string, at: number): void {
    const h = this.tracks.get(track);
    if (h) h.endedAt = at;
  }

  /** Drops points older than the kept span, and tracks that ended before it. */
  prune(now: number): void {
    const cutoff = now - this.keepMs;
    for (const [id, h] of this.tracks) {
      if (h.endedAt !== null && h.lastAt < cutoff) {
        this.tracks.delete(id);
        continue;
      }
      let drop = 0;
      // Always keep the newest point: it is the track's last known place.
      while (drop < h.points.length - 1 && h.points[drop]!.at < cutoff) drop += 1;
      if (drop > 0) h.points.splice(0, drop);
    }
  }

  has(track: string): boolean {
    return this.tracks.has(track);
  }

  firstAt(track: string): number | undefined {
    return this.tracks.get(track)?.firstAt;
  }

  last(track: string): FloorPoint | undefined {
    const h = this.tracks.get(track);
    return h ? h.points[h.points.length - 1] : undefined;
  }

  first(track: string): FloorPoint | undefined {
    return this.tracks.get(track)?.points[0];
  }

  /** Live (not ended) tracks with their last point. */
  *live(): Iterable<[string, FloorPoint]> {
    for (const [id, h] of this.tracks) if (h.endedAt === null) yield [id, h.points[h.points.length - 1]!];
  }

  /**
   * The track's smallest distance to `place` over [from, to]; when it has no point in the window,
   * its nearest point in time within `slackMs` of it.
   */
  closestApproach(track: string, place: Vec2, from: number, to: number, slackMs: number): { distance: number; at: number } | undefined {
    const h = this.tracks.get(track);
    if (!h) return undefined;
    let best: { distance: number; at: number } | undefined;
    let nearestInTime: FloorPoint | undefined;
    let nearestGap = Infinity;
    for (const p of h.points) {
      if (p.at >= from && p.at <= to) {
        const d = Math.hypot(p.x - place.x, p.y - place.y);
        if (!best || d < best.distance) best = { distance: d, at: p.at };
      } else {
        const gap = p.at < from ? from - p.at : p.at - to;
        if (gap < nearestGap) {
          nearestGap = gap;
          nearestInTime = p;
        }
      }
    }
    if (best) return best;
    if (nearestInTime && nearestGap <= slackMs) return { distance: Math.hypot(nearestInTime.x - place.x, nearestInTime.y - place.y), at: nearestInTime.at };
    return undefined;
  }

  /**
   * The track's mean distance to `place` over [from, to] — a shopper reaching into a shelf stands
   * there the whole time, one walking past is near only for a moment — with the closest approach
   * when it has no point in the window (see closestApproach).
   */
  meanDistance(track: string, place: Vec2, from: number, to: number, slackMs: number): { distance: number; at: number } | undefined {
    const h = this.tracks.get(track);
    if (!h) return undefined;
    let sum = 0;
    let n = 0;
    for (const p of h.points) {
      if (p.at < from || p.at > to) continue;
      sum += Math.hypot(p.x - place.x, p.y - place.y);
      n += 1;
    }
    if (n > 0) return { distance: sum / n, at: (from + to) / 2 };
    return this.closestApproach(track, place, from, to, slackMs);
  }

  /** Ids of tracks with a point in [from, to] (ended ones included). */
  *presentBetween(from: number, to: number): Iterable<string> {
    for (const [id, h] of this.tracks) if (h.lastAt >= from && h.firstAt <= to) yield id;
  }
}

/** Distance from a point to a polygon on the floor: 0 inside. */
export function distanceToPolygon(p: Vec2, polygon: readonly Vec2[]): number {
  let inside = false;
  let best = Infinity;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[j]!;
    const b = polygon[i]!;
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len2 = dx * dx + dy * dy;
    const t = len2 > 0 ? Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2)) : 0;
    best = Math.min(best, Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy)));
  }
  return inside ? 0 : best;
}
