/**
 * The store's floor plan as plain data for the live page to draw: floor size, zones, gondolas
 * with their shelves and plates as floor polygons (metres, y down the plan). Shelves stack
 * vertically, so on the plan each shelf is a band of its gondola's footprint, front band first.
 */
import type { StoreConfig } from '../../../../device-config/schema.js';
import type { GondolaLayout, StoreLayout, Vec2 } from '../../sim/store-layout.js';

export type Point = [number, number];

export interface FloorPlan {
  widthM: number;
  depthM: number;
  zones: { id: string; name: string; type: string; polygon: Point[] }[];
  gondolas: {
    id: number;
    name: string;
    polygon: Point[];
    /** The edge shoppers face, from front-left to front-right. */
    front: [Point, Point];
    shelves: { key: string; polygon: Point[]; plates: { key: string; polygon: Point[] }[] }[];
  }[];
  gates: { id: string; kind: string; zone: string | null }[];
}

const round = (n: number): number => Math.round(n * 1000) / 1000;
const pt = (p: Vec2): Point => [round(p.x), round(p.y)];

export function floorPlan(config: StoreConfig, layout: StoreLayout): FloorPlan {
  const names = new Map(config.gondolas.map((g) => [g.id, g.name ?? `Gondola ${g.id}`]));
  return {
    widthM: layout.widthM,
    depthM: layout.depthM,
    zones: config.zones.map((z) => ({ id: z.id, name: z.name, type: z.type, polygon: z.polygon.map(([x, y]): Point => [x, y]) })),
    gondolas: layout.gondolas.map((g) => ({
      id: g.id,
      name: names.get(g.id) ?? `Gondola ${g.id}`,
      polygon: g.corners.map(pt),
      front: [pt(g.corners[0]), pt(g.corners[1])],
      shelves: g.shelves.map((s, i) => {
        const v0 = (g.depthM * i) / g.shelves.length;
        const v1 = (g.depthM * (i + 1)) / g.shelves.length;
        return {
          key: s.key,
          polygon: rect(g, 0, g.widthM, v0, v1),
          plates: s.plates.map((p) => ({ key: p.key, polygon: rect(g, p.u0, p.u1, v0, v1) })),
        };
      }),
    })),
    gates: config.gates.map((g) => ({ id: g.id, kind: g.kind, zone: g.zone ?? null })),
  };
}

/** A rectangle of a gondola's footprint: `u` along its front, `v` inward from the front. */
function rect(g: GondolaLayout, u0: number, u1: number, v0: number, v1: number): Point[] {
  const at = (u: number, v: number): Point => pt({ x: g.origin.x + g.along.x * u + g.inward.x * v, y: g.origin.y + g.along.y * u + g.inward.y * v });
  return [at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)];
}
