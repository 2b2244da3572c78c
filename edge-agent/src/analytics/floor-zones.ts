/**
 * The store's zones compiled for the hot path: flat coordinate arrays and bounding boxes, so
 * testing a floor position against every zone allocates nothing.
 */
import type { ZoneConfig } from '../../../device-config/schema.js';

export type ZoneType = ZoneConfig['type'];

export interface FloorZone {
  index: number;
  id: string;
  name: string;
  type: ZoneType;
}

export class FloorZones {
  readonly zones: readonly FloorZone[];
  private readonly xs: Float64Array[];
  private readonly ys: Float64Array[];
  private readonly boxes: Float64Array;

  constructor(config: readonly ZoneConfig[]) {
    this.zones = config.map((z, index) => ({ index, id: z.id, name: z.name, type: z.type }));
    this.xs = config.map((z) => Float64Array.from(z.polygon, (p) => p[0]));
    this.ys = config.map((z) => Float64Array.from(z.polygon, (p) => p[1]));
    this.boxes = new Float64Array(config.length * 4);
    config.forEach((z, i) => {
      const xs = this.xs[i]!;
      const ys = this.ys[i]!;
      this.boxes.set([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], i * 4);
    });
  }

  get size(): number {
    return this.zones.length;
  }

  byId(id: string): FloorZone | undefined {
    return this.zones.find((z) => z.id === id);
  }

  /** Even-odd rule; a point exactly on an edge may fall either way, which inertia absorbs. */
  contains(index: number, x: number, y: number): boolean {
    const b = index * 4;
    const box = this.boxes;
    if (x < box[b]! || y < box[b + 1]! || x > box[b + 2]! || y > box[b + 3]!) return false;
    const xs = this.xs[index]!;
    const ys = this.ys[index]!;
    let inside = false;
    for (let i = 0, j = xs.length - 1; i < xs.length; j = i++) {
      const yi = ys[i]!;
      const yj = ys[j]!;
      if (yi > y !== yj > y && x < ((xs[j]! - xs[i]!) * (y - yi)) / (yj - yi) + xs[i]!) inside = !inside;
    }
    return inside;
  }

  /** First zone of a type containing the point, or -1. */
  firstOfTypeAt(type: ZoneType, x: number, y: number): number {
    for (const z of this.zones) if (z.type === type && this.contains(z.index, x, y)) return z.index;
    return -1;
  }
}
