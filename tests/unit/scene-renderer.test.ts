import { describe, expect, it } from 'vitest';
import { calibrationTruth, simCameraRig } from '../../edge-agent/src/sim/cameras/sim-camera.js';
import { SceneRenderer } from '../../edge-agent/src/sim/render/scene-renderer.js';
import { StoreLayout } from '../../edge-agent/src/sim/store-layout.js';
import type { ShopperPose, WorldSnapshot } from '../../edge-agent/src/sim/world-snapshot.js';
import { demoConfig } from '../support/demo-config.js';

const config = demoConfig('/tmp/unused');
const layout = new StoreLayout(config);
const rig = simCameraRig(layout);
const renderer = await SceneRenderer.create(layout, rig, config.planogram.products);

const shopper: ShopperPose = {
  id: 's0001',
  position: { x: 4.5, y: 3.2 },
  heading: -Math.PI / 2,
  appearance: { heightM: 1.75, shoulderM: 0.46, shirt: [20, 200, 40], trousers: [30, 30, 60], hair: [40, 30, 20], skin: [220, 180, 150], basket: false },
  holding: [],
};

function frame(camera: string, snapshot: WorldSnapshot): Buffer {
  const cam = rig.find((c) => c.id === camera)!;
  const out = Buffer.alloc(cam.width * cam.height * 3);
  renderer.render(camera, snapshot, out);
  return out;
}

const pixel = (buf: Buffer, width: number, u: number, v: number) => {
  const i = (Math.round(v) * width + Math.round(u)) * 3;
  return [buf[i]!, buf[i + 1]!, buf[i + 2]!];
};

const units: WorldSnapshot['units'] = [
  { product: 'olive-oil-750', shelf: '2.1', u: 2.6, depth: 0, widthM: 0.089, heightM: 0.178 },
  { product: 'pasta-fusilli-500', shelf: '2.1', u: 0.5, depth: 0, widthM: 0.075, heightM: 0.15 },
];

describe('simulated cameras', () => {
  it('give the same bytes for the same snapshot', () => {
    const snapshot: WorldSnapshot = { at: 1_000, shoppers: [shopper], units, light: 1 };
    for (const cam of rig) expect(frame(cam.id, snapshot).equals(frame(cam.id, snapshot))).toBe(true);
  });

  it('show a shopper from above in their shirt colour, where the camera projects their shoulders', () => {
    const cam = rig.find((c) => c.role === 'overhead' && c.project(4.5, 3.2, 1.4))!;
    // A point on the shoulder on the camera's side: seen at an angle, the head hides the middle and
    // the far shoulder.
    const side = shopper.position.x > cam.position.x ? -0.16 : 0.16;
    const p = cam.project(shopper.position.x + side, shopper.position.y, 0.82 * shopper.appearance.heightM)!;
    const withShopper = pixel(frame(cam.id, { at: 0, shoppers: [shopper], units, light: 1 }), cam.width, p.u, p.v);
    const without = pixel(frame(cam.id, { at: 0, shoppers: [], units, light: 1 }), cam.width, p.u, p.v);
    expect(withShopper[1]!).toBeGreaterThan(150);
    expect(withShopper[0]!).toBeLessThan(80);
    expect(without[1]!).toBeLessThan(200);
    expect(Math.abs(without[0]! - without[1]!)).toBeLessThan(30);
  });

  it('show each unit on the shelf, and only its pixels change when it is taken', () => {
    const cam = rig.find((c) => c.role === 'shelf')!;
    const full = frame(cam.id, { at: 0, shoppers: [], units, light: 1 });
    const taken = frame(cam.id, { at: 0, shoppers: [], units: units.slice(1), light: 1 });
    let changed = 0;
    let far = 0;
    const g = layout.gondolas.find((x) => x.id === 2)!;
    const u = 2.6;
    const centre = cam.project(g.origin.x + g.along.x * u, g.origin.y + g.along.y * u, 0.2 + 0.09)!;
    for (let y = 0; y < cam.height; y++) {
      for (let x = 0; x < cam.width; x++) {
        const i = (y * cam.width + x) * 3;
        const diff = Math.abs(full[i]! - taken[i]!) + Math.abs(full[i + 1]! - taken[i + 1]!) + Math.abs(full[i + 2]! - taken[i + 2]!);
        if (diff > 30) {
          changed += 1;
          if (Math.hypot(x - centre.u, y - centre.v) > 40) far += 1;
        }
      }
    }
    expect(changed).toBeGreaterThan(50);
    expect(far).toBe(0);
  });

  it('follow the light level', () => {
    const cam = rig[0]!;
    const mean = (b: Buffer) => b.reduce((s, v) => s + v, 0) / b.length;
    const dim = mean(frame(cam.id, { at: 5, shoppers: [], units, light: 0.8 }));
    const bright = mean(frame(cam.id, { at: 5, shoppers: [], units, light: 1.1 }));
    expect(bright / dim).toBeGreaterThan(1.3);
  });

  it('come with floor calibration points that agree with their projection', () => {
    const cam = rig.find((c) => c.role === 'overhead')!;
    const truth = calibrationTruth(cam, layout)!;
    expect(truth.pairs.length).toBeGreaterThanOrEqual(8);
    for (const pair of truth.pairs) {
      const p = cam.project(pair.floor[0], pair.floor[1], 0)!;
      expect(p.u).toBeCloseTo(pair.image[0], 3);
      expect(p.v).toBeCloseTo(pair.image[1], 3);
    }
  });
});
