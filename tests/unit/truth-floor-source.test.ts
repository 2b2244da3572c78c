import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { EventBus, type BusEvents } from '../../edge-agent/src/bus.js';
import { TruthFloorSource, type TruthFloorOptions } from '../../edge-agent/src/checkout/truth-floor-source.js';
import type { TruthTrackPoint } from '../../edge-agent/src/sim/ground-truth.js';

type Update = BusEvents['vision.shoppers'];

/** Two shoppers walking for `frames` frames of 200 ms; the second leaves 1 s before the first. */
function walk(frames: number): TruthTrackPoint[] {
  const points: TruthTrackPoint[] = [];
  for (let f = 0; f < frames; f++) {
    const at = 10_000 + f * 200;
    points.push({ at, shopper: 's1', x: 1 + f * 0.1, y: 2 });
    if (f < frames - 5) points.push({ at, shopper: 's2', x: 5, y: 1 + f * 0.05 });
  }
  return points;
}

/** Runs the source the way the replay scheduler does and returns what reached the bus. */
function drain(points: readonly TruthTrackPoint[], options: TruthFloorOptions): { updates: Update[]; source: TruthFloorSource } {
  const bus = new EventBus(pino({ level: 'silent' }));
  const updates: Update[] = [];
  bus.on('vision.shoppers', 'test', (u) => void updates.push(structuredClone(u)));
  const source = new TruthFloorSource(points, bus, options);
  for (let at = source.peek(); at !== undefined; at = source.peek()) {
    const before = updates.length;
    source.deliver();
    expect(updates.length).toBe(before + 1);
    expect(updates[updates.length - 1]!.at).toBe(at);
  }
  return { updates, source };
}

describe('TruthFloorSource', () => {
  it('emits one update per distinct timestamp, in time order, with the truth ids and exact positions without noise', () => {
    const points = walk(20);
    const { updates, source } = drain(points, { missRate: 0, noiseM: 0, seed: 1 });
    const seen = updates.filter((u) => u.tracks.length > 0);
    expect(seen).toHaveLength(20);
    expect(seen.map((u) => u.at)).toEqual(Array.from({ length: 20 }, (_, f) => 10_000 + f * 200));
    expect(seen[3]!.tracks.map((t) => [t.id, t.x, t.y])).toEqual([
      ['s1', 1 + 3 * 0.1, 2],
      ['s2', 5, 1 + 3 * 0.05],
    ]);
    // The checkout service ignores tracks without a camera source: these must have one.
    expect(seen.every((u) => u.tracks.every((t) => t.sources.length > 0 && t.at === u.at))).toBe(true);
    expect(source.observations).toBe(points.length);
    expect(source.dropped).toBe(0);
  });

  it('ends each track endAfterMs after its last point, with no tracks in that update', () => {
    const { updates } = drain(walk(20), { missRate: 0, noiseM: 0, seed: 1, endAfterMs: 1500 });
    const ends = updates.filter((u) => u.ended.length > 0);
    const lastOf = (id: string) => Math.max(...walk(20).filter((p) => p.shopper === id).map((p) => p.at));
    expect(ends).toEqual([
      { at: lastOf('s2') + 1500, tracks: [], ended: ['s2'] },
      { at: lastOf('s1') + 1500, tracks: [], ended: ['s1'] },
    ]);
    expect(updates[updates.length - 1]).toEqual(ends[1]);
  });

  it('ends a track at the default 3 s, after the points of the same time', () => {
    const points: TruthTrackPoint[] = [
      { at: 0, shopper: 'a', x: 0, y: 0 },
      { at: 3000, shopper: 'b', x: 1, y: 1 },
    ];
    const { updates } = drain(points, { missRate: 0, noiseM: 0, seed: 1 });
    expect(updates.map((u) => [u.at, u.tracks.map((t) => t.id), u.ended])).toEqual([
      [0, ['a'], []],
      [3000, ['b'], []],
      [3000, [], ['a']],
      [6000, [], ['b']],
    ]);
  });

  it('never misses one shopper two frames running, and misses about the share asked', () => {
    const points = walk(2000);
    const { updates, source } = drain(points, { missRate: 0.3, noiseM: 0, seed: 7 });
    const frames = updates.filter((u) => u.ended.length === 0);
    for (const id of ['s1', 's2']) {
      const present = frames.filter((u) => points.some((p) => p.at === u.at && p.shopper === id)).map((u) => u.tracks.some((t) => t.id === id));
      const misses = present.filter((p) => !p).length;
      expect(misses).toBeGreaterThan(0);
      for (let i = 1; i < present.length; i++) expect(present[i - 1] || present[i]).toBe(true);
    }
    const share = source.dropped / source.observations;
    // Never twice running: a share p is asked of the frames after a kept one, so p / (1 + p) of all.
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.26);
  });

  it('adds position noise that is seeded: the same seed gives the same tracks, another seed others', () => {
    const points = walk(500);
    const options = { missRate: 0.05, noiseM: 0.1, seed: 3 };
    const a = drain(points, options).updates;
    const b = drain(points, options).updates;
    const c = drain(points, { ...options, seed: 4 }).updates;
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    const errors: number[] = [];
    for (const u of a) {
      for (const t of u.tracks) {
        const truth = points.find((p) => p.at === u.at && p.shopper === t.id)!;
        errors.push(t.x - truth.x, t.y - truth.y);
      }
    }
    const sd = Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length);
    expect(sd).toBeGreaterThan(0.09);
    expect(sd).toBeLessThan(0.11);
  });

  it('passes staff on like any shopper', () => {
    const { updates } = drain([{ at: 0, shopper: 'staff-1', x: 1, y: 1, staff: true }], { missRate: 0, noiseM: 0, seed: 1 });
    expect(updates[0]!.tracks.map((t) => t.id)).toEqual(['staff-1']);
    expect(updates[1]!.ended).toEqual(['staff-1']);
  });

  it('refuses a miss share outside [0, 1)', () => {
    expect(() => new TruthFloorSource([], new EventBus(pino({ level: 'silent' })), { missRate: 1, noiseM: 0, seed: 1 })).toThrow(RangeError);
  });
});
