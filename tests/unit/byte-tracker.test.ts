import { describe, expect, it } from 'vitest';
import type { CameraTrack } from '../../edge-agent/src/vision/camera-track.js';
import type { Detection } from '../../edge-agent/src/vision/detection.js';
import { ByteTracker, DEFAULT_BYTE_TRACKER_OPTIONS } from '../../edge-agent/src/vision/track/byte-tracker.js';

/** A shopper seen from a camera: a 40 × 100 px box walking at a steady velocity (px/s). */
interface Walker {
  x: number;
  y: number;
  vx: number;
  vy: number;
}

function boxAt(w: Walker, seconds: number, score = 0.9): Detection {
  const x = w.x + w.vx * seconds;
  const y = w.y + w.vy * seconds;
  return { x1: x, y1: y, x2: x + 40, y2: y + 100, score, classId: 0 };
}

function centreX(t: CameraTrack): number {
  return (t.box.x1 + t.box.x2) / 2;
}

/** Copies of the output, which the tracker rewrites on the next frame. */
function snapshot(tracks: readonly CameraTrack[]): CameraTrack[] {
  return tracks.map((t) => ({ ...t, box: { ...t.box } }));
}

const FPS = 10;
const STEP_MS = 1000 / FPS;

describe('ByteTracker', () => {
  it('bridges a 1 s gap in the detections of a walking shopper with the same id', () => {
    const tracker = new ByteTracker();
    const walker = { x: 50, y: 200, vx: 80, vy: 10 };
    let at = 0;
    let out: CameraTrack[] = [];
    for (let k = 0; k < 10; k++, at += STEP_MS) out = snapshot(tracker.update({ at, detections: [boxAt(walker, at / 1000)], detected: true }));
    expect(out).toHaveLength(1);
    const id = out[0]!.id;
    expect(out[0]!.vx).toBeGreaterThan(60);

    const gapEnd = at + 1000;
    const states: string[] = [];
    for (; at < gapEnd; at += STEP_MS) {
      const during = tracker.update({ at, detections: [], detected: true });
      states.push(during.length === 0 ? 'none' : during[0]!.state);
    }
    // Shown at its predicted box for outputLostSeconds, then kept out of sight but remembered.
    expect(states[0]).toBe('lost');
    expect(states.at(-1)).toBe('none');
    expect(tracker.tracks().map((t) => t.state)).toEqual(['lost']);

    const back = tracker.update({ at, detections: [boxAt(walker, at / 1000)], detected: true });
    expect(back.map((t) => [t.id, t.state])).toEqual([[id, 'confirmed']]);
  });

  it('gives a new id to a shopper unseen for longer than lostBufferSeconds', () => {
    const tracker = new ByteTracker();
    const walker = { x: 50, y: 200, vx: 0, vy: 0 };
    let at = 0;
    let id = -1;
    for (let k = 0; k < 10; k++, at += STEP_MS) id = tracker.update({ at, detections: [boxAt(walker, 0)], detected: true })[0]?.id ?? -1;
    const gapEnd = at + (DEFAULT_BYTE_TRACKER_OPTIONS.lostBufferSeconds + 0.5) * 1000;
    for (; at < gapEnd; at += STEP_MS) tracker.update({ at, detections: [], detected: true });
    expect(tracker.tracks()).toHaveLength(0);

    tracker.update({ at, detections: [boxAt(walker, 0)], detected: true });
    const again = tracker.update({ at: at + STEP_MS, detections: [boxAt(walker, 0)], detected: true });
    expect(again).toHaveLength(1);
    expect(again[0]!.id).toBeGreaterThan(id);
  });

  it('keeps a track alive on low-score detections but never starts one from them', () => {
    const options = DEFAULT_BYTE_TRACKER_OPTIONS;
    const weak = (options.lowScore + options.highScore) / 2;
    const tracker = new ByteTracker();
    const walker = { x: 100, y: 150, vx: 60, vy: 0 };
    let at = 0;
    for (let k = 0; k < 5; k++, at += STEP_MS) tracker.update({ at, detections: [boxAt(walker, at / 1000)], detected: true });
    const id = tracker.tracks()[0]!.id;
    // Half hidden for twice the lost buffer: only weak boxes.
    const end = at + 2 * options.lostBufferSeconds * 1000;
    for (; at < end; at += STEP_MS) {
      const out = tracker.update({ at, detections: [boxAt(walker, at / 1000, weak)], detected: true });
      expect(out.map((t) => [t.id, t.state])).toEqual([[id, 'confirmed']]);
    }

    const fresh = new ByteTracker();
    for (let k = 0; k < 30; k++) {
      expect(fresh.update({ at: k * STEP_MS, detections: [boxAt(walker, k / FPS, weak)], detected: true })).toHaveLength(0);
      expect(fresh.tracks()).toHaveLength(0);
    }
    // Once lost, a track is found again only by a confident box: weak ones are often clutter.
    const relost = new ByteTracker();
    at = 0;
    for (let k = 0; k < 5; k++, at += STEP_MS) relost.update({ at, detections: [boxAt(walker, at / 1000)], detected: true });
    at += STEP_MS;
    relost.update({ at, detections: [], detected: true });
    for (let k = 0; k < 3; k++, at += STEP_MS) relost.update({ at, detections: [boxAt(walker, at / 1000, weak)], detected: true });
    expect(relost.tracks().map((t) => t.state)).toEqual(['lost']);
    // Below lowScore a box does not even keep a track alive.
    const ignored = new ByteTracker({ lostBufferSeconds: 0.3 });
    at = 0;
    for (let k = 0; k < 5; k++, at += STEP_MS) ignored.update({ at, detections: [boxAt(walker, at / 1000)], detected: true });
    for (let k = 0; k < 10; k++, at += STEP_MS) ignored.update({ at, detections: [boxAt(walker, at / 1000, options.lowScore / 2)], detected: true });
    expect(ignored.tracks()).toHaveLength(0);
  });

  it('outputs a track only once it has birthFrames hits', () => {
    for (const birthFrames of [1, 2, 4]) {
      const tracker = new ByteTracker({ birthFrames });
      const walker = { x: 300, y: 100, vx: -50, vy: 20 };
      const counts: number[] = [];
      for (let k = 0; k < 6; k++) counts.push(tracker.update({ at: k * STEP_MS, detections: [boxAt(walker, k / FPS)], detected: true }).length);
      expect(counts).toEqual([0, 0, 0, 0, 0, 0].map((_, k) => (k + 1 >= birthFrames ? 1 : 0)));
    }
    // A tentative track that misses a frame is dropped: a one-frame false box never shows.
    const tracker = new ByteTracker();
    tracker.update({ at: 0, detections: [boxAt({ x: 10, y: 10, vx: 0, vy: 0 }, 0)], detected: true });
    expect(tracker.tracks().map((t) => t.state)).toEqual(['tentative']);
    expect(tracker.update({ at: STEP_MS, detections: [], detected: true })).toHaveLength(0);
    expect(tracker.tracks()).toHaveLength(0);
  });

  it('keeps the ids of two shoppers who cross, whether or not one hides the other', () => {
    for (const occlude of [false, true]) {
      const tracker = new ByteTracker();
      const a = { x: 100, y: 200, vx: 90, vy: 5 };
      const b = { x: 500, y: 190, vx: -90, vy: 0 };
      let idA = -1;
      let idB = -1;
      let last: CameraTrack[] = [];
      let hidden = 0;
      for (let k = 0; k < 50; k++) {
        const t = k / FPS;
        const da = boxAt(a, t);
        const db = boxAt(b, t);
        const behind = occlude && Math.abs(da.x1 - db.x1) < 30;
        if (behind) hidden++;
        last = snapshot(tracker.update({ at: k * STEP_MS, detections: behind ? [da] : [da, db], detected: true }));
        if (k === 5) {
          idA = last.find((tr) => centreX(tr) < 300)!.id;
          idB = last.find((tr) => centreX(tr) > 300)!.id;
        }
      }
      if (occlude) expect(hidden).toBeGreaterThanOrEqual(3);
      expect(idA).not.toBe(idB);
      // After crossing, a is on the right and b on the left.
      expect(last.map((tr) => [tr.id, centreX(tr) > 300 ? 'right' : 'left']).sort()).toEqual(
        [
          [idA, 'right'],
          [idB, 'left'],
        ].sort(),
      );
    }
  });

  it('keeps one id and the true speed across dropped frames of varying length', () => {
    const tracker = new ByteTracker();
    const walker = { x: 20, y: 120, vx: 80, vy: -15 };
    // A 15 fps camera dropping frames: steps of 67 ms to 400 ms. In 400 ms the shopper moves 32 px,
    // leaving an IoU of about 0.1 with where they were: only a prediction over the real dt matches.
    const gaps = [67, 67, 133, 67, 400, 67, 267, 67, 67, 400, 133, 67, 333, 67, 67, 400, 67];
    let at = 0;
    const ids = new Set<number>();
    let out: readonly CameraTrack[] = [];
    for (const gap of [0, ...gaps]) {
      at += gap;
      out = tracker.update({ at, detections: [boxAt(walker, at / 1000)], detected: true });
      for (const t of out) ids.add(t.id);
    }
    expect(ids.size).toBe(1);
    expect(out).toHaveLength(1);
    expect(out[0]!.vx).toBeGreaterThan(walker.vx * 0.85);
    expect(out[0]!.vx).toBeLessThan(walker.vx * 1.15);
  });

  it('holds tracks still, unaged, on frames the detector skipped', () => {
    const tracker = new ByteTracker();
    const walker = { x: 60, y: 200, vx: 70, vy: 0 };
    let at = 0;
    let before: CameraTrack[] = [];
    for (let k = 0; k < 8; k++, at += STEP_MS) before = snapshot(tracker.update({ at, detections: [boxAt(walker, at / 1000)], detected: true }));
    const stoppedAt = at - STEP_MS;
    // The shopper stops at a shelf; nothing moves for far longer than the lost buffer.
    const holdEnd = at + 5 * DEFAULT_BYTE_TRACKER_OPTIONS.lostBufferSeconds * 1000;
    for (; at < holdEnd; at += STEP_MS) {
      const held = tracker.update({ at, detections: [], detected: false });
      expect(snapshot(held)).toEqual(before);
    }
    expect(tracker.tracks()).toHaveLength(1);
    // Moving again from where they stood: same id.
    const again = tracker.update({ at, detections: [boxAt(walker, stoppedAt / 1000 + 0.1)], detected: true });
    expect(again.map((t) => [t.id, t.state])).toEqual([[before[0]!.id, 'confirmed']]);
  });


  it('holds a still shopper the detector misses while someone else moves elsewhere in the frame', () => {
    const tracker = new ByteTracker();
    const standing = { x: 400, y: 200, vx: 0, vy: 0 };
    const walker = { x: 40, y: 360, vx: 90, vy: 0 };
    let at = 0;
    for (let k = 0; k < 6; k++, at += STEP_MS) tracker.update({ at, detections: [boxAt(standing, 0), boxAt(walker, at / 1000)], detected: true });
    const ids = tracker.tracks().map((t) => t.id);
    expect(ids).toHaveLength(2);
    const end = at + 3 * DEFAULT_BYTE_TRACKER_OPTIONS.lostBufferSeconds * 1000;
    let out: CameraTrack[] = [];
    for (; at < end; at += STEP_MS) {
      const w = boxAt(walker, at / 1000);
      // The detector only finds the walker; motion is only around the walker.
      out = snapshot(tracker.update({ at, detections: [w], detected: true, moving: [{ x1: w.x1 - 10, y1: w.y1 - 10, x2: w.x2 + 10, y2: w.y2 + 10 }] }));
    }
    expect(out.map((t) => [t.id, t.state]).sort()).toEqual(ids.map((id) => [id, 'confirmed']).sort());
    // Without motion information the same misses age the still shopper out.
    const plain = new ByteTracker();
    at = 0;
    for (let k = 0; k < 6; k++, at += STEP_MS) plain.update({ at, detections: [boxAt(standing, 0), boxAt(walker, at / 1000)], detected: true });
    for (; at < end; at += STEP_MS) out = snapshot(plain.update({ at, detections: [boxAt(walker, at / 1000)], detected: true }));
    expect(out).toHaveLength(1);
  });
  it('skips unusable detections, refuses bad options and bad times, and keeps ids rising after reset', () => {
    const tracker = new ByteTracker();
    const good = boxAt({ x: 0, y: 0, vx: 0, vy: 0 }, 0);
    const bad: Detection[] = [
      { ...good, x1: NaN },
      { ...good, x2: good.x1 },
      { ...good, score: Infinity },
    ];
    tracker.update({ at: 0, detections: [...bad, good], detected: true });
    const out = tracker.update({ at: STEP_MS, detections: [...bad, good], detected: true });
    expect(out).toHaveLength(1);
    expect(tracker.unusableDetections).toBe(6);
    expect(() => tracker.update({ at: NaN, detections: [], detected: true })).toThrow(/frame time/);
    expect(() => new ByteTracker({ highScore: 0.2, lowScore: 0.4 })).toThrow(/lowScore/);
    expect(() => new ByteTracker({ birthFrames: 0 })).toThrow(/birthFrames/);
    expect(() => new ByteTracker({ lostBufferSeconds: -1 })).toThrow(/lostBufferSeconds/);

    const firstId = out[0]!.id;
    tracker.reset();
    expect(tracker.tracks()).toHaveLength(0);
    tracker.update({ at: 0, detections: [good], detected: true });
    expect(tracker.update({ at: STEP_MS, detections: [good], detected: true })[0]!.id).toBeGreaterThan(firstId);
  });
});
