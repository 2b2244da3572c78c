/**
 * Camera frames of the simulated store. Overhead cameras see the floor, the gondolas as boxes in
 * perspective and shoppers from above (shadow, shoulders in their shirt colour, head, a reaching
 * arm); the shelf camera sees the gondola front with every unit of stock in its packaging and the
 * backs of the shoppers in front of it. Static parts are drawn once per camera; each frame copies
 * them, paints what moves in depth order, then applies the light level and a little sensor noise.
 * The same snapshot always gives the same bytes.
 */
import type { ProductConfig } from '../../../../device-config/schema.js';
import type { SimCamera } from '../cameras/sim-camera.js';
import { GONDOLA_HEIGHT_M, type GondolaLayout, type StoreLayout, type Vec2 } from '../store-layout.js';
import type { Rgb, ShopperPose, WorldSnapshot } from '../world-snapshot.js';
import { PackagingTiles, fnv1a, packagingDesign, type PackagingTile } from './packaging.js';
import { Raster } from './raster.js';

const FLOOR: Rgb = [178, 172, 160];
const FLOOR_LINE: Rgb = [160, 154, 143];
const MAT_ENTRY: Rgb = [70, 110, 80];
const MAT_EXIT: Rgb = [110, 70, 70];
const GONDOLA_TOP: Rgb = [215, 215, 220];
const GONDOLA_SIDE: Rgb = [120, 124, 134];
const WALL: Rgb = [205, 200, 190];
const SHELF_BOARD: Rgb = [90, 92, 100];
const SHELF_BACK: Rgb = [232, 232, 236];
const BASKET: Rgb = [200, 40, 40];
const NOISE = 3;

interface CameraScene {
  camera: SimCamera;
  background: Buffer;
  /** Overhead: how far away the gondolas are at each pixel (Infinity where the floor shows). */
  occluders?: Float32Array;
  tiles?: PackagingTiles;
  gondola?: GondolaLayout;
}

export class SceneRenderer {
  private constructor(
    private readonly layout: StoreLayout,
    private readonly scenes: Map<string, CameraScene>,
    /** Each product's packaging colour, for goods in a hand seen from above. */
    private readonly colours: ReadonlyMap<string, Rgb>,
  ) {}

  static async create(layout: StoreLayout, cameras: readonly SimCamera[], products: readonly ProductConfig[]): Promise<SceneRenderer> {
    const scenes = new Map<string, CameraScene>();
    for (const camera of cameras) {
      if (camera.role === 'shelf') {
        const gondola = layout.gondolas.find((g) => g.id === camera.gondola);
        const pixelsPerMetre = camera.focalPx / Math.max(0.5, shelfDistance(camera, gondola));
        const tiles = await PackagingTiles.render(products, pixelsPerMetre);
        const scene: CameraScene = { camera, background: shelfBackground(camera, gondola), tiles };
        if (gondola) scene.gondola = gondola;
        scenes.set(camera.id, scene);
      } else {
        const { background, occluders } = overheadBackground(camera, layout);
        scenes.set(camera.id, { camera, background, occluders });
      }
    }
    return new SceneRenderer(layout, scenes, new Map(products.map((p) => [p.id, packagingDesign(p).background])));
  }

  render(cameraId: string, snapshot: WorldSnapshot, out: Buffer): void {
    const scene = this.scenes.get(cameraId);
    if (!scene) throw new Error(`no simulated camera "${cameraId}"`);
    const { camera } = scene;
    if (out.length < camera.width * camera.height * 3) throw new RangeError(`frame buffer too small for ${camera.width}x${camera.height}`);
    scene.background.copy(out);
    const raster = new Raster(out, camera.width, camera.height);
    if (camera.role === 'shelf') this.drawShelf(scene, raster, snapshot);
    else this.drawOverhead(scene, raster, snapshot);
    finish(out, camera.width * camera.height * 3, snapshot.light, fnv1a(`${cameraId}:${snapshot.at}`));
  }

  private drawOverhead(scene: CameraScene, r: Raster, snapshot: WorldSnapshot): void {
    const cam = scene.camera;
    r.occluders = scene.occluders;
    const shoppers = [...snapshot.shoppers].sort((a, b) => a.appearance.heightM - b.appearance.heightM || a.id.localeCompare(b.id));
    for (const s of shoppers) shadow(cam, r, s);
    for (const s of shoppers) body(cam, r, s, this.layout, this.colours);
  }

  private drawShelf(scene: CameraScene, r: Raster, snapshot: WorldSnapshot): void {
    const cam = scene.camera;
    const g = scene.gondola;
    if (!g || !scene.tiles) return;
    const shelfKeys = new Set(g.shelves.map((s) => s.key));
    const units = snapshot.units.filter((u) => shelfKeys.has(u.shelf)).sort((a, b) => b.depth - a.depth || a.u - b.u);
    for (const unit of units) {
      const shelf = g.shelves.find((s) => s.key === unit.shelf)!;
      const a = cam.project(...onGondola3(g, unit.u - unit.widthM / 2, unit.depth, shelf.heightM + unit.heightM));
      const b = cam.project(...onGondola3(g, unit.u + unit.widthM / 2, unit.depth, shelf.heightM));
      const tile = scene.tiles.get(unit.product);
      if (!a || !b || !tile) continue;
      blitTile(r, tile, Math.min(a.u, b.u), Math.min(a.v, b.v), Math.abs(b.u - a.u), Math.abs(b.v - a.v), 1 - Math.min(0.45, unit.depth * 1.2));
    }
    const inFront = snapshot.shoppers
      .map((s) => ({ s, p: cam.project(s.position.x, s.position.y, 1) }))
      .filter((x): x is { s: ShopperPose; p: NonNullable<typeof x.p> } => x.p !== undefined)
      .sort((a, b) => b.p.depth - a.p.depth);
    for (const { s } of inFront) backView(cam, r, s, g, this.layout, scene.tiles);
  }
}

/** Distance from a shelf camera to the front of its gondola, along its axis. */
function shelfDistance(camera: SimCamera, gondola: GondolaLayout | undefined): number {
  if (!gondola) return 0;
  const p = camera.project(gondola.origin.x + (gondola.along.x * gondola.widthM) / 2, gondola.origin.y + (gondola.along.y * gondola.widthM) / 2, 1);
  return p?.depth ?? 0;
}

function onGondola3(g: GondolaLayout, u: number, v: number, z: number): [number, number, number] {
  return [g.origin.x + g.along.x * u + g.inward.x * v, g.origin.y + g.along.y * u + g.inward.y * v, z];
}

/**
 * The floor (tiles, floor mats at the doors) and the gondolas, ray-cast once per camera: each
 * pixel's ray meets a gondola's box or the floor, and the gondola's distance is kept so shoppers
 * behind a gondola are hidden by it and shoppers in front of it are not.
 */
function overheadBackground(camera: SimCamera, layout: StoreLayout): { background: Buffer; occluders: Float32Array } {
  const { width, height } = camera;
  const out = Buffer.alloc(width * height * 3);
  const occluders = new Float32Array(width * height).fill(Infinity);
  const r = new Raster(out, width, height);
  const dir = { x: 0, y: 0, z: 0 };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = (x + 0.5 - camera.cx) / camera.focalPx;
      const b = (y + 0.5 - camera.cy) / camera.focalPx;
      dir.x = camera.right.x * a + camera.down.x * b + camera.forward.x;
      dir.y = camera.right.y * a + camera.down.y * b + camera.forward.y;
      dir.z = camera.right.z * a + camera.down.z * b + camera.forward.z;
      const i = (y * width + x) * 3;
      const hit = nearestGondola(camera, layout, dir);
      if (hit) {
        occluders[y * width + x] = hit.depth;
        const c = hit.face === 'top' ? GONDOLA_TOP : GONDOLA_SIDE;
        const k = hit.face === 'top' ? 1 : 0.75 + 0.25 * (hit.z / GONDOLA_HEIGHT_M);
        out[i] = clamp(c[0] * k);
        out[i + 1] = clamp(c[1] * k);
        out[i + 2] = clamp(c[2] * k);
        continue;
      }
      const p = camera.floorAt(x + 0.5, y + 0.5);
      if (!p || p.x < 0 || p.y < 0 || p.x > layout.widthM || p.y > layout.depthM) {
        out[i] = out[i + 1] = out[i + 2] = 60;
        continue;
      }
      // 60 cm floor tiles with grout lines and a faint texture.
      const grout = frac(p.x / 0.6) < 0.015 || frac(p.y / 0.6) < 0.015;
      const base = grout ? FLOOR_LINE : FLOOR;
      const t = ((fnv1a(`${Math.floor(p.x * 40)}:${Math.floor(p.y * 40)}`) & 0xff) / 255 - 0.5) * 10;
      out[i] = clamp(base[0] + t);
      out[i + 1] = clamp(base[1] + t);
      out[i + 2] = clamp(base[2] + t);
    }
  }
  r.occluders = occluders;
  r.depth = camera.position.z;
  for (const zone of layout.zones) {
    if (zone.type !== 'entry' && zone.type !== 'exit') continue;
    const pts = projectPolygon(camera, zone.polygon, 0.001);
    if (pts) r.polygon(pts, zone.type === 'entry' ? MAT_ENTRY : MAT_EXIT, 0.55);
  }
  return { background: out, occluders };
}

/** Where a camera ray (parametrised by depth along the optical axis) first enters a gondola. */
function nearestGondola(camera: SimCamera, layout: StoreLayout, d: { x: number; y: number; z: number }): { depth: number; face: 'top' | 'side'; z: number } | undefined {
  let best: { depth: number; face: 'top' | 'side'; z: number } | undefined;
  const c = camera.position;
  for (const g of layout.gondolas) {
    const ox = c.x - g.origin.x;
    const oy = c.y - g.origin.y;
    // The ray in the gondola's own frame: u along the front, v into it, z up.
    const u0 = ox * g.along.x + oy * g.along.y;
    const du = d.x * g.along.x + d.y * g.along.y;
    const v0 = ox * g.inward.x + oy * g.inward.y;
    const dv = d.x * g.inward.x + d.y * g.inward.y;
    let enter = 0;
    let exit = Infinity;
    let face: 'top' | 'side' = 'side';
    const slabs: [number, number, number, number, 'top' | 'side'][] = [
      [u0, du, 0, g.widthM, 'side'],
      [v0, dv, 0, g.depthM, 'side'],
      [c.z, d.z, 0, g.heightM, 'top'],
    ];
    let missed = false;
    for (const [o, dd, lo, hi, kind] of slabs) {
      if (Math.abs(dd) < 1e-12) {
        if (o < lo || o > hi) missed = true;
        continue;
      }
      let t0 = (lo - o) / dd;
      let t1 = (hi - o) / dd;
      if (t0 > t1) [t0, t1] = [t1, t0];
      if (t0 > enter) {
        enter = t0;
        face = kind;
      }
      exit = Math.min(exit, t1);
    }
    if (missed || enter > exit || enter <= 0) continue;
    if (!best || enter < best.depth) best = { depth: enter, face, z: c.z + d.z * enter };
  }
  return best;
}

function shelfBackground(camera: SimCamera, g: GondolaLayout | undefined): Buffer {
  const { width, height } = camera;
  const out = Buffer.alloc(width * height * 3);
  const r = new Raster(out, width, height);
  for (let i = 0; i < out.length; i += 3) {
    out[i] = WALL[0];
    out[i + 1] = WALL[1];
    out[i + 2] = WALL[2];
  }
  const horizon = camera.project(camera.position.x + camera.forward.x * 20, camera.position.y + camera.forward.y * 20, 0);
  if (horizon) r.polygon([0, horizon.v, width, horizon.v, width, height, 0, height], FLOOR);
  if (!g) return out;
  const rect = (u0: number, u1: number, z0: number, z1: number, v: number) => {
    const a = camera.project(...onGondola3(g, u0, v, z1));
    const b = camera.project(...onGondola3(g, u1, v, z0));
    return a && b ? [a.u, a.v, b.u, a.v, b.u, b.v, a.u, b.v] : undefined;
  };
  const back = rect(0, g.widthM, 0, g.heightM, g.depthM);
  if (back) r.polygon(back, SHELF_BACK, 1, (v) => 0.9 + 0.1 * (v / height));
  for (const shelf of g.shelves) {
    const board = rect(0, g.widthM, shelf.heightM - 0.025, shelf.heightM, 0);
    if (board) r.polygon(board, SHELF_BOARD);
    // Plate seams: a thin line between plates along the board's edge.
    for (const p of shelf.plates) {
      const seam = rect(p.u1 - 0.004, p.u1 + 0.004, shelf.heightM - 0.025, shelf.heightM, 0);
      if (seam) r.polygon(seam, [50, 50, 56]);
    }
  }
  const sides = [rect(-0.04, 0, 0, g.heightM, 0), rect(g.widthM, g.widthM + 0.04, 0, g.heightM, 0)];
  for (const side of sides) if (side) r.polygon(side, SHELF_BOARD);
  return out;
}

function shadow(cam: SimCamera, r: Raster, s: ShopperPose): void {
  const c = cam.project(s.position.x + 0.05, s.position.y + 0.05, 0);
  const e = cam.project(s.position.x + 0.05 + 0.3, s.position.y + 0.05, 0);
  if (!c || !e) return;
  const rad = Math.abs(e.u - c.u);
  r.depth = c.depth;
  r.ellipse(c.u, c.v, rad, 0, 0, rad * 0.85, [0, 0, 0], 0.22, (k) => 1 - k * 0.5);
}

/** A shopper seen from above: basket, shoulders, arms, then the head; each part hidden where a gondola is nearer. */
function body(cam: SimCamera, r: Raster, s: ShopperPose, layout: StoreLayout, colours: ReadonlyMap<string, Rgb>): void {
  const a = s.appearance;
  const h = a.heightM;
  const fx = Math.cos(s.heading);
  const fy = Math.sin(s.heading);
  const sx = -fy;
  const sy = fx;
  const at = (along: number, side: number, z: number) => cam.project(s.position.x + fx * along + sx * side, s.position.y + fy * along + sy * side, z);
  {
    if (a.basket) {
      const b0 = at(0.05, a.shoulderM / 2 + 0.12, 0.75);
      const b1 = at(0.2, a.shoulderM / 2 + 0.12, 0.75);
      const b2 = at(0.05, a.shoulderM / 2 + 0.3, 0.75);
      if (b0 && b1 && b2) {
        r.depth = b0.depth;
        r.ellipse(b0.u, b0.v, b1.u - b0.u, b1.v - b0.v, b2.u - b0.u, b2.v - b0.v, BASKET, 1, (k) => 1 - 0.3 * k);
      }
    }
    const zs = 0.82 * h;
    const c = at(0, 0, zs);
    const acrossEnd = at(0, a.shoulderM / 2, zs);
    const alongEnd = at(0.13, 0, zs);
    if (c && acrossEnd && alongEnd) {
      r.depth = c.depth;
      r.ellipse(c.u, c.v, acrossEnd.u - c.u, acrossEnd.v - c.v, alongEnd.u - c.u, alongEnd.v - c.v, a.shirt, 1, (k) => 1.08 - 0.35 * k * k);
    }
    // Arms: resting along the body, or reaching for the plate.
    for (const side of [-1, 1]) {
      const shoulder = at(0.02, (side * a.shoulderM) / 2.2, zs - 0.05);
      if (!shoulder) continue;
      let hand = at(0.12, (side * a.shoulderM) / 1.9, 0.9);
      if (s.reach && side === 1) {
        const plate = layout.plates.get(s.reach.plate);
        if (plate) {
          const ext = s.reach.extension;
          const start = { x: s.position.x + sx * (a.shoulderM / 2.2), y: s.position.y + sy * (a.shoulderM / 2.2) };
          const target: Vec2 = { x: start.x + (plate.front.x - start.x) * ext, y: start.y + (plate.front.y - start.y) * ext };
          hand = cam.project(target.x, target.y, zs - 0.05 + (plate.heightM + 0.1 - (zs - 0.05)) * ext);
        }
      }
      if (!hand) continue;
      const thick = Math.max(2, cam.focalPx * 0.075 / Math.max(0.5, shoulder.depth));
      r.depth = Math.min(shoulder.depth, hand.depth);
      r.line(shoulder.u, shoulder.v, hand.u, hand.v, thick, a.shirt);
      r.ellipse(hand.u, hand.v, thick * 0.55, 0, 0, thick * 0.55, a.skin);
      const colour = side === 1 && s.reach?.carrying ? colours.get(s.reach.carrying) : undefined;
      if (colour) {
        r.polygon([hand.u - thick, hand.v - thick * 1.3, hand.u + thick, hand.v - thick * 1.3, hand.u + thick, hand.v + thick * 0.6, hand.u - thick, hand.v + thick * 0.6], colour);
      }
    }
  }
  {
    const head = at(-0.01, 0, h - 0.1);
    const edge = at(-0.01, 0.1, h - 0.1);
    if (head && edge) {
      const rad = Math.hypot(edge.u - head.u, edge.v - head.v);
      r.depth = head.depth;
      r.ellipse(head.u, head.v, rad, 0, 0, rad, a.hair, 1, (k) => 1.1 - 0.4 * k * k);
      const face = at(0.07, 0, h - 0.14);
      if (face) r.ellipse(face.u, face.v, rad * 0.45, 0, 0, rad * 0.35, a.skin, 0.9);
    }
  }
}

/** A shopper seen from behind by the shelf camera: legs, torso, head, and an arm reaching in. */
function backView(cam: SimCamera, r: Raster, s: ShopperPose, g: GondolaLayout, layout: StoreLayout, tiles: PackagingTiles): void {
  const a = s.appearance;
  const h = a.heightM;
  const half = a.shoulderM / 2;
  const across = { x: g.along.x, y: g.along.y };
  const box = (w0: number, w1: number, z0: number, z1: number) => {
    const p0 = cam.project(s.position.x + across.x * w0, s.position.y + across.y * w0, z1);
    const p1 = cam.project(s.position.x + across.x * w1, s.position.y + across.y * w1, z0);
    return p0 && p1 ? [p0.u, p0.v, p1.u, p0.v, p1.u, p1.v, p0.u, p1.v] : undefined;
  };
  const legs = [box(-half * 0.8, -half * 0.1, 0, 0.48 * h), box(half * 0.1, half * 0.8, 0, 0.48 * h)];
  for (const leg of legs) if (leg) r.polygon(leg, a.trousers);
  const torso = box(-half, half, 0.47 * h, 0.83 * h);
  if (torso) r.polygon(torso, a.shirt, 1, (v) => 0.85 + 0.15 * Math.cos(v / 30));
  const neck = cam.project(s.position.x, s.position.y, h - 0.1);
  const neckEdge = cam.project(s.position.x + across.x * 0.1, s.position.y + across.y * 0.1, h - 0.1);
  if (neck && neckEdge) {
    const rad = Math.abs(neckEdge.u - neck.u);
    r.ellipse(neck.u, neck.v, rad, 0, 0, rad * 1.15, a.hair, 1, (k) => 1.05 - 0.3 * k);
  }
  if (s.reach) {
    const plate = layout.plates.get(s.reach.plate);
    const shoulder = cam.project(s.position.x + across.x * half, s.position.y + across.y * half, 0.8 * h);
    if (plate && shoulder && plate.gondola === g.id) {
      const ext = s.reach.extension;
      const hx = s.position.x + (plate.front.x - s.position.x) * ext;
      const hy = s.position.y + (plate.front.y - s.position.y) * ext;
      const hand = cam.project(hx, hy, 0.8 * h + (plate.heightM + 0.08 - 0.8 * h) * ext);
      if (hand) {
        const thick = Math.max(2, (cam.focalPx * 0.08) / Math.max(0.5, shoulder.depth));
        r.line(shoulder.u, shoulder.v, hand.u, hand.v, thick, a.shirt);
        r.ellipse(hand.u, hand.v, thick * 0.6, 0, 0, thick * 0.6, a.skin);
        // The product taken, in the hand on its way back.
        const tile = s.reach.carrying ? tiles.get(s.reach.carrying) : undefined;
        if (tile) blitTile(r, tile, hand.u - tile.width / 2, hand.v - tile.height * 0.8, tile.width, tile.height, 1);
      }
    }
  }
}

/** Draws a packaging tile scaled into a rectangle (nearest neighbour), dimmed by `light`. */
function blitTile(r: Raster, tile: PackagingTile, u: number, v: number, w: number, h: number, light: number): void {
  const x0 = Math.max(0, Math.round(u));
  const y0 = Math.max(0, Math.round(v));
  const x1 = Math.min(r.width, Math.round(u + w));
  const y1 = Math.min(r.height, Math.round(v + h));
  if (x1 <= x0 || y1 <= y0) return;
  const d = r.data;
  for (let y = y0; y < y1; y++) {
    const ty = Math.min(tile.height - 1, Math.floor(((y - v) / h) * tile.height));
    for (let x = x0; x < x1; x++) {
      const tx = Math.min(tile.width - 1, Math.floor(((x - u) / w) * tile.width));
      const si = (ty * tile.width + tx) * 3;
      const di = (y * r.width + x) * 3;
      d[di] = tile.data[si]! * light;
      d[di + 1] = tile.data[si + 1]! * light;
      d[di + 2] = tile.data[si + 2]! * light;
    }
  }
}

function projectPolygon(cam: SimCamera, polygon: readonly Vec2[], z: number): number[] | undefined {
  const out: number[] = [];
  for (const p of polygon) {
    const q = cam.project(p.x, p.y, z);
    if (!q) return undefined;
    out.push(q.u, q.v);
  }
  return out;
}

/** Scene brightness and sensor noise, in place; a fast seeded xorshift keeps it reproducible. */
function finish(data: Buffer, length: number, light: number, seed: number): void {
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const noise = ((x & 0xff) / 255 - 0.5) * 2 * NOISE;
    data[i] = clamp(data[i]! * light + noise);
  }
}

const frac = (v: number) => v - Math.floor(v);
const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
