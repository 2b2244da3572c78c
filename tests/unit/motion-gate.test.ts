import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MotionGate, type MotionFrame, type MotionRegion } from '../../edge-agent/src/vision/motion-gate.js';
import { opencv } from '../../edge-agent/src/vision/opencv.js';
import { Random } from '../../edge-agent/src/sim/random.js';
import { missingShared, sharedPath } from '../support/shared.js';

const W = 640;
const H = 360;

/** A shop floor seen from above: tiles with a little texture, the same on every frame. */
function floorScene(): Buffer {
  const random = new Random(11);
  const scene = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const tile = ((x >> 5) + (y >> 5)) % 2 === 0 ? 150 : 170;
      const o = (y * W + x) * 3;
      const t = tile + random.int(-6, 6);
      scene[o] = t - 10;
      scene[o + 1] = t;
      scene[o + 2] = t + 5;
    }
  }
  return scene;
}

/** Gaussian sensor noise, drawn once; each frame reads it from a different offset. */
const NOISE = (() => {
  const random = new Random(7);
  return Float32Array.from({ length: W * H * 3 + 65_536 }, () => random.normal(0, 1));
})();

class Camera {
  private readonly random = new Random(5);
  readonly frame: MotionFrame = { data: Buffer.alloc(W * H * 3), width: W, height: H };
  constructor(private readonly scene: Buffer) {}

  /** The scene with sensor noise of ±noise grey levels, a brightness offset and optional shopper. */
  shoot(noise: number, options: { offset?: number; shopper?: { x: number; y: number; w: number; h: number } } = {}): MotionFrame {
    const out = this.frame.data;
    const offset = options.offset ?? 0;
    const start = this.random.int(0, 65_535);
    for (let i = 0; i < out.length; i++) {
      const v = this.scene[i]! + offset + Math.round(noise * NOISE[start + i]!);
      out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    const s = options.shopper;
    if (s) {
      for (let y = s.y; y < s.y + s.h; y++) {
        for (let x = s.x; x < s.x + s.w; x++) {
          const o = (y * W + x) * 3;
          // A dark shirt with a lighter head in the middle, like a shopper from above.
          const head = Math.hypot(x - (s.x + s.w / 2), y - (s.y + s.h / 2)) < s.w / 4;
          out[o] = head ? 60 : 140;
          out[o + 1] = head ? 80 : 40;
          out[o + 2] = head ? 110 : 30;
        }
      }
    }
    return this.frame;
  }
}

const contains = (r: MotionRegion, b: { x: number; y: number; w: number; h: number }, slack = 0) =>
  r.x <= b.x + slack && r.y <= b.y + slack && r.x + r.width >= b.x + b.w - slack && r.y + r.height >= b.y + b.h - slack;

describe('MotionGate', () => {
  it('reports the whole frame while warming up, then nothing for a static scene with sensor noise', () => {
    const gate = new MotionGate({ width: W, height: H, warmupFrames: 8 });
    const camera = new Camera(floorScene());
    for (let i = 0; i < 8; i++) {
      const r = gate.update(camera.shoot(3));
      expect(r).toMatchObject({ moved: true, warmingUp: true });
      expect(r.regions).toEqual([{ x: 0, y: 0, width: W, height: H }]);
    }
    let movedFrames = 0;
    let worstFraction = 0;
    for (let i = 0; i < 60; i++) {
      const r = gate.update(camera.shoot(3));
      expect(r.warmingUp).toBe(false);
      if (r.moved) movedFrames++;
      worstFraction = Math.max(worstFraction, r.foregroundFraction);
    }
    expect(movedFrames).toBe(0);
    expect(worstFraction).toBeLessThan(0.01);
  });

  it('finds a shopper walking across the floor, in frame pixels, and times each update', () => {
    const gate = new MotionGate({ width: W, height: H });
    const camera = new Camera(floorScene());
    for (let i = 0; i < 30; i++) gate.update(camera.shoot(2));
    const times: number[] = [];
    for (let step = 0; step < 20; step++) {
      const shopper = { x: 40 + step * 25, y: 120 + step * 3, w: 56, h: 72 };
      const frame = camera.shoot(2, { shopper });
      const t0 = performance.now();
      const r = gate.update(frame);
      times.push(performance.now() - t0);
      expect(r.moved).toBe(true);
      // One region around the shopper: not much bigger than them, and not the whole frame.
      const around = r.regions.filter((region) => contains(region, shopper, 4));
      expect(around, `step ${step}: ${JSON.stringify(r.regions)}`).toHaveLength(1);
      const region = around[0]!;
      expect(region.width * region.height).toBeLessThan(3 * shopper.w * shopper.h);
      expect(r.regions).toHaveLength(1);
    }
    times.sort((a, b) => a - b);
    const median = times[times.length >> 1]!;
    console.log(`motion gate 640×360 → 160×90: median ${median.toFixed(2)} ms, worst ${times[times.length - 1]!.toFixed(2)} ms per update`);
    expect(median).toBeLessThan(5);
  });

  it('reports the whole frame on a sudden change of light, then settles on the new light', () => {
    const gate = new MotionGate({ width: W, height: H });
    const camera = new Camera(floorScene());
    for (let i = 0; i < 30; i++) expect(gate.update(camera.shoot(2)).moved).toBe(i < 10);
    const jump = gate.update(camera.shoot(2, { offset: 50 }));
    expect(jump.moved).toBe(true);
    expect(jump.warmingUp).toBe(false);
    expect(jump.foregroundFraction).toBeGreaterThan(0.6);
    expect(jump.regions).toEqual([{ x: 0, y: 0, width: W, height: H }]);
    const after = Array.from({ length: 10 }, () => gate.update(camera.shoot(2, { offset: 50 })).moved);
    expect(after).toEqual(Array(10).fill(false));
    // An auto-exposure ramp back down over five frames settles too.
    const ramp = [40, 30, 20, 10, 0, 0, 0, 0, 0, 0].map((offset) => gate.update(camera.shoot(2, { offset })).moved);
    expect(ramp.slice(6)).toEqual([false, false, false, false]);
    // And it still sees a shopper under the new light.
    const shopper = { x: 300, y: 100, w: 56, h: 72 };
    const seen = gate.update(camera.shoot(2, { offset: 50, shopper }));
    expect(seen.regions.some((r) => contains(r, shopper, 4))).toBe(true);
  });

  it('warms up again after reset, and refuses frames of the wrong size with a clear error', () => {
    const gate = new MotionGate({ width: W, height: H, warmupFrames: 3 });
    const camera = new Camera(floorScene());
    for (let i = 0; i < 20; i++) gate.update(camera.shoot(1));
    expect(gate.update(camera.shoot(1)).moved).toBe(false);
    gate.reset();
    expect(gate.update(camera.shoot(1))).toMatchObject({ moved: true, warmingUp: true });
    expect(() => gate.update({ data: Buffer.alloc(100), width: W, height: H })).toThrow(/640×360 BGR frame has 691200 bytes, got 100/);
    expect(() => gate.update({ data: Buffer.alloc(320 * 180 * 3), width: 320, height: 180 })).toThrow(/frame is 320×180, the gate was made for 640×360/);
    expect(() => new MotionGate({ width: 0, height: H })).toThrow(/frame size/);
  });

  const pets = 'data/mot/PETS-S3-MF1';
  const petsMissing = missingShared(`${pets}/img/frame_0107.jpg`, `${pets}/gt/gt.txt`);
  it.skipIf(petsMissing !== undefined)(
    `finds the people walking in real PETS 2009 frames where the ground truth has them ${petsMissing ?? ''}`,
    () => {
      const cv = opencv();
      const gt = new Map<number, { x: number; y: number; w: number; h: number }[]>();
      for (const line of readFileSync(sharedPath(pets, 'gt', 'gt.txt'), 'utf8').trim().split('\n')) {
        const [frame, , x, y, w, h] = line.split(',').map(Number) as [number, number, number, number, number, number];
        const list = gt.get(frame) ?? [];
        list.push({ x, y, w, h });
        gt.set(frame, list);
      }
      const first = cv.imread(sharedPath(pets, 'img', 'frame_0001.jpg'));
      const gate = new MotionGate({ width: first.cols, height: first.rows, analysisWidth: 192, warmupFrames: 10 });
      let boxes = 0;
      let found = 0;
      let regionArea = 0;
      let frames = 0;
      for (let n = 1; n <= 107; n++) {
        const image = cv.imread(sharedPath(pets, 'img', `frame_${String(n).padStart(4, '0')}.jpg`));
        const r = gate.update({ data: image.getData(), width: image.cols, height: image.rows });
        // The people present in the first frames are part of the learnt background for a while.
        if (n <= 25) continue;
        frames++;
        regionArea += r.regions.reduce((s, g) => s + g.width * g.height, 0) / (image.cols * image.rows);
        for (const b of gt.get(n) ?? []) {
          if (b.h < 40) continue;
          boxes++;
          const overlap = r.regions.some((g) => Math.min(g.x + g.width, b.x + b.w) - Math.max(g.x, b.x) > b.w / 2 && Math.min(g.y + g.height, b.y + b.h) - Math.max(g.y, b.y) > b.h / 2);
          if (overlap) found++;
        }
      }
      console.log(`PETS S3-MF1 frames 26–107: ${found}/${boxes} ground-truth people inside a motion region; regions cover ${((100 * regionArea) / frames).toFixed(1)} % of the frame on average`);
      expect(boxes).toBeGreaterThan(200);
      expect(found / boxes).toBeGreaterThan(0.9);
      expect(regionArea / frames).toBeLessThan(0.35);
    },
  );
});
