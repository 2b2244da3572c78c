import { describe, expect, it } from 'vitest';
import { Random } from '../../edge-agent/src/sim/random.js';
import { StoreTrackMerger, type FloorTrackObservation, type ShopperTrack } from '../../edge-agent/src/vision/store-tracks.js';

/** The demo store's two overhead cameras: west sees x < 6.9 m, east x > 5.1 m. */
const sees = { west: (x: number) => x < 6.9, east: (x: number) => x > 5.1 };
const FRAME_MS = 200;

/** Per-camera projection error: each camera places a shopper a little differently. */
function seenAt(random: Random, x: number, y: number, sigma = 0.08) {
  return { x: x + random.normal(0, sigma), y: y + random.normal(0, sigma) };
}

function unit(...values: number[]): Float32Array {
  const norm = Math.hypot(...values);
  return Float32Array.from(values, (v) => v / norm);
}

const snapshot = (tracks: readonly ShopperTrack[]) => tracks.map((t) => ({ ...t, sources: [...t.sources] }));

describe('StoreTrackMerger', () => {
  it('makes one shopper seen by two overlapping cameras one store track with two sources', () => {
    const random = new Random(1);
    const merger = new StoreTrackMerger();
    for (let f = 0; f < 20; f++) {
      const at = f * FRAME_MS;
      const x = 5.6 + 0.1 * f * 0.2;
      merger.update({ camera: 'west', at, tracks: [{ trackId: 3, state: 'confirmed', floor: seenAt(random, x, 4) }] });
      merger.update({ camera: 'east', at: at + 20, tracks: [{ trackId: 8, state: 'confirmed', floor: seenAt(random, x, 4) }] });
    }
    expect(merger.tracks).toHaveLength(1);
    const [shopper] = merger.tracks;
    expect(shopper!.sources).toEqual([
      { camera: 'west', trackId: 3 },
      { camera: 'east', trackId: 8 },
    ]);
    expect(shopper!.x).toBeCloseTo(5.6 + 0.1 * 19 * 0.2, 0);
    expect(Math.abs(shopper!.y - 4)).toBeLessThan(0.15);
    // Walking at 0.1 m/s along x.
    expect(shopper!.vx).toBeGreaterThan(0.02);
    expect(shopper!.vx).toBeLessThan(0.25);
    expect(shopper!.firstSeenAt).toBe(0);
  });

  it('keeps two shoppers 2 m apart as two store tracks, each with both cameras', () => {
    const random = new Random(2);
    const merger = new StoreTrackMerger();
    for (let f = 0; f < 10; f++) {
      const at = f * FRAME_MS;
      const people = [seenAt(random, 6, 2), seenAt(random, 6, 4)];
      // The cameras number their tracks differently and list them in different orders.
      merger.update({ camera: 'west', at, tracks: people.map((floor, i) => ({ trackId: 10 + i, state: 'confirmed' as const, floor })) });
      const east = [seenAt(random, 6, 4), seenAt(random, 6, 2)];
      merger.update({ camera: 'east', at: at + 10, tracks: east.map((floor, i) => ({ trackId: 50 + i, state: 'confirmed' as const, floor })) });
    }
    const tracks = [...merger.tracks].sort((a, b) => a.y - b.y);
    expect(tracks).toHaveLength(2);
    expect(tracks[0]!.sources).toEqual([{ camera: 'west', trackId: 10 }, { camera: 'east', trackId: 51 }]);
    expect(tracks[1]!.sources).toEqual([{ camera: 'west', trackId: 11 }, { camera: 'east', trackId: 50 }]);
    expect(tracks[0]!.y).toBeCloseTo(2, 0);
    expect(tracks[1]!.y).toBeCloseTo(4, 0);
  });

  it('keeps the store id of a shopper walking from one camera into the next', () => {
    const random = new Random(3);
    const merger = new StoreTrackMerger();
    const ids = new Set<string>();
    let x = 2;
    for (let f = 0; x < 10.5; f++, x += 1.2 * (FRAME_MS / 1000)) {
      const at = f * FRAME_MS;
      for (const [camera, trackId] of [['west', 1], ['east', 7]] as const) {
        const tracks: FloorTrackObservation[] = sees[camera](x) ? [{ trackId, state: 'confirmed', floor: seenAt(random, x, 3) }] : [];
        merger.update({ camera, at: at + (camera === 'east' ? 15 : 0), tracks });
      }
      for (const t of merger.tracks) ids.add(t.id);
      expect(merger.tracks.length, `at x = ${x.toFixed(2)}`).toBe(1);
    }
    expect(ids.size).toBe(1);
    expect(merger.tracks[0]!.sources).toEqual([{ camera: 'east', trackId: 7 }]);
    expect(merger.tracks[0]!.vx).toBeCloseTo(1.2, 0);
  });

  it('bridges a short gap between cameras by coasting, and ends a track after the timeout', () => {
    const merger = new StoreTrackMerger({ timeoutMs: 2000 });
    let at = 0;
    // Seen by the west camera only, walking east at 1 m/s …
    for (let x = 4; x <= 5.8; x += 0.2, at += FRAME_MS) merger.update({ camera: 'west', at, tracks: [{ trackId: 1, state: 'confirmed', floor: { x, y: 3 } }] });
    const id = merger.tracks[0]!.id;
    // … then by neither for 0.6 s …
    for (let i = 0; i < 3; i++, at += FRAME_MS) merger.update({ camera: 'west', at, tracks: [] });
    expect(snapshot(merger.tracks)).toMatchObject([{ id, sources: [] }]);
    // … then by the east camera where the walk leads.
    merger.update({ camera: 'east', at, tracks: [{ trackId: 4, state: 'confirmed', floor: { x: 6.5, y: 3 } }] });
    expect(snapshot(merger.tracks)).toMatchObject([{ id, sources: [{ camera: 'east', trackId: 4 }] }]);
    // The east camera loses them; the track coasts, then ends.
    const ended: string[] = [];
    for (let i = 0; i < 15; i++) {
      at += FRAME_MS;
      ended.push(...merger.update({ camera: 'east', at, tracks: [] }).ended);
    }
    expect(ended).toEqual([id]);
    expect(merger.tracks).toHaveLength(0);
  });

  it('does not merge tracks whose appearance disagrees, and does when it agrees', () => {
    const red = unit(1, 0.1, 0);
    const blue = unit(0, 0.1, 1);
    const run = (westLook: Float32Array, eastLook: Float32Array) => {
      const merger = new StoreTrackMerger();
      for (let f = 0; f < 5; f++) {
        merger.update({ camera: 'west', at: f * FRAME_MS, tracks: [{ trackId: 1, state: 'confirmed', floor: { x: 6, y: 3 }, embedding: westLook }] });
        merger.update({ camera: 'east', at: f * FRAME_MS + 5, tracks: [{ trackId: 2, state: 'confirmed', floor: { x: 6.1, y: 3.05 }, embedding: eastLook }] });
      }
      return merger.tracks.map((t) => t.sources.length);
    };
    expect(run(red, blue)).toEqual([1, 1]);
    expect(run(red, unit(0.95, 0.12, 0.2))).toEqual([2]);
  });

  it('assigns competing new tracks by least total distance, not first come first served', () => {
    const merger = new StoreTrackMerger();
    merger.update({ camera: 'west', at: 0, tracks: [{ trackId: 1, state: 'confirmed', floor: { x: 6.0, y: 3 } }, { trackId: 2, state: 'confirmed', floor: { x: 7.0, y: 3 } }] });
    // p is nearest to the first shopper, but q can only be the first: p must be the second.
    merger.update({ camera: 'east', at: 10, tracks: [{ trackId: 5, state: 'confirmed', floor: { x: 6.45, y: 3 } }, { trackId: 6, state: 'confirmed', floor: { x: 5.8, y: 3 } }] });
    const byWest = new Map(merger.tracks.map((t) => [t.sources.find((s) => s.camera === 'west')!.trackId, t.sources.find((s) => s.camera === 'east')?.trackId]));
    expect(byWest.get(1)).toBe(6);
    expect(byWest.get(2)).toBe(5);
    expect(merger.tracks).toHaveLength(2);
  });

  it('starts nothing from tentative tracks or unusable points, and refuses a nameless update', () => {
    const merger = new StoreTrackMerger();
    merger.update({
      camera: 'west',
      at: 0,
      tracks: [
        { trackId: 1, state: 'tentative', floor: { x: 1, y: 1 } },
        { trackId: 2, state: 'confirmed', floor: { x: Number.NaN, y: 1 } },
        { trackId: 3, state: 'lost', floor: { x: 3, y: 3 } },
      ],
    });
    expect(merger.tracks).toHaveLength(0);
    merger.update({ camera: 'west', at: 200, tracks: [{ trackId: 1, state: 'confirmed', floor: { x: 1, y: 1 } }] });
    expect(snapshot(merger.tracks)).toMatchObject([{ x: 1, y: 1, sources: [{ camera: 'west', trackId: 1 }] }]);
    expect(() => merger.update({ camera: '', at: 0, tracks: [] })).toThrow(/needs a camera id and a finite time/);
    expect(() => new StoreTrackMerger({ minSimilarity: 2 })).toThrow(/cosine/);
  });
});
