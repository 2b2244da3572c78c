import { describe, expect, it } from 'vitest';
import type { CameraConfig, StoreConfig } from '../../device-config/schema.js';
import { calibrationTruth, simCameraRig, SimCameraError, type SimCamera } from '../../edge-agent/src/sim/cameras/sim-camera.js';
import { StoreLayout } from '../../edge-agent/src/sim/store-layout.js';
import { demoConfig } from '../support/demo-config.js';

const config = demoConfig('/tmp/unused');
const layout = new StoreLayout(config);
const rig = simCameraRig(layout);
const overheads = rig.filter((c) => c.role === 'overhead');
const shelfCam = rig.find((c) => c.role === 'shelf')!;

const inside = (cam: SimCamera, x: number, y: number, z: number) => {
  const p = cam.project(x, y, z);
  return p !== undefined && p.u >= 0 && p.v >= 0 && p.u < cam.width && p.v < cam.height;
};

function withCameras(cameras: CameraConfig[], change: (c: StoreConfig) => StoreConfig = (c) => c): StoreLayout {
  return new StoreLayout(change({ ...config, cameras }));
}

describe('simulated camera rig', () => {
  it('has one camera per configured camera, with its size and frame rate', () => {
    expect(rig.map((c) => [c.id, c.role, c.width, c.height, c.fps])).toEqual(config.cameras.map((c) => [c.id, c.role, c.detectSize.width, c.detectSize.height, c.fps]));
  });

  it('covers the whole floor with the overhead cameras, overlapping where the strips meet', () => {
    const strip = layout.widthM / overheads.length;
    let points = 0;
    for (let x = 0.05; x < layout.widthM; x += 0.25) {
      for (let y = 0.05; y < layout.depthM; y += 0.25) {
        const seenBy = overheads.filter((c) => inside(c, x, y, 0));
        expect(seenBy.length, `floor point ${x.toFixed(2)}, ${y.toFixed(2)}`).toBeGreaterThanOrEqual(1);
        if (Math.abs(x - strip) < 0.15 * strip) expect(seenBy.length).toBe(2);
        points++;
      }
    }
    expect(points).toBeGreaterThan(1000);
    // Each camera's own strip, plus 15 % of the neighbour's, fits its image.
    const [west, east] = overheads as [SimCamera, SimCamera];
    const near = (r: SimCamera['covers']) => Object.values(r!).map((v) => Math.round(v * 1e9) / 1e9);
    expect(near(west.covers)).toEqual(near({ x0: 0, x1: strip * 1.15, y0: 0, y1: layout.depthM }));
    expect(near(east.covers)).toEqual(near({ x0: strip * 0.85, x1: layout.widthM, y0: 0, y1: layout.depthM }));
    for (const c of overheads) for (const [x, y] of [[c.covers!.x0, 0], [c.covers!.x1, layout.depthM]] as const) expect(inside(c, x, y, 0)).toBe(true);
  });

  it('looks straight down from 3.2 m: the point below a camera is the image centre, and floorAt inverts project', () => {
    for (const cam of overheads) {
      expect(cam.position.z).toBe(3.2);
      const centre = cam.project(cam.position.x, cam.position.y, 0)!;
      expect(centre).toEqual({ u: cam.width / 2, v: cam.height / 2, depth: 3.2 });
      expect(cam.project(cam.position.x, cam.position.y, 4)).toBeUndefined();
      const p = cam.project(2.2, 6.1, 0)!;
      const back = cam.floorAt(p.u, p.v)!;
      expect(back.x).toBeCloseTo(2.2, 9);
      expect(back.y).toBeCloseTo(6.1, 9);
      // Higher points lie further from the centre of the image: heads lean outwards.
      const head = cam.project(2.2, 6.1, 1.7)!;
      expect(Math.hypot(head.u - centre.u, head.v - centre.v)).toBeGreaterThan(Math.hypot(p.u - centre.u, p.v - centre.v));
    }
  });

  it('sees a floor point in the camera whose strip holds it', () => {
    const [west, east] = overheads as [SimCamera, SimCamera];
    expect(inside(west, 1, 7, 0)).toBe(true);
    expect(inside(east, 11, 1, 0)).toBe(true);
    expect(inside(west, 6, 4, 0) && inside(east, 6, 4, 0)).toBe(true);
    // x grows to the right of the image, y down it, like the floor plan.
    const a = west.project(2, 3, 0)!;
    const b = west.project(3, 4, 0)!;
    expect(b.u).toBeGreaterThan(a.u);
    expect(b.v).toBeGreaterThan(a.v);
  });

  it('gives calibration points that are well spread, visible and agree with the projection', () => {
    for (const cam of overheads) {
      const truth = calibrationTruth(cam, layout)!;
      expect(truth).toMatchObject({ camera: cam.id, width: cam.width, height: cam.height });
      expect(truth.pairs.length).toBeGreaterThanOrEqual(8);
      const xs = truth.pairs.map((p) => p.floor[0]);
      const ys = truth.pairs.map((p) => p.floor[1]);
      expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThan(0.5 * (cam.covers!.x1 - cam.covers!.x0));
      expect(Math.max(...ys) - Math.min(...ys)).toBeGreaterThan(0.5 * layout.depthM);
      for (const pair of truth.pairs) {
        const p = cam.project(pair.floor[0], pair.floor[1], 0)!;
        expect(p.u).toBeCloseTo(pair.image[0], 2);
        expect(p.v).toBeCloseTo(pair.image[1], 2);
        expect(inside(cam, pair.floor[0], pair.floor[1], 0)).toBe(true);
        expect(layout.blocked({ x: pair.floor[0], y: pair.floor[1] })).toBe(false);
      }
    }
    expect(calibrationTruth(shelfCam, layout)).toBeUndefined();
  });

  it('puts the shelf camera 2.2 m in front of its gondola at 1.1 m, seeing every plate of it', () => {
    const g = layout.gondolas.find((x) => x.id === 2)!;
    expect(shelfCam.gondola).toBe(2);
    expect(shelfCam.position.z).toBe(1.1);
    const mid = { x: g.origin.x + (g.along.x * g.widthM) / 2, y: g.origin.y + (g.along.y * g.widthM) / 2 };
    expect(Math.hypot(shelfCam.position.x - mid.x, shelfCam.position.y - mid.y)).toBeCloseTo(2.2, 9);
    // On the shoppers' side: standing spots are nearer the camera than the gondola is.
    const plate = layout.plates.get('2.1.1')!;
    expect(shelfCam.project(plate.standAt.x, plate.standAt.y, 1)!.depth).toBeLessThan(shelfCam.project(plate.front.x, plate.front.y, 1)!.depth);
    const at = (u: number, z: number): [number, number, number] => [g.origin.x + g.along.x * u, g.origin.y + g.along.y * u, z];
    for (const shelf of g.shelves) {
      for (const p of shelf.plates) {
        for (const u of [p.u0, p.u1]) for (const z of [p.heightM, p.heightM + 0.25]) expect(inside(shelfCam, ...at(u, z)), `${p.key} at u=${u}, z=${z}`).toBe(true);
      }
    }
    expect(inside(shelfCam, ...at(0, 0))).toBe(true);
    expect(inside(shelfCam, ...at(g.widthM, 1.9))).toBe(true);
    // Plates numbered from the shopper's left appear from the image's left.
    expect(shelfCam.project(...at(layout.plates.get('2.1.1')!.u0, 0.3))!.u).toBeLessThan(shelfCam.project(...at(layout.plates.get('2.1.6')!.u1, 0.3))!.u);
  });

  it('aims an entrance camera at the first entry zone', () => {
    const entrance: CameraConfig = { id: 'cam-door', role: 'entrance', url: 'sim://door', fps: 5, detectSize: { width: 320, height: 240 } };
    const [cam] = simCameraRig(withCameras([entrance]));
    const zone = layout.zonesOfType('entry')[0]!;
    const centre = cam!.project(zone.centroid.x, zone.centroid.y, 0)!;
    expect(centre.u).toBeCloseTo(160, 6);
    expect(centre.v).toBeCloseTo(120, 6);
    for (const p of zone.polygon) expect(inside(cam!, p.x, p.y, 0)).toBe(true);
    expect(calibrationTruth(cam!, layout)!.pairs.length).toBeGreaterThanOrEqual(8);
  });

  it('explains a camera it cannot place', () => {
    const entrance: CameraConfig = { id: 'cam-door', role: 'entrance', url: 'sim://door', fps: 5, detectSize: { width: 320, height: 240 } };
    expect(() => simCameraRig(withCameras([entrance], (c) => ({ ...c, zones: c.zones.filter((z) => z.type !== 'entry') })))).toThrow(SimCameraError);
    expect(() => simCameraRig(withCameras([entrance], (c) => ({ ...c, zones: c.zones.filter((z) => z.type !== 'entry') })))).toThrow(/cam-door.*entry/);
    const blind: CameraConfig = { id: 'cam-blind', role: 'shelf', url: 'sim://blind', fps: 5, detectSize: { width: 320, height: 240 } };
    expect(() => simCameraRig(withCameras([blind]))).toThrow(/cam-blind.*shelves/);
    expect(() => simCameraRig(withCameras([{ ...blind, shelves: ['9.1'] }]))).toThrow(/cam-blind: shelf 9.1/);
  });
});
