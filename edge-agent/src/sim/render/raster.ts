/**
 * Minimal drawing on RGB24 buffers for the simulator's cameras: filled convex polygons, ellipses
 * and thick lines, with optional blending. Everything is clipped to the image and allocates nothing.
 */
import type { Rgb } from '../world-snapshot.js';

export class Raster {
  /**
   * Depth of what already stands at each pixel (distance along the camera axis), and the depth
   * of what is being drawn now: a pixel is only painted where the new thing is nearer.
   */
  occluders: Float32Array | undefined;
  depth = 0;

  constructor(
    readonly data: Buffer,
    readonly width: number,
    readonly height: number,
  ) {}

  /** Blends `colour` into pixel (x, y) with opacity `alpha` (0–1). */
  blend(x: number, y: number, colour: Rgb, alpha: number): void {
    if (this.occluders && this.occluders[y * this.width + x]! < this.depth) return;
    const i = (y * this.width + x) * 3;
    const d = this.data;
    if (alpha >= 1) {
      d[i] = colour[0];
      d[i + 1] = colour[1];
      d[i + 2] = colour[2];
      return;
    }
    d[i] = d[i]! + (colour[0] - d[i]!) * alpha;
    d[i + 1] = d[i + 1]! + (colour[1] - d[i + 1]!) * alpha;
    d[i + 2] = d[i + 2]! + (colour[2] - d[i + 2]!) * alpha;
  }

  /** Darkens pixel (x, y) by `amount` (0–1). */
  darken(x: number, y: number, amount: number): void {
    const i = (y * this.width + x) * 3;
    const d = this.data;
    const k = 1 - amount;
    d[i] = d[i]! * k;
    d[i + 1] = d[i + 1]! * k;
    d[i + 2] = d[i + 2]! * k;
  }

  /**
   * Fills a convex polygon given as flat [u0, v0, u1, v1, …]; `shade(v)` may vary the colour from
   * top to bottom (a soft gradient for lit surfaces).
   */
  polygon(points: readonly number[], colour: Rgb, alpha = 1, shade?: (v: number) => number): void {
    let minV = Infinity;
    let maxV = -Infinity;
    for (let i = 1; i < points.length; i += 2) {
      minV = Math.min(minV, points[i]!);
      maxV = Math.max(maxV, points[i]!);
    }
    const y0 = Math.max(0, Math.ceil(minV - 0.5));
    const y1 = Math.min(this.height - 1, Math.floor(maxV - 0.5));
    const n = points.length / 2;
    const c: [number, number, number] = [0, 0, 0];
    for (let y = y0; y <= y1; y++) {
      const sy = y + 0.5;
      let left = Infinity;
      let right = -Infinity;
      for (let k = 0; k < n; k++) {
        const ax = points[2 * k]!;
        const ay = points[2 * k + 1]!;
        const bx = points[(2 * k + 2) % points.length]!;
        const by = points[(2 * k + 3) % points.length]!;
        if ((ay <= sy && by > sy) || (by <= sy && ay > sy)) {
          const x = ax + ((sy - ay) * (bx - ax)) / (by - ay);
          left = Math.min(left, x);
          right = Math.max(right, x);
        }
      }
      if (left > right) continue;
      const x0 = Math.max(0, Math.ceil(left - 0.5));
      const x1 = Math.min(this.width - 1, Math.floor(right - 0.5));
      const k = shade ? shade(sy) : 1;
      c[0] = Math.min(255, colour[0] * k);
      c[1] = Math.min(255, colour[1] * k);
      c[2] = Math.min(255, colour[2] * k);
      for (let x = x0; x <= x1; x++) this.blend(x, y, c, alpha);
    }
  }

  /**
   * Fills an ellipse centred at (cu, cv) with axis vectors (au, av) and (bu, bv) in pixels;
   * `shade(r)` darkens towards the rim (r is 0 at the centre, 1 at the edge).
   */
  ellipse(cu: number, cv: number, au: number, av: number, bu: number, bv: number, colour: Rgb, alpha = 1, shade?: (r: number) => number): void {
    const ra = Math.hypot(au, av);
    const rb = Math.hypot(bu, bv);
    if (ra < 0.3 || rb < 0.3) return;
    const extent = Math.max(ra, rb);
    const x0 = Math.max(0, Math.floor(cu - extent));
    const x1 = Math.min(this.width - 1, Math.ceil(cu + extent));
    const y0 = Math.max(0, Math.floor(cv - extent));
    const y1 = Math.min(this.height - 1, Math.ceil(cv + extent));
    const c: [number, number, number] = [0, 0, 0];
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const dx = x + 0.5 - cu;
        const dy = y + 0.5 - cv;
        const p = (dx * au + dy * av) / (ra * ra);
        const q = (dx * bu + dy * bv) / (rb * rb);
        const r2 = p * p + q * q;
        if (r2 > 1) continue;
        if (shade) {
          const k = shade(Math.sqrt(r2));
          c[0] = Math.min(255, colour[0] * k);
          c[1] = Math.min(255, colour[1] * k);
          c[2] = Math.min(255, colour[2] * k);
          this.blend(x, y, c, alpha);
        } else this.blend(x, y, colour, alpha);
      }
    }
  }

  /** A thick line from (u0, v0) to (u1, v1), `thickness` pixels wide, with round ends. */
  line(u0: number, v0: number, u1: number, v1: number, thickness: number, colour: Rgb): void {
    const len = Math.hypot(u1 - u0, v1 - v0);
    const half = Math.max(0.5, thickness / 2);
    if (len > 1e-6) {
      const nx = (-(v1 - v0) / len) * half;
      const ny = ((u1 - u0) / len) * half;
      this.polygon([u0 + nx, v0 + ny, u1 + nx, v1 + ny, u1 - nx, v1 - ny, u0 - nx, v0 - ny], colour);
    }
    this.ellipse(u1, v1, half, 0, 0, half, colour);
  }
}
