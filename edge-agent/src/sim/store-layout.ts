/**
 * Floor geometry of a store configuration, in metres: where each gondola, shelf and plate is,
 * where a shopper stands to reach a plate, and which floor cells are walkable. Shared by the
 * simulator and (later) perception, so both read the configuration the same way.
 */
import type { GondolaConfig, StoreConfig, ZoneConfig } from '../../../device-config/schema.js';

export interface Vec2 {
  x: number;
  y: number;
}

export interface PlateLayout {
  /** "G.S.P" */
  key: string;
  gondola: number;
  shelf: number;
  plate: number;
  /** Index of the plate in its shelf's sample line (0-based). */
  index: number;
  /** Offsets along the gondola front, metres from its left end. */
  u0: number;
  u1: number;
  /** Middle of the plate's front edge on the floor plan. */
  front: Vec2;
  /** Where a shopper stands to reach it. */
  standAt: Vec2;
  heightM: number;
  capacityGrams: number;
}

export interface ShelfLayout {
  /** "G.S" */
  key: string;
  gondola: number;
  shelf: number;
  heightM: number;
  device: string;
  protocol: string;
  plates: PlateLayout[];
}

export interface GondolaLayout {
  id: number;
  /** Corners on the floor: front-left, front-right, back-right, back-left. */
  corners: [Vec2, Vec2, Vec2, Vec2];
  /** Unit vector along the front (to the shopper's right) and into the gondola (away from the shopper). */
  along: Vec2;
  inward: Vec2;
  origin: Vec2;
  widthM: number;
  depthM: number;
  heightM: number;
  shelves: ShelfLayout[];
}

export interface ZoneLayout {
  id: string;
  type: ZoneConfig['type'];
  polygon: Vec2[];
  centroid: Vec2;
}

/** Distance from a gondola's front edge at which a shopper stands to reach it. */
export const REACH_STAND_OFF_M = 0.45;
/** Gondolas are drawn and occlude up to this height. */
export const GONDOLA_HEIGHT_M = 1.8;

export class StoreLayout {
  readonly widthM: number;
  readonly depthM: number;
  readonly gondolas: GondolaLayout[];
  readonly shelves = new Map<string, ShelfLayout>();
  readonly plates = new Map<string, PlateLayout>();
  readonly zones: ZoneLayout[];

  constructor(readonly config: StoreConfig) {
    this.widthM = config.store.floor.widthM;
    this.depthM = config.store.floor.depthM;
    this.gondolas = config.gondolas.map((g) => this.layOutGondola(g));
    this.zones = config.zones.map((z) => {
      const polygon = z.polygon.map(([x, y]) => ({ x, y }));
      return { id: z.id, type: z.type, polygon, centroid: centroid(polygon) };
    });
  }

  zone(id: string): ZoneLayout | undefined {
    return this.zones.find((z) => z.id === id);
  }

  zonesOfType(type: ZoneConfig['type']): ZoneLayout[] {
    return this.zones.filter((z) => z.type === type);
  }

  /** Zones containing a floor point, in configuration order. */
  zonesAt(p: Vec2): ZoneLayout[] {
    return this.zones.filter((z) => pointInPolygon(p, z.polygon));
  }

  /** True when a point of the floor is inside a gondola's footprint (grown by `margin`). */
  blocked(p: Vec2, margin = 0): boolean {
    if (p.x < margin || p.y < margin || p.x > this.widthM - margin || p.y > this.depthM - margin) return true;
    return this.gondolas.some((g) => {
      const rel = { x: p.x - g.origin.x, y: p.y - g.origin.y };
      const u = rel.x * g.along.x + rel.y * g.along.y;
      const v = rel.x * g.inward.x + rel.y * g.inward.y;
      return u > -margin && u < g.widthM + margin && v > -margin && v < g.depthM + margin;
    });
  }

  private layOutGondola(g: GondolaConfig): GondolaLayout {
    const theta = (g.position.rotationDeg * Math.PI) / 180;
    const along = { x: Math.cos(theta), y: Math.sin(theta) };
    // Rotation 0: the front runs along +x, the body lies towards -y, shoppers stand at +y.
    const inward = { x: Math.sin(theta), y: -Math.cos(theta) };
    const origin = { x: g.position.x, y: g.position.y };
    const at = (u: number, v: number): Vec2 => ({ x: origin.x + along.x * u + inward.x * v, y: origin.y + along.y * u + inward.y * v });
    const { widthM, depthM } = g.position;
    const shelves = g.shelves.map((s): ShelfLayout => {
      let u = 0;
      const totalWidth = s.plates.reduce((sum, p) => sum + p.widthM, 0);
      // Plates are centred on the front when they do not fill it.
      u = Math.max(0, (widthM - totalWidth) / 2);
      const plates = s.plates.map((p, index): PlateLayout => {
        const u0 = u;
        const u1 = u + p.widthM;
        u = u1;
        const mid = (u0 + u1) / 2;
        return {
          key: `${g.id}.${s.id}.${p.id}`,
          gondola: g.id,
          shelf: s.id,
          plate: p.id,
          index,
          u0,
          u1,
          front: at(mid, 0),
          standAt: at(mid, -REACH_STAND_OFF_M),
          heightM: s.heightM,
          capacityGrams: p.capacityGrams,
        };
      });
      const shelf: ShelfLayout = { key: `${g.id}.${s.id}`, gondola: g.id, shelf: s.id, heightM: s.heightM, device: s.device, protocol: s.protocol, plates };
      this.shelves.set(shelf.key, shelf);
      for (const p of plates) this.plates.set(p.key, p);
      return shelf;
    });
    return {
      id: g.id,
      corners: [at(0, 0), at(widthM, 0), at(widthM, depthM), at(0, depthM)],
      along,
      inward,
      origin,
      widthM,
      depthM,
      heightM: GONDOLA_HEIGHT_M,
      shelves,
    };
  }
}

export function centroid(polygon: readonly Vec2[]): Vec2 {
  let x = 0;
  let y = 0;
  for (const p of polygon) {
    x += p.x;
    y += p.y;
  }
  return { x: x / polygon.length, y: y / polygon.length };
}

export function pointInPolygon(p: Vec2, polygon: readonly Vec2[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i]!;
    const b = polygon[j]!;
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}
