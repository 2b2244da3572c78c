import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { ProductConfig } from '../../device-config/schema.js';
import { simCameraRig, type SimCamera } from '../../edge-agent/src/sim/cameras/sim-camera.js';
import { packageSize } from '../../edge-agent/src/sim/product-geometry.js';
import { renderPackagingPng } from '../../edge-agent/src/sim/render/packaging.js';
import { SceneRenderer } from '../../edge-agent/src/sim/render/scene-renderer.js';
import { StoreLayout } from '../../edge-agent/src/sim/store-layout.js';
import type { Rgb, ShelfUnit, ShopperPose, WorldSnapshot } from '../../edge-agent/src/sim/world-snapshot.js';
import { demoConfig } from '../support/demo-config.js';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
const config = demoConfig('/tmp/unused');
const layout = new StoreLayout(config);
const rig = simCameraRig(layout);
const products = config.planogram.products;
const createStarted = performance.now();
const renderer = await SceneRenderer.create(layout, rig, products);
const createMs = performance.now() - createStarted;

const overhead1 = rig.find((c) => c.id === 'cam-overhead-1')!;
const shelfCam = rig.find((c) => c.role === 'shelf')!;

/** Shelves stocked the way a store lines products up: facings across their plates, rows behind. */
function stockedUnits(list: readonly ProductConfig[]): ShelfUnit[] {
  const units: ShelfUnit[] = [];
  for (const p of list) {
    const size = packageSize(p);
    const plates = p.plates.map((k) => layout.plates.get(k)!);
    const shelf = `${plates[0]!.gondola}.${plates[0]!.shelf}`;
    const u0 = Math.min(...plates.map((x) => x.u0));
    const u1 = Math.max(...plates.map((x) => x.u1));
    const pitch = size.widthM + 0.01;
    const columns = Math.floor((u1 - u0) / pitch);
    const rows = Math.max(1, Math.floor(0.45 / (size.depthM + 0.01)));
    const spread = (u1 - u0 - columns * pitch) / 2;
    for (let c = 0; c < columns; c++) {
      // Leave gaps, as a real shelf after a morning of shopping would.
      const depthRows = rows - ((c * 7 + p.id.length) % 3 === 0 ? 1 : 0);
      for (let r = 0; r < depthRows; r++) {
        units.push({ product: p.id, shelf, u: u0 + spread + (c + 0.5) * pitch, depth: r * (size.depthM + 0.01), widthM: size.widthM, heightM: size.heightM });
      }
    }
  }
  return units;
}

function shopper(id: string, x: number, y: number, heading: number, shirt: Rgb, extra: Partial<ShopperPose> = {}, basket = false): ShopperPose {
  return {
    id,
    position: { x, y },
    heading,
    appearance: { heightM: 1.72, shoulderM: 0.46, shirt, trousers: [40, 44, 70], hair: [52, 36, 24], skin: [214, 172, 140], basket },
    holding: [],
    ...extra,
  };
}

const units = stockedUnits(products);
const crowd: ShopperPose[] = [
  shopper('s1', 4.25, 3.05, -Math.PI / 2, [200, 40, 40], { reach: { plate: '1.3.3', extension: 0.8 } }),
  shopper('s2', 5.2, 4.5, Math.PI / 2, [40, 110, 200], { reach: { plate: '2.2.2', extension: 0.7, carrying: 'coffee-beans-500' } }, true),
  shopper('s3', 1.0, 7.2, -1.2, [230, 200, 60]),
  shopper('s4', 8.8, 3.8, 0.3, [60, 160, 90], {}, true),
  shopper('s5', 10.6, 7.0, 0.9, [240, 240, 240]),
  shopper('s6', 3.9, 4.6, Math.PI / 2 + 0.4, [150, 60, 160]),
];

function frame(cam: SimCamera, snapshot: WorldSnapshot): Buffer {
  const out = Buffer.alloc(cam.width * cam.height * 3);
  renderer.render(cam.id, snapshot, out);
  return out;
}

const pixel = (buf: Buffer, cam: SimCamera, u: number, v: number): Rgb => {
  const i = (Math.floor(v) * cam.width + Math.floor(u)) * 3;
  return [buf[i]!, buf[i + 1]!, buf[i + 2]!];
};

const mean = (b: Buffer) => b.reduce((s, v) => s + v, 0) / b.length;

function changedPixels(a: Buffer, b: Buffer, cam: SimCamera): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let p = 0; p < cam.width * cam.height; p++) {
    const i = p * 3;
    if (Math.abs(a[i]! - b[i]!) + Math.abs(a[i + 1]! - b[i + 1]!) + Math.abs(a[i + 2]! - b[i + 2]!) > 0) out.push({ x: p % cam.width, y: Math.floor(p / cam.width) });
  }
  return out;
}

describe('scene renderer', () => {
  it('renders the same snapshot to the same bytes, and new noise at another instant', () => {
    const snapshot: WorldSnapshot = { at: 1_767_000_000_123, shoppers: crowd, units, light: 1 };
    for (const cam of rig) {
      const a = frame(cam, snapshot);
      expect(a.equals(frame(cam, snapshot))).toBe(true);
      expect(a.equals(frame(cam, { ...snapshot, at: snapshot.at + 200 }))).toBe(false);
    }
  });

  it('shows a shopper from above in their shirt colour at the projected shoulder, and floor without them', () => {
    const red: Rgb = [210, 30, 30];
    const s = shopper('s9', 4.6, 4.7, -Math.PI / 2, red);
    // Seen at an angle the head hides the middle of the shoulders: look at the shoulder on the camera's side.
    const side = s.position.x > overhead1.position.x ? -0.15 : 0.15;
    const p = overhead1.project(s.position.x + side, s.position.y, 0.82 * s.appearance.heightM)!;
    expect(p.u).toBeGreaterThan(0);
    expect(p.u).toBeLessThan(overhead1.width);
    const snapshot = { at: 0, shoppers: [s], units, light: 1 };
    const seen = pixel(frame(overhead1, snapshot), overhead1, p.u, p.v);
    const empty = pixel(frame(overhead1, { ...snapshot, shoppers: [] }), overhead1, p.u, p.v);
    expect(Math.abs(seen[0] - red[0]) + Math.abs(seen[1] - red[1]) + Math.abs(seen[2] - red[2])).toBeLessThan(70);
    expect(Math.max(...empty) - Math.min(...empty)).toBeLessThan(30);
  });

  it('lets a gondola top hide a shopper behind it from above', () => {
    const g = layout.gondolas.find((x) => x.id === 1)!;
    const behind = shopper('s11', 4.5, g.origin.y - g.depthM - 0.25, Math.PI / 2, [210, 30, 30]);
    const shoulderZ = 0.82 * behind.appearance.heightM;
    // The sight line to the shoulders passes through the gondola's box: it is hidden.
    const p = overhead1.project(behind.position.x, behind.position.y, shoulderZ)!;
    const hitsTop = overhead1.floorAt(p.u, p.v, 1.8)!;
    expect(hitsTop.y).toBeGreaterThan(g.origin.y - g.depthM);
    expect(hitsTop.y).toBeLessThan(g.origin.y);
    const empty = frame(overhead1, { at: 3, shoppers: [], units, light: 1 });
    const hidden = frame(overhead1, { at: 3, shoppers: [behind], units, light: 1 });
    expect(pixel(hidden, overhead1, p.u, p.v)).toEqual(pixel(empty, overhead1, p.u, p.v));
    const open = { ...behind, position: { x: 4.5, y: 3.4 } };
    const q = overhead1.project(open.position.x, open.position.y, shoulderZ)!;
    expect(pixel(frame(overhead1, { at: 3, shoppers: [open], units, light: 1 }), overhead1, q.u, q.v)).not.toEqual(pixel(empty, overhead1, q.u, q.v));
  });

  it('lets a gondola hide a shopper behind it from the shelf camera, and a shopper in front hide the shelves', () => {
    const base = { at: 42, units, light: 1 };
    const empty = frame(shelfCam, { ...base, shoppers: [] });
    const behind = frame(shelfCam, { ...base, shoppers: [shopper('s7', 4.5, 6.2, Math.PI / 2, [200, 40, 40])] });
    const front = frame(shelfCam, { ...base, shoppers: [shopper('s8', 4.5, 4.55, Math.PI / 2, [200, 40, 40])] });
    const hiddenChange = changedPixels(empty, behind, shelfCam).filter((p) => p.y > shelfCam.height * 0.2);
    expect(hiddenChange.length).toBe(0);
    expect(changedPixels(empty, front, shelfCam).length).toBeGreaterThan(shelfCam.width * shelfCam.height * 0.05);
  });

  it('removes a picked unit from its place in the shelf frame and changes nothing far from it', () => {
    const index = units.findIndex((u) => u.shelf === '2.3' && u.depth === 0 && u.product === 'shampoo-300');
    const unit = units[index]!;
    const after = units.filter((_, i) => i !== index);
    const before = frame(shelfCam, { at: 7, shoppers: [], units, light: 1 });
    const taken = frame(shelfCam, { at: 7, shoppers: [], units: after, light: 1 });
    const g = layout.gondolas.find((x) => x.id === 2)!;
    const at = (u: number, z: number) => shelfCam.project(g.origin.x + g.along.x * u, g.origin.y + g.along.y * u, z)!;
    const shelfH = layout.shelves.get('2.3')!.heightM;
    const a = at(unit.u - unit.widthM / 2, shelfH + unit.heightM);
    const b = at(unit.u + unit.widthM / 2, shelfH);
    const changed = changedPixels(before, taken, shelfCam);
    const area = Math.abs(b.u - a.u) * Math.abs(b.v - a.v);
    expect(changed.length).toBeGreaterThan(area * 0.4);
    const [left, right] = [Math.min(a.u, b.u) - 2, Math.max(a.u, b.u) + 2];
    const outside = changed.filter((p) => p.x < left || p.x > right || p.y < Math.min(a.v, b.v) - 2 || p.y > Math.max(a.v, b.v) + 2);
    expect(outside).toEqual([]);
  });

  it('shows the product in the hand of a shopper taking it, between the shopper and the shelf', () => {
    const plate = layout.plates.get('2.3.3')!;
    const reaching = shopper('s12', plate.standAt.x, plate.standAt.y, Math.PI / 2, [90, 90, 90], { reach: { plate: plate.key, extension: 0.6 } });
    const carrying = { ...reaching, reach: { plate: plate.key, extension: 0.6, carrying: 'shampoo-300' } };
    for (const cam of [shelfCam, overhead1]) {
      const empty = frame(cam, { at: 9, shoppers: [reaching], units, light: 1 });
      const full = frame(cam, { at: 9, shoppers: [carrying], units, light: 1 });
      const changed = changedPixels(empty, full, cam);
      expect(changed.length, cam.id).toBeGreaterThan(cam.role === 'shelf' ? 100 : 10);
      const ends = [cam.project(reaching.position.x, reaching.position.y, 1.4)!, cam.project(plate.front.x, plate.front.y, plate.heightM)!];
      const [u0, u1] = [Math.min(ends[0]!.u, ends[1]!.u) - 30, Math.max(ends[0]!.u, ends[1]!.u) + 30];
      const [v0, v1] = [Math.min(ends[0]!.v, ends[1]!.v) - 30, Math.max(ends[0]!.v, ends[1]!.v) + 30];
      expect(changed.filter((p) => p.x < u0 || p.x > u1 || p.y < v0 || p.y > v1), cam.id).toEqual([]);
    }
  });

  it('scales brightness with the light level', () => {
    for (const cam of [overhead1, shelfCam]) {
      const snapshot = { at: 5, shoppers: crowd, units, light: 1 };
      const full = mean(frame(cam, snapshot));
      const dim = mean(frame(cam, { ...snapshot, light: 0.6 }));
      expect(dim / full).toBeGreaterThan(0.57);
      expect(dim / full).toBeLessThan(0.63);
    }
  });

  it('counts what it cannot draw instead of failing, and refuses a wrong frame buffer', () => {
    const before = { ...renderer.problems };
    const odd: ShelfUnit = { product: 'no-such-product', shelf: '2.2', u: 1, depth: 0, widthM: 0.1, heightM: 0.2 };
    const lost: ShelfUnit = { ...odd, product: 'olive-oil-750', shelf: '9.9' };
    const reaching = shopper('s10', 4.5, 4.55, Math.PI / 2, [10, 10, 10], { reach: { plate: '7.7.7', extension: 1 } });
    frame(shelfCam, { at: 1, shoppers: [reaching], units: [...units, odd, lost], light: Number.NaN });
    expect(renderer.problems.unknownProduct).toBe(before.unknownProduct + 1);
    expect(renderer.problems.unknownShelf).toBe(before.unknownShelf + 1);
    expect(renderer.problems.unknownPlate).toBe(before.unknownPlate + 1);
    expect(renderer.problems.badLight).toBe(before.badLight + 1);
    expect(() => renderer.render(shelfCam.id, { at: 1, shoppers: [], units, light: 1 }, Buffer.alloc(10))).toThrow(/640×360×3/);
    expect(() => renderer.render('cam-nope', { at: 1, shoppers: [], units, light: 1 }, Buffer.alloc(10))).toThrow(/cam-nope/);
  });

  it('renders packaging as a PNG of the asked height', async () => {
    const png = await renderPackagingPng(products[0]!, 120);
    const meta = await sharp(png).metadata();
    expect(meta.height).toBe(120);
    expect(meta.width).toBeGreaterThan(20);
    expect((await renderPackagingPng(products[0]!, 120)).equals(png)).toBe(true);
    await expect(renderPackagingPng(products[0]!, 0)).rejects.toThrow(/height/);
  });

  it('saves a busy overhead and shelf frame for people to look at, and reports the cost per frame', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    console.log(`SceneRenderer.create for ${rig.length} cameras: ${createMs.toFixed(0)} ms`);
    const snapshot: WorldSnapshot = { at: 1_767_000_000_000, shoppers: crowd, units, light: 1 };
    for (const cam of rig) {
      const out = Buffer.alloc(cam.width * cam.height * 3);
      renderer.render(cam.id, snapshot, out);
      await sharp(out, { raw: { width: cam.width, height: cam.height, channels: 3 } }).png().toFile(join(ARTIFACTS, `sim-${cam.id}.png`));
      const n = 30;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) renderer.render(cam.id, { ...snapshot, at: snapshot.at + i * 200 }, out);
      const ms = (performance.now() - t0) / n;
      console.log(`render ${cam.id} (${cam.role}, ${cam.width}×${cam.height}, ${crowd.length} shoppers, ${units.length} units): ${ms.toFixed(2)} ms/frame`);
      expect(mean(out)).toBeGreaterThan(40);
    }
  });
});
