/**
 * Draws camera frames of the simulated store from world snapshots. The still parts of each view
 * (floor, walls, gondolas) are ray-cast once with 2×2 supersampling into a background and a depth
 * map; each frame copies the background, draws shelf units and shoppers on top with a depth test
 * against it (so a gondola hides whoever stands behind it), then applies light, vignette and
 * sensor noise. Same snapshot and camera, same bytes.
 */
import type { ProductConfig } from '../../../../device-config/schema.js';
import { packageSize } from '../product-geometry.js';
import { GONDOLA_HEIGHT_M, pointInPolygon, type GondolaLayout, type StoreLayout, type Vec2, type ZoneLayout } from '../store-layout.js';
import type { Rgb, ShelfUnit, ShopperPose, WorldSnapshot } from '../world-snapshot.js';
import type { Projection, SimCamera } from '../cameras/sim-camera.js';
import { fnv1a, packagingDesign, PackagingTiles, type PackagingTile } from './packaging.js';

/** Inputs the renderer could not draw as asked, counted per frame. */
export interface RenderProblems {
  unknownProduct: number;
  unknownShelf: number;
  unknownPlate: number;
  badLight: number;
}

export class SceneRenderError extends Error {
  override readonly name = 'SceneRenderError';
}

const CEILING_M = 3.4;
const NOISE_AMPLITUDE = 3;
const VIGNETTE = 0.16;
/** Shoppers nearer than this to a shelf camera are inside its housing, not in view. */
const SHELF_NEAR_M = 0.35;
const BASKET: Rgb = [34, 84, 168];
const SHOE: Rgb = [38, 38, 42];

// ---------------------------------------------------------------------------------------------
// Still scene: boxes in each gondola's own frame (a along the front, b inward, z up).

const enum Surface {
  Outside,
  Floor,
  Wall,
  Ceiling,
  Metal,
  Back,
  Board,
  Rail,
  Stock,
}

interface Part {
  a0: number;
  a1: number;
  b0: number;
  b1: number;
  z0: number;
  z1: number;
  surface: Surface;
  colour?: Rgb;
  /** Stock: width of one package, for the seams between packages. */
  pitch?: number;
}

interface GondolaBody {
  g: GondolaLayout;
  bounds: Part;
  parts: Part[];
  /** Plate centres along the front, for price labels. */
  labels: number[];
  boardHeights: number[];
}

function gondolaBody(g: GondolaLayout, stockColour: (plateKey: string) => { colour: Rgb; pitch: number } | undefined, withStock: boolean): GondolaBody {
  const W = g.widthM;
  const D = g.depthM;
  const H = GONDOLA_HEIGHT_M;
  const lowest = Math.min(...g.shelves.map((s) => s.heightM));
  const parts: Part[] = [
    { a0: 0, a1: W, b0: D - 0.04, b1: D, z0: 0, z1: H, surface: Surface.Back },
    { a0: 0, a1: 0.03, b0: 0, b1: D, z0: 0, z1: H, surface: Surface.Metal },
    { a0: W - 0.03, a1: W, b0: 0, b1: D, z0: 0, z1: H, surface: Surface.Metal },
    { a0: 0, a1: W, b0: 0, b1: D, z0: H - 0.04, z1: H, surface: Surface.Metal },
  ];
  const plinth = Math.min(0.12, lowest - 0.04);
  if (plinth > 0.01) parts.push({ a0: 0, a1: W, b0: 0.02, b1: D, z0: 0, z1: plinth, surface: Surface.Metal });
  const heights = g.shelves.map((s) => s.heightM).sort((x, y) => x - y);
  for (const s of g.shelves) {
    const h = s.heightM;
    parts.push({ a0: 0.03, a1: W - 0.03, b0: 0, b1: D - 0.04, z0: h - 0.03, z1: h, surface: Surface.Board });
    parts.push({ a0: 0.03, a1: W - 0.03, b0: -0.015, b1: 0.004, z0: h - 0.04, z1: h + 0.012, surface: Surface.Rail });
    if (!withStock) continue;
    const above = heights.find((x) => x > h + 0.01) ?? H - 0.04;
    const top = h + Math.min(0.26, above - h - 0.08);
    for (const p of s.plates) {
      const stock = stockColour(p.key);
      if (!stock || top <= h) continue;
      parts.push({ a0: p.u0 + 0.02, a1: p.u1 - 0.02, b0: 0.03, b1: D - 0.1, z0: h, z1: top, surface: Surface.Stock, colour: stock.colour, pitch: stock.pitch });
    }
  }
  const labels = g.shelves[0]?.plates.map((p) => (p.u0 + p.u1) / 2) ?? [];
  return { g, bounds: { a0: 0, a1: W, b0: -0.02, b1: D, z0: 0, z1: H, surface: Surface.Metal }, parts, labels, boardHeights: heights };
}

/** Ray–box entry: the entry distance (or Infinity) and, in `hit`, the entry axis and side. */
const hit = { axis: 0, sign: 0 };
const slab = { t0: 0, t1: 0, axis: 0, sign: 0 };

function clip(o: number, d: number, lo: number, hi: number, axis: number): boolean {
  if (Math.abs(d) < 1e-12) return o >= lo && o <= hi;
  let ta = (lo - o) / d;
  let tb = (hi - o) / d;
  let sign = -1;
  if (ta > tb) {
    const swap = ta;
    ta = tb;
    tb = swap;
    sign = 1;
  }
  if (ta > slab.t0) {
    slab.t0 = ta;
    slab.axis = axis;
    slab.sign = sign;
  }
  if (tb < slab.t1) slab.t1 = tb;
  return slab.t0 <= slab.t1;
}

function enterBox(oa: number, ob: number, oz: number, da: number, db: number, dz: number, box: Part, limit: number): number {
  slab.t0 = -Infinity;
  slab.t1 = Infinity;
  slab.axis = 0;
  slab.sign = 0;
  if (!clip(oa, da, box.a0, box.a1, 0) || !clip(ob, db, box.b0, box.b1, 1) || !clip(oz, dz, box.z0, box.z1, 2)) return Infinity;
  if (slab.t0 < 0 || slab.t0 >= limit) return Infinity;
  hit.axis = slab.axis;
  hit.sign = slab.sign;
  return slab.t0;
}

interface StillView {
  background: Buffer;
  depth: Float32Array;
  /** 1 where the still surface is the floor: shadows fall there. */
  floor: Uint8Array;
}

class StillScene {
  private readonly bodies: GondolaBody[];
  private readonly mats: ZoneLayout[];
  private readonly staffOnly: ZoneLayout[];

  constructor(
    private readonly layout: StoreLayout,
    stockColour: (plateKey: string) => { colour: Rgb; pitch: number } | undefined,
    withStock: boolean,
  ) {
    this.bodies = layout.gondolas.map((g) => gondolaBody(g, stockColour, withStock));
    this.mats = layout.zones.filter((z) => z.type === 'entry' || z.type === 'exit');
    this.staffOnly = layout.zonesOfType('staff-only');
  }

  render(camera: SimCamera): StillView {
    const { width, height } = camera;
    const background = Buffer.alloc(width * height * 3);
    const depth = new Float32Array(width * height);
    const floor = new Uint8Array(width * height);
    const colour = [0, 0, 0];
    const sample = { t: 0, surface: Surface.Outside };
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let r = 0;
        let g = 0;
        let b = 0;
        let nearest = Infinity;
        let floors = 0;
        for (let s = 0; s < 4; s++) {
          this.trace(camera, x + 0.25 + 0.5 * (s & 1), y + 0.25 + 0.5 * (s >> 1), colour, sample);
          r += colour[0]!;
          g += colour[1]!;
          b += colour[2]!;
          if (sample.t < nearest) nearest = sample.t;
          if (sample.surface === Surface.Floor) floors++;
        }
        const p = y * width + x;
        background[p * 3] = clampByte(r / 4);
        background[p * 3 + 1] = clampByte(g / 4);
        background[p * 3 + 2] = clampByte(b / 4);
        depth[p] = nearest;
        floor[p] = floors === 4 ? 1 : 0;
      }
    }
    return { background, depth, floor };
  }

  /** Colour and depth of what the ray through image point (u, v) meets first. */
  private trace(cam: SimCamera, u: number, v: number, out: number[], sample: { t: number; surface: Surface }): void {
    const a = (u - cam.cx) / cam.focalPx;
    const c = (v - cam.cy) / cam.focalPx;
    const dx = cam.right.x * a + cam.down.x * c + cam.forward.x;
    const dy = cam.right.y * a + cam.down.y * c + cam.forward.y;
    const dz = cam.right.z * a + cam.down.z * c + cam.forward.z;
    const P = cam.position;
    // The ray's parameter t is its depth along the optical axis, because dir·forward = 1.
    let best = this.shellHit(P.x, P.y, P.z, dx, dy, dz);
    let surface = best.surface;
    let bestT = best.t;
    let axis = best.axis;
    let sign = best.sign;
    let part: Part | undefined;
    let body: GondolaBody | undefined;
    for (const gb of this.bodies) {
      const g = gb.g;
      const rx = P.x - g.origin.x;
      const ry = P.y - g.origin.y;
      const oa = rx * g.along.x + ry * g.along.y;
      const ob = rx * g.inward.x + ry * g.inward.y;
      const da = dx * g.along.x + dy * g.along.y;
      const db = dx * g.inward.x + dy * g.inward.y;
      if (enterBox(oa, ob, P.z, da, db, dz, gb.bounds, bestT) === Infinity) continue;
      for (const pt of gb.parts) {
        const t = enterBox(oa, ob, P.z, da, db, dz, pt, bestT);
        if (t === Infinity) continue;
        bestT = t;
        surface = pt.surface;
        axis = hit.axis;
        sign = hit.sign;
        part = pt;
        body = gb;
      }
    }
    sample.t = bestT;
    sample.surface = surface;
    const x = P.x + dx * bestT;
    const y = P.y + dy * bestT;
    const z = P.z + dz * bestT;
    if (body && part) {
      this.shadeGondola(body, part, x, y, z, axis, sign, out);
      return;
    }
    switch (surface) {
      case Surface.Floor:
        this.shadeFloor(x, y, out);
        return;
      case Surface.Wall:
        set(out, z < 0.12 ? [92, 92, 98] : [224, 221, 212], (axis === 0 ? 0.9 : 1.0) * (0.92 + 0.08 * Math.min(1, z / 2)));
        return;
      case Surface.Ceiling:
        set(out, [236, 236, 233], 0.95);
        return;
      default:
        set(out, [24, 24, 28], 1);
    }
  }

  private shellHit(ox: number, oy: number, oz: number, dx: number, dy: number, dz: number): { t: number; surface: Surface; axis: number; sign: number } {
    const W = this.layout.widthM;
    const D = this.layout.depthM;
    const inside = ox > 0 && ox < W && oy > 0 && oy < D && oz > 0 && oz < CEILING_M;
    if (!inside) {
      const t = enterBox(ox, oy, oz, dx, dy, dz, { a0: 0, a1: W, b0: 0, b1: D, z0: 0, z1: CEILING_M, surface: Surface.Wall }, Infinity);
      if (t === Infinity) return { t: Infinity, surface: Surface.Outside, axis: 0, sign: 0 };
      return { t, surface: hit.axis === 2 ? (hit.sign < 0 ? Surface.Floor : Surface.Ceiling) : Surface.Wall, axis: hit.axis, sign: hit.sign };
    }
    let t = Infinity;
    let axis = 0;
    let sign = 0;
    const exits: [number, number, number][] = [
      [ox, dx, W],
      [oy, dy, D],
      [oz, dz, CEILING_M],
    ];
    for (let k = 0; k < 3; k++) {
      const [o, d, hi] = exits[k]!;
      if (Math.abs(d) < 1e-12) continue;
      const tk = d > 0 ? (hi - o) / d : -o / d;
      if (tk < t) {
        t = tk;
        axis = k;
        sign = d > 0 ? 1 : -1;
      }
    }
    const surface = axis === 2 ? (sign < 0 ? Surface.Floor : Surface.Ceiling) : Surface.Wall;
    return { t, surface, axis, sign };
  }

  private shadeFloor(x: number, y: number, out: number[]): void {
    const tx = Math.floor(x / 0.6);
    const ty = Math.floor(y / 0.6);
    const fx = x - tx * 0.6;
    const fy = y - ty * 0.6;
    let base: Rgb = [188, 186, 180];
    let k = 1 + ((hash2(tx, ty) % 11) - 5) / 260;
    if (Math.min(fx, fy, 0.6 - fx, 0.6 - fy) < 0.004) k *= 0.82;
    k *= 1 + ((hash2(Math.floor(x / 0.03), Math.floor(y / 0.03)) % 9) - 4) / 320;
    const p = { x, y };
    for (const zone of this.staffOnly) {
      if (!pointInPolygon(p, zone.polygon)) continue;
      const edge = distanceToEdges(p, zone.polygon);
      base = edge < 0.06 ? [214, 184, 44] : [158, 158, 154];
    }
    for (const zone of this.mats) {
      if (!pointInPolygon(p, zone.polygon)) continue;
      const edge = distanceToEdges(p, zone.polygon);
      if (edge < 0.1) continue;
      base = edge < 0.16 ? [48, 48, 53] : Math.floor(y / 0.03) % 2 === 0 ? [74, 78, 86] : [66, 70, 78];
      k = 1;
    }
    // Ceiling lights on a 3 m grid, and contact shadows next to gondolas.
    let light = 0.86;
    for (let lx = 1.5; lx < this.layout.widthM; lx += 3) {
      for (let ly = 1.5; ly < this.layout.depthM; ly += 2.5) {
        const d2 = (x - lx) * (x - lx) + (y - ly) * (y - ly);
        light += 0.12 * Math.exp(-d2 / 2);
      }
    }
    for (const { g } of this.bodies) {
      const rx = x - g.origin.x;
      const ry = y - g.origin.y;
      const a = rx * g.along.x + ry * g.along.y;
      const b = rx * g.inward.x + ry * g.inward.y;
      const da = Math.max(0, -a, a - g.widthM);
      const db = Math.max(0, -b, b - g.depthM);
      const d = Math.hypot(da, db);
      if (d < 0.3) light *= 0.72 + 0.28 * (d / 0.3);
    }
    set(out, base, k * Math.min(1.06, light));
  }

  private shadeGondola(body: GondolaBody, part: Part, x: number, y: number, z: number, axis: number, sign: number, out: number[]): void {
    const g = body.g;
    const rx = x - g.origin.x;
    const ry = y - g.origin.y;
    const a = rx * g.along.x + ry * g.along.y;
    const face = axis === 2 ? (sign > 0 ? 1.0 : 0.58) : axis === 0 ? 0.78 : sign < 0 ? 0.9 : 0.82;
    switch (part.surface) {
      case Surface.Back: {
        const ha = a / 0.025 - Math.floor(a / 0.025) - 0.5;
        const hz = z / 0.025 - Math.floor(z / 0.025) - 0.5;
        let k = ha * ha + hz * hz < 0.05 ? 0.68 : 1;
        const over = body.boardHeights.find((h) => h - 0.03 > z);
        if (over !== undefined && over - 0.03 - z < 0.1) k *= 0.7 + 0.3 * ((over - 0.03 - z) / 0.1);
        set(out, [186, 188, 192], k * face);
        return;
      }
      case Surface.Board:
        set(out, [208, 210, 214], face);
        return;
      case Surface.Rail: {
        const label = axis === 1 && body.labels.some((m) => Math.abs(a - m) < 0.035) && z > part.z0 + 0.008 && z < part.z1 - 0.008;
        set(out, label ? [242, 242, 236] : [62, 64, 70], face);
        return;
      }
      case Surface.Stock: {
        const pitch = part.pitch ?? 0.1;
        const seam = Math.floor((a - part.a0) / pitch) % 2 === 0 ? 1 : 0.9;
        set(out, part.colour ?? [128, 128, 128], seam * face);
        return;
      }
      default: {
        const brushed = 1 + ((hash2(Math.floor(a / 0.02), 7) % 5) - 2) / 200;
        set(out, [122, 128, 140], face * brushed);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Drawing onto a frame with a depth test against the still scene.

class Canvas {
  out: Buffer = Buffer.alloc(0);
  /** Pixels already taken by a package this frame. */
  readonly covered: Uint8Array;
  private readonly columns: Int32Array;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly depth: Float32Array,
    readonly floor: Uint8Array,
  ) {
    this.covered = new Uint8Array(width * height);
    this.columns = new Int32Array(width);
  }

  private blend(p: number, alpha: number, r: number, g: number, b: number): void {
    const o = this.out;
    const j = p * 3;
    if (alpha >= 1) {
      o[j] = r;
      o[j + 1] = g;
      o[j + 2] = b;
      return;
    }
    o[j] = (o[j]! + (r - o[j]!) * alpha + 0.5) | 0;
    o[j + 1] = (o[j + 1]! + (g - o[j + 1]!) * alpha + 0.5) | 0;
    o[j + 2] = (o[j + 2]! + (b - o[j + 2]!) * alpha + 0.5) | 0;
  }

  /** A filled ellipse with semi-axes ra (along `angle`) and rb, at one depth. */
  ellipse(cu: number, cv: number, ra: number, rb: number, angle: number, depth: number, c: Rgb, k = 1): void {
    if (ra < 0.3 || rb < 0.3) return;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const reach = Math.max(ra, rb) + 1;
    const x0 = Math.max(0, Math.floor(cu - reach));
    const x1 = Math.min(this.width - 1, Math.ceil(cu + reach));
    const y0 = Math.max(0, Math.floor(cv - reach));
    const y1 = Math.min(this.height - 1, Math.ceil(cv + reach));
    const edge = Math.min(ra, rb);
    const [r, g, b] = scaled(c, k);
    for (let y = y0; y <= y1; y++) {
      const dy = y + 0.5 - cv;
      for (let x = x0; x <= x1; x++) {
        const p = y * this.width + x;
        if (depth >= this.depth[p]!) continue;
        const dx = x + 0.5 - cu;
        const ea = (dx * cos + dy * sin) / ra;
        const eb = (-dx * sin + dy * cos) / rb;
        const q = Math.sqrt(ea * ea + eb * eb);
        const alpha = (1 - q) * edge + 0.5;
        if (alpha <= 0) continue;
        this.blend(p, alpha, r, g, b);
      }
    }
  }

  /** A rectangle of half sizes ha (along `angle`) and hb, at one depth. */
  box(cu: number, cv: number, ha: number, hb: number, angle: number, depth: number, c: Rgb): void {
    if (ha < 0.3 || hb < 0.3) return;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const reach = Math.hypot(ha, hb) + 1;
    const x0 = Math.max(0, Math.floor(cu - reach));
    const x1 = Math.min(this.width - 1, Math.ceil(cu + reach));
    const y0 = Math.max(0, Math.floor(cv - reach));
    const y1 = Math.min(this.height - 1, Math.ceil(cv + reach));
    for (let y = y0; y <= y1; y++) {
      const dy = y + 0.5 - cv;
      for (let x = x0; x <= x1; x++) {
        const p = y * this.width + x;
        if (depth >= this.depth[p]!) continue;
        const dx = x + 0.5 - cu;
        const alpha = Math.min(ha - Math.abs(dx * cos + dy * sin), hb - Math.abs(-dx * sin + dy * cos)) + 0.5;
        if (alpha <= 0) continue;
        this.blend(p, alpha, c[0], c[1], c[2]);
      }
    }
  }

  /** A segment with round ends whose radius and depth change linearly from one end to the other. */
  capsule(a: Projection, ra: number, b: Projection, rb: number, c: Rgb, k = 1): void {
    const vx = b.u - a.u;
    const vy = b.v - a.v;
    const len2 = vx * vx + vy * vy;
    const reach = Math.max(ra, rb) + 1;
    const x0 = Math.max(0, Math.floor(Math.min(a.u, b.u) - reach));
    const x1 = Math.min(this.width - 1, Math.ceil(Math.max(a.u, b.u) + reach));
    const y0 = Math.max(0, Math.floor(Math.min(a.v, b.v) - reach));
    const y1 = Math.min(this.height - 1, Math.ceil(Math.max(a.v, b.v) + reach));
    const [r, g, bl] = scaled(c, k);
    for (let y = y0; y <= y1; y++) {
      const py = y + 0.5 - a.v;
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5 - a.u;
        let t = len2 > 0 ? (px * vx + py * vy) / len2 : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const ex = px - t * vx;
        const ey = py - t * vy;
        const alpha = ra + (rb - ra) * t - Math.sqrt(ex * ex + ey * ey) + 0.5;
        if (alpha <= 0) continue;
        const p = y * this.width + x;
        if (a.depth + (b.depth - a.depth) * t >= this.depth[p]!) continue;
        this.blend(p, alpha, r, g, bl);
      }
    }
  }

  /** A soft shadow on the floor: darkens floor pixels only. */
  shadow(cu: number, cv: number, ra: number, rb: number, angle: number, strength: number): void {
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const reach = Math.max(ra, rb) + 1;
    const x0 = Math.max(0, Math.floor(cu - reach));
    const x1 = Math.min(this.width - 1, Math.ceil(cu + reach));
    const y0 = Math.max(0, Math.floor(cv - reach));
    const y1 = Math.min(this.height - 1, Math.ceil(cv + reach));
    const o = this.out;
    for (let y = y0; y <= y1; y++) {
      const dy = y + 0.5 - cv;
      for (let x = x0; x <= x1; x++) {
        const p = y * this.width + x;
        if (this.floor[p] !== 1) continue;
        const dx = x + 0.5 - cu;
        const ea = (dx * cos + dy * sin) / ra;
        const eb = (-dx * sin + dy * cos) / rb;
        const q2 = ea * ea + eb * eb;
        if (q2 >= 1) continue;
        const k = 1 - strength * (1 - q2) * (1 - q2);
        const j = p * 3;
        o[j] = (o[j]! * k) | 0;
        o[j + 1] = (o[j + 1]! * k) | 0;
        o[j + 2] = (o[j + 2]! * k) | 0;
      }
    }
  }

  /**
   * A package front: the tile scaled (nearest neighbour) into [u0, u1) × [v0, v1), darkened by k.
   * Packages are drawn nearest first; `covered` keeps the ones behind from costing anything.
   */
  tile(t: PackagingTile, u0: number, v0: number, u1: number, v1: number, depth: number, k: number, cover = true): void {
    const x0 = Math.max(0, Math.round(u0));
    const x1 = Math.min(this.width, Math.round(u1));
    const y0 = Math.max(0, Math.round(v0));
    const y1 = Math.min(this.height, Math.round(v1));
    const sx = t.width / (u1 - u0);
    const sy = t.height / (v1 - v0);
    const o = this.out;
    const kk = Math.round(k * 256);
    const columns = this.columns;
    for (let x = x0; x < x1; x++) columns[x] = Math.min(t.width - 1, Math.max(0, Math.floor((x + 0.5 - u0) * sx))) * 3;
    for (let y = y0; y < y1; y++) {
      const row = Math.min(t.height - 1, Math.max(0, Math.floor((y + 0.5 - v0) * sy))) * t.width * 3;
      for (let x = x0, p = y * this.width + x0; x < x1; x++, p++) {
        if ((cover && this.covered[p] === 1) || depth >= this.depth[p]!) continue;
        if (cover) this.covered[p] = 1;
        const s = row + columns[x]!;
        const j = p * 3;
        o[j] = (t.data[s]! * kk) >> 8;
        o[j + 1] = (t.data[s + 1]! * kk) >> 8;
        o[j + 2] = (t.data[s + 2]! * kk) >> 8;
      }
    }
  }

  /** An axis-aligned flat rectangle at one depth; `cover` makes it a package face (see `tile`). */
  rect(u0: number, v0: number, u1: number, v1: number, depth: number, c: Rgb, k: number, cover = false): void {
    const x0 = Math.max(0, Math.round(u0));
    const x1 = Math.min(this.width, Math.round(u1));
    const y0 = Math.max(0, Math.round(v0));
    const y1 = Math.min(this.height, Math.round(v1));
    const [r, g, b] = scaled(c, k);
    for (let y = y0; y < y1; y++) {
      for (let x = x0, p = y * this.width + x0; x < x1; x++, p++) {
        if (depth >= this.depth[p]!) continue;
        if (cover) {
          if (this.covered[p] === 1) continue;
          this.covered[p] = 1;
        }
        this.blend(p, 1, r, g, b);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

interface CameraView {
  camera: SimCamera;
  kind: 'top' | 'shelf';
  background: Buffer;
  canvas: Canvas;
  /** Vignette, 8.8 fixed point. */
  gain: Uint16Array;
  seed: number;
  tiles: PackagingTiles | undefined;
  gondola: GondolaLayout | undefined;
}

interface ProductLook {
  widthM: number;
  heightM: number;
  depthM: number;
  /** Packaging colour, for a package too small to show its design (seen from above). */
  colour: Rgb;
}

export class SceneRenderer {
  readonly problems: RenderProblems = { unknownProduct: 0, unknownShelf: 0, unknownPlate: 0, badLight: 0 };
  // Scratch space reused by every frame.
  private readonly pa: Projection = { u: 0, v: 0, depth: 0 };
  private readonly pb: Projection = { u: 0, v: 0, depth: 0 };
  private readonly pc: Projection = { u: 0, v: 0, depth: 0 };
  private order: number[] = [];
  private keys = new Float64Array(64);
  private readonly byKey = (i: number, j: number) => this.keys[j]! - this.keys[i]! || i - j;

  private constructor(
    private readonly layout: StoreLayout,
    private readonly views: ReadonlyMap<string, CameraView>,
    private readonly looks: ReadonlyMap<string, ProductLook>,
  ) {}

  static async create(layout: StoreLayout, cameras: readonly SimCamera[], products: readonly ProductConfig[]): Promise<SceneRenderer> {
    const plateProduct = new Map<string, ProductConfig>();
    for (const p of products) for (const key of p.plates) plateProduct.set(key, p);
    const stockColour = (key: string) => {
      const p = plateProduct.get(key);
      return p && { colour: packagingDesign(p).background, pitch: packageSize(p).widthM + 0.01 };
    };
    const topScene = new StillScene(layout, stockColour, true);
    const shelfScene = new StillScene(layout, stockColour, false);
    const views = new Map<string, CameraView>();
    for (const camera of cameras) {
      if (views.has(camera.id)) throw new SceneRenderError(`camera ${camera.id} is listed twice`);
      const kind = camera.role === 'shelf' ? 'shelf' : 'top';
      const still = (kind === 'shelf' ? shelfScene : topScene).render(camera);
      const gondola = kind === 'shelf' ? layout.gondolas.find((g) => g.id === camera.gondola) : undefined;
      if (kind === 'shelf' && !gondola) throw new SceneRenderError(`shelf camera ${camera.id} faces no gondola of the store`);
      let tiles: PackagingTiles | undefined;
      if (gondola) {
        const mid = camera.project(
          gondola.origin.x + (gondola.along.x * gondola.widthM) / 2,
          gondola.origin.y + (gondola.along.y * gondola.widthM) / 2,
          1,
        );
        if (!mid) throw new SceneRenderError(`shelf camera ${camera.id} does not face its gondola`);
        tiles = await PackagingTiles.render(products, camera.focalPx / mid.depth);
      }
      views.set(camera.id, {
        camera,
        kind,
        background: still.background,
        canvas: new Canvas(camera.width, camera.height, still.depth, still.floor),
        gain: vignette(camera.width, camera.height),
        seed: fnv1a(camera.id),
        tiles,
        gondola,
      });
    }
    const looks = new Map(products.map((p) => [p.id, { ...packageSize(p), colour: packagingDesign(p).background }]));
    return new SceneRenderer(layout, views, looks);
  }

  render(cameraId: string, snapshot: WorldSnapshot, out: Buffer): void {
    const view = this.views.get(cameraId);
    if (!view) throw new SceneRenderError(`no simulated camera ${cameraId}`);
    const { width, height } = view.camera;
    if (out.length !== width * height * 3) throw new SceneRenderError(`camera ${cameraId}: frame buffer must be ${width}×${height}×3 = ${width * height * 3} bytes, got ${out.length}`);
    view.background.copy(out);
    view.canvas.out = out;
    if (view.kind === 'top') this.drawTop(view, snapshot.shoppers);
    else this.drawShelf(view, snapshot);
    let light = snapshot.light;
    if (!Number.isFinite(light) || light < 0) {
      this.problems.badLight++;
      light = 1;
    }
    finish(out, view.gain, light, frameSeed(view.seed, snapshot.at));
  }

  // --- overhead and entrance views -----------------------------------------------------------

  private drawTop(view: CameraView, shoppers: readonly ShopperPose[]): void {
    const cam = view.camera;
    const canvas = view.canvas;
    const a = this.pa;
    for (const s of shoppers) {
      // Light comes from many ceiling panels: a soft blob under the shopper, a little behind.
      if (!cam.projectInto(s.position.x, s.position.y, 0, a)) continue;
      const scale = cam.focalPx / a.depth;
      canvas.shadow(a.u, a.v, 0.42 * scale, 0.34 * scale, this.imageAngle(cam, s.position, Math.cos(s.heading + Math.PI / 2), Math.sin(s.heading + Math.PI / 2)), 0.45);
    }
    const order = this.sortFarFirst(cam, shoppers, (s) => s.appearance.heightM);
    for (const i of order) this.drawShopperFromAbove(cam, canvas, shoppers[i]!);
  }

  private drawShopperFromAbove(cam: SimCamera, canvas: Canvas, s: ShopperPose): void {
    const { x, y } = s.position;
    const A = s.appearance;
    const H = A.heightM;
    const shoulderZ = 0.82 * H;
    const hipZ = 0.52 * H;
    const fx = Math.cos(s.heading);
    const fy = Math.sin(s.heading);
    const rx = -fy;
    const ry = fx;
    const a = this.pa;
    const b = this.pb;
    const f = cam.focalPx;

    // Lower parts first; of the two arms, the one further from the camera goes under the torso.
    if (cam.projectInto(x, y, 0.05, a) && cam.projectInto(x, y, hipZ, b)) canvas.capsule(a, (0.13 * f) / a.depth, b, (0.15 * f) / b.depth, A.trousers);
    if (A.basket) {
      const bx = x + rx * 0.32 + fx * 0.05;
      const by = y + ry * 0.32 + fy * 0.05;
      if (cam.projectInto(bx, by, 0.68, a)) {
        const sc = f / a.depth;
        const ang = this.imageAngle(cam, { x: bx, y: by }, fx, fy);
        canvas.box(a.u, a.v, 0.2 * sc, 0.14 * sc, ang, a.depth, BASKET);
        canvas.box(a.u, a.v, 0.17 * sc, 0.11 * sc, ang, a.depth - 0.001, scaled(BASKET, 0.55));
      }
    }
    const reach = this.reachTarget(s);
    const nearSide = rx * (cam.position.x - x) + ry * (cam.position.y - y) >= 0 ? 1 : -1;
    this.armFromAbove(cam, canvas, s, -nearSide as -1 | 1, reach);
    if (cam.projectInto(x, y, hipZ, a) && cam.projectInto(x, y, shoulderZ - 0.08, b)) canvas.capsule(a, (0.16 * f) / a.depth, b, ((A.shoulderM / 2) * 0.8 * f) / b.depth, A.shirt, 0.82);
    this.armFromAbove(cam, canvas, s, nearSide, reach);

    if (cam.projectInto(x, y, shoulderZ, a)) {
      const sc = f / a.depth;
      canvas.ellipse(a.u, a.v, (A.shoulderM / 2) * sc, 0.13 * sc, this.imageAngle(cam, s.position, rx, ry), a.depth, A.shirt);
    }
    const headZ = H - 0.11;
    if (cam.projectInto(x + fx * 0.05, y + fy * 0.05, headZ - 0.03, a)) canvas.ellipse(a.u, a.v, (0.06 * f) / a.depth, (0.06 * f) / a.depth, 0, a.depth, A.skin);
    if (cam.projectInto(x - fx * 0.01, y - fy * 0.01, headZ, a)) {
      const sc = f / a.depth;
      canvas.ellipse(a.u, a.v, 0.1 * sc, 0.085 * sc, this.imageAngle(cam, s.position, fx, fy), a.depth, A.hair);
    }
  }

  private armFromAbove(cam: SimCamera, canvas: Canvas, s: ShopperPose, side: -1 | 1, reach: ReturnType<SceneRenderer['reachTarget']>): void {
    const A = s.appearance;
    const shoulderZ = 0.82 * A.heightM - 0.04;
    const rx = -Math.sin(s.heading);
    const ry = Math.cos(s.heading);
    const f = cam.focalPx;
    const a = this.pa;
    const b = this.pb;
    const c = this.pc;
    const sx = s.position.x + rx * side * (A.shoulderM / 2 - 0.04);
    const sy = s.position.y + ry * side * (A.shoulderM / 2 - 0.04);
    const reaching = reach !== undefined && reach.side === side;
    const hx = reaching ? sx + (reach.x - sx) * reach.extension : sx + rx * side * 0.05;
    const hy = reaching ? sy + (reach.y - sy) * reach.extension : sy + ry * side * 0.05;
    const hz = reaching ? shoulderZ + (reach.z - shoulderZ) * reach.extension : shoulderZ - 0.56;
    if (!cam.projectInto(sx, sy, shoulderZ, a) || !cam.projectInto(hx, hy, hz, b)) return;
    canvas.capsule(a, (0.05 * f) / a.depth, b, (0.04 * f) / b.depth, A.skin);
    if (cam.projectInto(sx + (hx - sx) * 0.4, sy + (hy - sy) * 0.4, shoulderZ + (hz - shoulderZ) * 0.4, c)) {
      canvas.capsule(a, (0.058 * f) / a.depth, c, (0.052 * f) / c.depth, A.shirt, 0.9);
    }
    canvas.ellipse(b.u, b.v, (0.05 * f) / b.depth, (0.045 * f) / b.depth, 0, b.depth, A.skin);
    // The package's top, held in the fingers: drawn over the hand so the camera can tell it is there.
    const carried = reaching ? this.carried(s) : undefined;
    if (carried) {
      const sc = f / b.depth;
      const angle = this.imageAngle(cam, { x: hx, y: hy }, hx - sx, hy - sy);
      canvas.box(b.u, b.v, (carried.look.depthM / 2) * sc, (carried.look.widthM / 2) * sc, angle, b.depth - 0.01, carried.look.colour);
    }
  }

  /** The product in a reaching hand, once it has been taken off the shelf. */
  private carried(s: ShopperPose): { product: string; look: ProductLook } | undefined {
    const product = s.reach?.carrying;
    if (product === undefined) return undefined;
    const look = this.looks.get(product);
    if (!look) {
      this.problems.unknownProduct++;
      return undefined;
    }
    return { product, look };
  }

  // --- shelf views ----------------------------------------------------------------------------

  private drawShelf(view: CameraView, snapshot: WorldSnapshot): void {
    const cam = view.camera;
    const g = view.gondola!;
    const units = snapshot.units;
    const order = this.order;
    order.length = 0;
    this.reserve(units.length);
    for (let i = 0; i < units.length; i++) {
      const u = units[i]!;
      const shelf = this.layout.shelves.get(u.shelf);
      if (!shelf) {
        this.problems.unknownShelf++;
        continue;
      }
      if (shelf.gondola !== g.id) continue;
      this.keys[i] = -u.depth;
      order.push(i);
    }
    order.sort(this.byKey);
    view.canvas.covered.fill(0);
    for (const i of order) this.drawUnit(view, g, units[i]!);

    const shoppers = snapshot.shoppers;
    const people = this.sortFarFirst(cam, shoppers, () => 0);
    for (const i of people) this.drawShopperFromBehind(cam, view.canvas, shoppers[i]!, view.tiles);
  }

  private drawUnit(view: CameraView, g: GondolaLayout, unit: ShelfUnit): void {
    const cam = view.camera;
    const shelf = this.layout.shelves.get(unit.shelf)!;
    const tile = view.tiles?.get(unit.product);
    const look = this.looks.get(unit.product);
    if (!tile || !look) this.problems.unknownProduct++;
    const a = this.pa;
    const b = this.pb;
    const left = unit.u - unit.widthM / 2;
    const right = unit.u + unit.widthM / 2;
    const z0 = shelf.heightM;
    const z1 = shelf.heightM + unit.heightM;
    const at = (u: number, depth: number, z: number, out: Projection) =>
      cam.projectInto(g.origin.x + g.along.x * u + g.inward.x * depth, g.origin.y + g.along.y * u + g.inward.y * depth, z, out);
    if (!at(left, unit.depth, z1, a) || !at(right, unit.depth, z0, b)) return;
    const k = Math.max(0.55, 1 - 0.75 * unit.depth);
    const u0 = Math.min(a.u, b.u);
    const u1 = Math.max(a.u, b.u);
    const c = this.pc;
    // Packages below the camera show their lids as a strip above the front face.
    if (z1 < cam.position.z && at(left, unit.depth + (look?.depthM ?? unit.widthM), z1, c) && c.v < a.v) {
      view.canvas.rect(u0, c.v, u1, a.v, a.depth, tile?.mean ?? [128, 128, 128], 0.8 * k, true);
    }
    if (tile) view.canvas.tile(tile, u0, a.v, u1, b.v, a.depth, k);
    else view.canvas.rect(u0, a.v, u1, b.v, a.depth, [128, 128, 128], k, true);
  }

  private drawShopperFromBehind(cam: SimCamera, canvas: Canvas, s: ShopperPose, tiles: PackagingTiles | undefined): void {
    const { x, y } = s.position;
    const A = s.appearance;
    const H = A.heightM;
    const f = cam.focalPx;
    const a = this.pa;
    const b = this.pb;
    if (!cam.projectInto(x, y, 0, a) || a.depth < SHELF_NEAR_M) return;
    const fx = Math.cos(s.heading);
    const fy = Math.sin(s.heading);
    const rx = -fy;
    const ry = fx;
    const away = fx * cam.forward.x + fy * cam.forward.y;
    const across = Math.abs(rx * cam.right.x + ry * cam.right.y);
    const shoulderZ = 0.82 * H;
    const hipZ = 0.5 * H;
    const px = (side: number, d: number) => x + rx * side * d;
    const py = (side: number, d: number) => y + ry * side * d;

    // Far side first: what is nearer the camera is drawn later and covers it.
    const reach = this.reachTarget(s);
    const nearSide = rx * cam.forward.x + ry * cam.forward.y > 0 ? -1 : 1;
    const arm = (side: -1 | 1) => {
      const sx = px(side, A.shoulderM / 2 - 0.05);
      const sy = py(side, A.shoulderM / 2 - 0.05);
      const sz = shoulderZ - 0.05;
      const reaching = reach !== undefined && reach.side === side;
      const hx = reaching ? sx + (reach.x - sx) * reach.extension : px(side, A.shoulderM / 2 + 0.01);
      const hy = reaching ? sy + (reach.y - sy) * reach.extension : py(side, A.shoulderM / 2 + 0.01);
      const hz = reaching ? sz + (reach.z - sz) * reach.extension : sz - 0.6;
      if (!cam.projectInto(sx, sy, sz, a) || !cam.projectInto(hx, hy, hz, b)) return;
      canvas.capsule(a, (0.045 * f) / a.depth, b, (0.038 * f) / b.depth, A.skin, 0.95);
      const c = this.pc;
      if (cam.projectInto(sx + (hx - sx) * 0.45, sy + (hy - sy) * 0.45, sz + (hz - sz) * 0.45, c)) canvas.capsule(a, (0.058 * f) / a.depth, c, (0.05 * f) / c.depth, A.shirt, 0.92);
      // The product taken, on its way from the shelf to the basket.
      const carried = reaching ? this.carried(s) : undefined;
      const tile = carried && tiles?.get(carried.product);
      if (carried && tile) {
        const sc = f / b.depth;
        const w = carried.look.widthM * sc;
        const h = carried.look.heightM * sc;
        canvas.tile(tile, b.u - w / 2, b.v - h * 0.7, b.u + w / 2, b.v + h * 0.3, b.depth - 0.01, 1, false);
      }
      canvas.ellipse(b.u, b.v, (0.045 * f) / b.depth, (0.055 * f) / b.depth, 0, b.depth, A.skin, 0.95);
    };
    arm(-nearSide as -1 | 1);

    for (const side of [-1, 1]) {
      const lx = px(side, 0.09);
      const ly = py(side, 0.09);
      if (cam.projectInto(lx, ly, 0.08, a) && cam.projectInto(lx, ly, hipZ, b)) canvas.capsule(a, (0.065 * f) / a.depth, b, (0.08 * f) / b.depth, A.trousers, side === nearSide ? 1 : 0.85);
      if (cam.projectInto(lx + fx * 0.04, ly + fy * 0.04, 0.035, a)) canvas.ellipse(a.u, a.v, (0.07 * f) / a.depth, (0.04 * f) / a.depth, 0, a.depth, SHOE);
    }

    if (A.basket) {
      const bx = px(nearSide, 0.34);
      const by = py(nearSide, 0.34);
      const half = 0.2 * Math.abs(fx * cam.right.x + fy * cam.right.y) + 0.14 * across;
      if (cam.projectInto(bx, by, 0.55, a) && cam.projectInto(bx, by, 0.82, b)) {
        const sc = f / a.depth;
        canvas.rect(a.u - half * sc, b.v, a.u + half * sc, a.v, a.depth - 0.2, BASKET, 1);
        canvas.rect(a.u - half * sc * 0.8, b.v + 0.03 * sc, a.u + half * sc * 0.8, a.v - 0.03 * sc, a.depth - 0.21, BASKET, 0.7);
      }
    }

    const torsoHalf = 0.5 * (A.shoulderM * across + 0.26 * (1 - across));
    if (cam.projectInto(x, y, hipZ + 0.08, a) && cam.projectInto(x, y, shoulderZ - torsoHalf * 0.6, b)) {
      canvas.capsule(a, ((torsoHalf * 0.8) * f) / a.depth, b, (torsoHalf * f) / b.depth, A.shirt);
    }
    const headZ = H - 0.11;
    if (cam.projectInto(x, y, shoulderZ - 0.02, a) && cam.projectInto(x, y, headZ - 0.06, b)) canvas.capsule(a, (0.045 * f) / a.depth, b, (0.045 * f) / b.depth, A.skin, 0.85);
    if (cam.projectInto(x, y, headZ, a)) {
      const sc = f / a.depth;
      if (away > 0.3) {
        canvas.ellipse(a.u, a.v, 0.088 * sc, 0.112 * sc, 0, a.depth, A.hair);
      } else {
        canvas.ellipse(a.u, a.v, 0.085 * sc, 0.11 * sc, 0, a.depth, A.skin);
        canvas.ellipse(a.u - 0.035 * sc * Math.sign(fx * cam.right.x + fy * cam.right.y) * (1 - Math.max(0, -away)), a.v - 0.045 * sc, 0.088 * sc, 0.07 * sc, 0, a.depth, A.hair);
      }
    }
    arm(nearSide);
  }

  // --- shared ---------------------------------------------------------------------------------

  /** Where a reaching hand goes, and which shoulder it comes from; undefined without a reach. */
  private reachTarget(s: ShopperPose): { x: number; y: number; z: number; side: -1 | 1; extension: number } | undefined {
    if (!s.reach) return undefined;
    const plate = this.layout.plates.get(s.reach.plate);
    if (!plate) {
      this.problems.unknownPlate++;
      return undefined;
    }
    const g = this.layout.gondolas.find((x) => x.id === plate.gondola)!;
    const tx = plate.front.x + g.inward.x * 0.06;
    const ty = plate.front.y + g.inward.y * 0.06;
    const rx = -Math.sin(s.heading);
    const ry = Math.cos(s.heading);
    const side = (tx - s.position.x) * rx + (ty - s.position.y) * ry >= 0 ? 1 : -1;
    const extension = Math.min(1, Math.max(0, Number.isFinite(s.reach.extension) ? s.reach.extension : 0));
    return { x: tx, y: ty, z: plate.heightM + 0.07, side, extension };
  }

  /** Shopper indices ordered farthest from the camera first, using a reused array. */
  private sortFarFirst(cam: SimCamera, shoppers: readonly ShopperPose[], headZ: (s: ShopperPose) => number): number[] {
    const order = this.order;
    order.length = 0;
    this.reserve(shoppers.length);
    for (let i = 0; i < shoppers.length; i++) {
      const s = shoppers[i]!;
      const dx = s.position.x - cam.position.x;
      const dy = s.position.y - cam.position.y;
      const dz = headZ(s) - cam.position.z;
      this.keys[i] = dx * dx + dy * dy + dz * dz;
      order.push(i);
    }
    order.sort(this.byKey);
    return order;
  }

  private reserve(n: number): void {
    if (this.keys.length < n) this.keys = new Float64Array(Math.max(n, this.keys.length * 2));
  }

  /** The image direction of a floor direction (dx, dy) at a floor point. */
  private imageAngle(cam: SimCamera, at: Vec2, dx: number, dy: number): number {
    const a = this.pb;
    const b = this.pc;
    if (!cam.projectInto(at.x, at.y, 1, a) || !cam.projectInto(at.x + dx * 0.1, at.y + dy * 0.1, 1, b)) return 0;
    return Math.atan2(b.v - a.v, b.u - a.u);
  }
}

// ---------------------------------------------------------------------------------------------

/** Light, vignette and sensor noise over the whole frame, in place. */
function finish(out: Buffer, gain: Uint16Array, light: number, seed: number): void {
  const l = Math.min(1024, Math.round(light * 256));
  let state = seed;
  const n = gain.length;
  for (let p = 0, j = 0; p < n; p++, j += 3) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const r = state >>> 0;
    const luma = ((((r & 255) + ((r >>> 8) & 255) - 255) * NOISE_AMPLITUDE) >> 8);
    const gl = gain[p]! * l;
    const c0 = ((out[j]! * gl) >> 16) + luma + ((r >>> 16) & 3) - 1;
    const c1 = ((out[j + 1]! * gl) >> 16) + luma + ((r >>> 20) & 3) - 1;
    const c2 = ((out[j + 2]! * gl) >> 16) + luma + ((r >>> 24) & 3) - 1;
    out[j] = c0 < 0 ? 0 : c0 > 255 ? 255 : c0;
    out[j + 1] = c1 < 0 ? 0 : c1 > 255 ? 255 : c1;
    out[j + 2] = c2 < 0 ? 0 : c2 > 255 ? 255 : c2;
  }
}

function vignette(width: number, height: number): Uint16Array {
  const gain = new Uint16Array(width * height);
  const cx = width / 2;
  const cy = height / 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = (x + 0.5 - cx) / cx;
      const dy = (y + 0.5 - cy) / cy;
      gain[y * width + x] = Math.round(256 * (1 - (VIGNETTE * (dx * dx + dy * dy)) / 2));
    }
  }
  return gain;
}

function frameSeed(cameraSeed: number, at: number): number {
  let h = (cameraSeed ^ (at >>> 0)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h ^= Math.floor(at / 4294967296) | 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h ^= h >>> 16;
  return h === 0 ? 0x9e3779b9 | 0 : h | 0;
}

function hash2(a: number, b: number): number {
  let h = Math.imul(a | 0, 0x27d4eb2d) ^ Math.imul(b | 0, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

function distanceToEdges(p: Vec2, polygon: readonly Vec2[]): number {
  let best = Infinity;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[j]!;
    const b = polygon[i]!;
    const vx = b.x - a.x;
    const vy = b.y - a.y;
    const len2 = vx * vx + vy * vy;
    const t = len2 > 0 ? Math.max(0, Math.min(1, ((p.x - a.x) * vx + (p.y - a.y) * vy) / len2)) : 0;
    best = Math.min(best, Math.hypot(p.x - a.x - t * vx, p.y - a.y - t * vy));
  }
  return best;
}

function set(out: number[], c: Rgb, k: number): void {
  out[0] = c[0] * k;
  out[1] = c[1] * k;
  out[2] = c[2] * k;
}

const scaled = (c: Rgb, k: number): Rgb => (k === 1 ? c : [clampByte(c[0] * k), clampByte(c[1] * k), clampByte(c[2] * k)]);
const clampByte = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
