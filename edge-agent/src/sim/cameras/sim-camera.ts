/**
 * The simulator's cameras: one pinhole camera per configured camera, mounted where a store would
 * mount it. Frames, calibration ground truth and tests all project through the same model, so
 * what the renderer draws and what the recording claims about it cannot disagree.
 *
 * World coordinates are the floor plan's (x right, y down the plan, metres) plus z up from the
 * floor. Image coordinates are continuous: pixel (i, j) covers [i, i+1) × [j, j+1).
 */
import type { CameraConfig } from '../../../../device-config/schema.js';
import { GONDOLA_HEIGHT_M, type GondolaLayout, type StoreLayout, type Vec2 } from '../store-layout.js';

export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

export interface Projection {
  u: number;
  v: number;
  /** Distance in front of the camera along its optical axis, metres. */
  depth: number;
}

/** The floor rectangle an overhead or entrance camera is aimed to cover. */
export interface FloorRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface SimCamera {
  readonly id: string;
  readonly role: 'overhead' | 'shelf' | 'entrance';
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly position: Vec3;
  /** Unit vectors of the image's right and down directions and of the optical axis. */
  readonly right: Vec3;
  readonly down: Vec3;
  readonly forward: Vec3;
  readonly focalPx: number;
  readonly cx: number;
  readonly cy: number;
  /** Overhead and entrance cameras: the floor they are aimed at. */
  readonly covers: FloorRect | undefined;
  /** Shelf cameras: the gondola they face. */
  readonly gondola: number | undefined;
  /** Pinhole projection; `undefined` for points behind the camera. */
  project(x: number, y: number, z: number): Projection | undefined;
  /** Allocation-free `project` for hot paths: fills `out`, false behind the camera. */
  projectInto(x: number, y: number, z: number, out: Projection): boolean;
  /** Where the ray through image point (u, v) meets the horizontal plane at height z. */
  floorAt(u: number, v: number, z?: number): Vec2 | undefined;
}

export interface CalibrationPair {
  image: [number, number];
  floor: [number, number];
}

/** Ground truth of a camera's floor homography, written into recordings. */
export interface CalibrationTruth {
  camera: string;
  width: number;
  height: number;
  pairs: CalibrationPair[];
  /** Where the lens hangs: its height and the floor point under it, as an installer measures them. */
  mount: { heightM: number; x: number; y: number };
}

export const OVERHEAD_MOUNT_M = 3.2;
/** Share of a strip's width that each overhead camera also covers of its neighbour's strip. */
export const OVERHEAD_OVERLAP = 0.15;
export const SHELF_CAMERA_DISTANCE_M = 2.2;
export const SHELF_CAMERA_HEIGHT_M = 1.1;
/** A shelf camera frames the gondola front from the floor up to this height. */
export const SHELF_VIEW_TOP_M = 1.9;

const NEAR_M = 1e-6;
/** Keeps what must fit a few pixels away from the image border. */
const FIT_MARGIN = 0.98;

export class SimCameraError extends Error {
  override readonly name = 'SimCameraError';
}

class PinholeCamera implements SimCamera {
  readonly cx: number;
  readonly cy: number;

  constructor(
    readonly id: string,
    readonly role: SimCamera['role'],
    readonly width: number,
    readonly height: number,
    readonly fps: number,
    readonly position: Vec3,
    readonly right: Vec3,
    readonly down: Vec3,
    readonly forward: Vec3,
    readonly focalPx: number,
    readonly covers: FloorRect | undefined,
    readonly gondola: number | undefined,
  ) {
    this.cx = width / 2;
    this.cy = height / 2;
  }

  project(x: number, y: number, z: number): Projection | undefined {
    const out = { u: 0, v: 0, depth: 0 };
    return this.projectInto(x, y, z, out) ? out : undefined;
  }

  projectInto(x: number, y: number, z: number, out: Projection): boolean {
    const dx = x - this.position.x;
    const dy = y - this.position.y;
    const dz = z - this.position.z;
    const depth = dx * this.forward.x + dy * this.forward.y + dz * this.forward.z;
    if (depth <= NEAR_M) return false;
    const s = this.focalPx / depth;
    out.u = this.cx + s * (dx * this.right.x + dy * this.right.y + dz * this.right.z);
    out.v = this.cy + s * (dx * this.down.x + dy * this.down.y + dz * this.down.z);
    out.depth = depth;
    return true;
  }

  floorAt(u: number, v: number, z = 0): Vec2 | undefined {
    const a = (u - this.cx) / this.focalPx;
    const b = (v - this.cy) / this.focalPx;
    const dz = this.right.z * a + this.down.z * b + this.forward.z;
    if (Math.abs(dz) < 1e-12) return undefined;
    const t = (z - this.position.z) / dz;
    if (t <= 0) return undefined;
    return {
      x: this.position.x + t * (this.right.x * a + this.down.x * b + this.forward.x),
      y: this.position.y + t * (this.right.y * a + this.down.y * b + this.forward.y),
    };
  }
}

const LOOK_DOWN = { right: { x: 1, y: 0, z: 0 }, down: { x: 0, y: 1, z: 0 }, forward: { x: 0, y: 0, z: -1 } };

/** One simulated camera per configured camera, in configuration order. */
export function simCameraRig(layout: StoreLayout): SimCamera[] {
  const cameras = layout.config.cameras;
  const overheads = cameras.filter((c) => c.role === 'overhead');
  return cameras.map((c) => {
    switch (c.role) {
      case 'overhead':
        return lookingDown(c, overheadStrip(layout, overheads.indexOf(c), overheads.length));
      case 'entrance':
        return lookingDown(c, entranceRect(layout, c));
      case 'shelf':
        return facingGondola(c, shelfCameraGondola(layout, c));
    }
  });
}

function overheadStrip(layout: StoreLayout, index: number, count: number): FloorRect {
  const strip = layout.widthM / count;
  const overlap = OVERHEAD_OVERLAP * strip;
  return {
    x0: index === 0 ? 0 : index * strip - overlap,
    x1: index === count - 1 ? layout.widthM : (index + 1) * strip + overlap,
    y0: 0,
    y1: layout.depthM,
  };
}

function entranceRect(layout: StoreLayout, c: CameraConfig): FloorRect {
  const entry = layout.zonesOfType('entry')[0];
  if (!entry) throw new SimCameraError(`camera ${c.id}: an entrance camera needs a zone of type "entry" to look at`);
  const xs = entry.polygon.map((p) => p.x);
  const ys = entry.polygon.map((p) => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const gx = OVERHEAD_OVERLAP * (x1 - x0);
  const gy = OVERHEAD_OVERLAP * (y1 - y0);
  return { x0: x0 - gx, x1: x1 + gx, y0: y0 - gy, y1: y1 + gy };
}

function lookingDown(c: CameraConfig, rect: FloorRect): SimCamera {
  const { width, height } = c.detectSize;
  const focal = FIT_MARGIN * Math.min((width * OVERHEAD_MOUNT_M) / (rect.x1 - rect.x0), (height * OVERHEAD_MOUNT_M) / (rect.y1 - rect.y0));
  const position = { x: (rect.x0 + rect.x1) / 2, y: (rect.y0 + rect.y1) / 2, z: OVERHEAD_MOUNT_M };
  return new PinholeCamera(c.id, c.role, width, height, c.fps, position, LOOK_DOWN.right, LOOK_DOWN.down, LOOK_DOWN.forward, focal, rect, undefined);
}

function shelfCameraGondola(layout: StoreLayout, c: CameraConfig): GondolaLayout {
  const first = c.shelves?.[0];
  if (first === undefined) throw new SimCameraError(`camera ${c.id}: a shelf camera needs "shelves" to know which gondola it faces`);
  const shelf = layout.shelves.get(first);
  const gondola = shelf && layout.gondolas.find((g) => g.id === shelf.gondola);
  if (!gondola) throw new SimCameraError(`camera ${c.id}: shelf ${first} is not in the store`);
  return gondola;
}

function facingGondola(c: CameraConfig, g: GondolaLayout): SimCamera {
  const { width, height } = c.detectSize;
  const d = SHELF_CAMERA_DISTANCE_M;
  const position = {
    x: g.origin.x + g.along.x * (g.widthM / 2) - g.inward.x * d,
    y: g.origin.y + g.along.y * (g.widthM / 2) - g.inward.y * d,
    z: SHELF_CAMERA_HEIGHT_M,
  };
  const halfUp = Math.max(SHELF_CAMERA_HEIGHT_M, SHELF_VIEW_TOP_M - SHELF_CAMERA_HEIGHT_M);
  const focal = FIT_MARGIN * Math.min(((width / 2) * d) / (g.widthM / 2), ((height / 2) * d) / halfUp);
  const right = { x: g.along.x, y: g.along.y, z: 0 };
  const forward = { x: g.inward.x, y: g.inward.y, z: 0 };
  return new PinholeCamera(c.id, c.role, width, height, c.fps, position, right, { x: 0, y: 0, z: -1 }, forward, focal, undefined, g.id);
}

/**
 * Floor points an installer could mark and see in the camera's image, with where they appear:
 * a grid over the covered floor, leaving out points under or hidden behind a gondola.
 * `undefined` for shelf cameras, which have no floor homography.
 */
export function calibrationTruth(camera: SimCamera, layout: StoreLayout): CalibrationTruth | undefined {
  const rect = camera.covers;
  if (camera.role === 'shelf' || !rect) return undefined;
  const x0 = Math.max(0, rect.x0);
  const x1 = Math.min(layout.widthM, rect.x1);
  const y0 = Math.max(0, rect.y0);
  const y1 = Math.min(layout.depthM, rect.y1);
  for (const [nx, ny] of [
    [5, 4],
    [8, 6],
    [12, 9],
  ] as const) {
    const pairs: CalibrationPair[] = [];
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const x = round(x0 + ((i + 0.5) / nx) * (x1 - x0), 100);
        const y = round(y0 + ((j + 0.5) / ny) * (y1 - y0), 100);
        if (layout.blocked({ x, y }, 0.15)) continue;
        const p = camera.project(x, y, 0);
        if (!p || p.u < 2 || p.v < 2 || p.u > camera.width - 2 || p.v > camera.height - 2) continue;
        if (layout.gondolas.some((g) => hidesFloorPoint(g, camera.position, x, y))) continue;
        pairs.push({ image: [round(p.u, 1000), round(p.v, 1000)], floor: [x, y] });
      }
    }
    if (pairs.length >= 8) {
      const mount = { heightM: round(camera.position.z, 1000), x: round(camera.position.x, 1000), y: round(camera.position.y, 1000) };
      return { camera: camera.id, width: camera.width, height: camera.height, pairs, mount };
    }
  }
  throw new SimCameraError(`camera ${camera.id}: fewer than 8 visible floor points for calibration`);
}

/** True when the sight line from the camera to a floor point passes through the gondola's box. */
function hidesFloorPoint(g: GondolaLayout, from: Vec3, x: number, y: number): boolean {
  const local = (px: number, py: number) => {
    const rx = px - g.origin.x;
    const ry = py - g.origin.y;
    return [rx * g.along.x + ry * g.along.y, rx * g.inward.x + ry * g.inward.y] as const;
  };
  const [a0, b0] = local(from.x, from.y);
  const [a1, b1] = local(x, y);
  let t0 = 0;
  let t1 = 1;
  for (const [p, q, lo, hi] of [
    [a0, a1 - a0, 0, g.widthM],
    [b0, b1 - b0, 0, g.depthM],
    [from.z, -from.z, 0, GONDOLA_HEIGHT_M],
  ] as const) {
    if (Math.abs(q) < 1e-12) {
      if (p < lo || p > hi) return false;
      continue;
    }
    const ta = (lo - p) / q;
    const tb = (hi - p) / q;
    t0 = Math.max(t0, Math.min(ta, tb));
    t1 = Math.min(t1, Math.max(ta, tb));
    if (t0 > t1) return false;
  }
  return true;
}

const round = (value: number, per: number) => Math.round(value * per) / per;
