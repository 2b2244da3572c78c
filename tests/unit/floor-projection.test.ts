import { describe, expect, it } from 'vitest';
import { solveFloorHomography, type CalibrationPair, type CameraCalibration } from '../../calibration/camera-homography.js';
import { ErrorCode, isEdgeError } from '../../edge-agent/src/errors.js';
import { FloorProjector, type ImageBox } from '../../edge-agent/src/vision/floor-projection.js';
import { calibrationTruth, OVERHEAD_MOUNT_M, simCameraRig, type Projection, type SimCamera } from '../../edge-agent/src/sim/cameras/sim-camera.js';
import { StoreLayout } from '../../edge-agent/src/sim/store-layout.js';
import { demoConfig } from '../support/demo-config.js';

const layout = new StoreLayout(demoConfig('/tmp/unused'));
const overheads = simCameraRig(layout).filter((c) => c.role === 'overhead');

type Viewer = Pick<SimCamera, 'id' | 'width' | 'height' | 'project'>;

function calibrate(camera: Viewer, pairs: CalibrationPair[]): CameraCalibration {
  return {
    ...solveFloorHomography(pairs),
    version: 1,
    camera: camera.id,
    imageSize: { width: camera.width, height: camera.height },
    createdAt: '2026-03-01T10:00:00.000Z',
    operator: 'test',
  };
}

/**
 * The box a detector would draw around a shopper of height h standing at (x, y) and facing
 * `heading`: the extremes of the body the simulator's renderer draws — feet side by side, hips,
 * shoulders with the arms hanging beside them (0.27 m to each side, 0.13 m front to back), head
 * and crown. Undefined when the body leaves the image.
 */
function personBox(camera: Viewer, x: number, y: number, h: number, heading = 0): ImageBox | undefined {
  // [height, half-depth front to back, half-width side to side]
  const rings: [number, number, number][] = [[0.02, 0.13, 0.15], [0.52 * h, 0.12, 0.17], [0.82 * h, 0.13, 0.27], [h - 0.11, 0.1, 0.085], [h, 0.05, 0.05]];
  const [fx, fy] = [Math.cos(heading), Math.sin(heading)];
  const box = { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity };
  for (const [z, front, side] of rings) {
    for (let k = 0; k < 24; k++) {
      const a = (k / 24) * 2 * Math.PI;
      const [along, across] = [front * Math.cos(a), side * Math.sin(a)];
      const p = camera.project(x + along * fx - across * fy, y + along * fy + across * fx, z);
      if (!p) return undefined;
      box.x1 = Math.min(box.x1, p.u);
      box.x2 = Math.max(box.x2, p.u);
      box.y1 = Math.min(box.y1, p.v);
      box.y2 = Math.max(box.y2, p.v);
    }
  }
  return box.x1 >= 0 && box.y1 >= 0 && box.x2 <= camera.width && box.y2 <= camera.height ? box : undefined;
}

/** Floor positions, every 0.25 m, where a whole shopper of height h is in the camera's view. */
function standingSpots(camera: Viewer, h: number): { x: number; y: number; box: ImageBox }[] {
  const spots: { x: number; y: number; box: ImageBox }[] = [];
  for (let x = 0.25; x < layout.widthM; x += 0.25) {
    for (let y = 0.25; y < layout.depthM; y += 0.25) {
      // Each spot faces another way (golden-angle steps), as shoppers do.
      const box = personBox(camera, x, y, h, spots.length * 2.39996);
      if (box) spots.push({ x, y, box });
    }
  }
  return spots;
}

function errors(projector: FloorProjector, spots: ReturnType<typeof standingSpots>): number[] {
  const out = { x: 0, y: 0 };
  return spots.map((s) => {
    projector.project(s.box, out);
    return Math.hypot(out.x - s.x, out.y - s.y);
  });
}

const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;
const fmt = (values: number[]) => `median ${quantile(values, 0.5).toFixed(3)} m, p95 ${quantile(values, 0.95).toFixed(3)} m, max ${Math.max(...values).toFixed(3)} m`;

describe('FloorProjector on the demo store’s overhead cameras', () => {
  it('maps floor marks back onto the floor after calibrating from the simulator’s marks', () => {
    for (const camera of overheads) {
      const cal = calibrate(camera, calibrationTruth(camera, layout)!.pairs);
      expect(cal.rmsErrorM).toBeLessThan(1e-4);
      const projector = new FloorProjector(cal, { role: 'overhead', anchor: 'foot' });
      for (const [x, y] of [[camera.position.x, camera.position.y], [camera.covers!.x0 + 0.4, 0.5], [camera.covers!.x1 - 0.4, 7.5]] as const) {
        const p = camera.project(x, y, 0)!;
        const floor = projector.projectImagePoint(p.u, p.v);
        expect(floor.x).toBeCloseTo(x, 3);
        expect(floor.y).toBeCloseTo(y, 3);
      }
    }
  });

  it('puts a 1.7 m shopper’s box centre within 0.1 m of where they stand when the mount height is known', () => {
    // 0.1 m: the body is not a vertical line — shoulders and arms (0.27 m) are wider than the feet
    // (0.13 m), which moves the box centre a few centimetres off the ideal mid-point.
    for (const camera of overheads) {
      const cal = { ...calibrate(camera, calibrationTruth(camera, layout)!.pairs), mount: { heightM: OVERHEAD_MOUNT_M } };
      const spots = standingSpots(camera, 1.7);
      expect(spots.length).toBeGreaterThan(300);
      const e = errors(new FloorProjector(cal, { role: 'overhead' }), spots);
      console.log(`${camera.id}, 1.7 m shopper, box centre with parallax undone: ${fmt(e)} over ${spots.length} spots`);
      expect(Math.max(...e)).toBeLessThan(0.1);
      // Shoppers are 1.5–1.95 m: assuming 1.7 m costs a fraction of their distance from the nadir.
      for (const h of [1.55, 1.9]) {
        const other = errors(new FloorProjector(cal, { role: 'overhead' }), standingSpots(camera, h));
        console.log(`${camera.id}, ${h} m shopper projected as 1.7 m: ${fmt(other)}`);
        expect(Math.max(...other)).toBeLessThan(0.35);
      }
    }
  });

  it('without the mount height, the box centre drifts outwards with the distance from the point under the camera', () => {
    for (const camera of overheads) {
      const cal = calibrate(camera, calibrationTruth(camera, layout)!.pairs);
      const spots = standingSpots(camera, 1.7);
      const raw = errors(new FloorProjector(cal, { role: 'overhead' }), spots);
      const feet = errors(new FloorProjector(cal, { role: 'overhead', anchor: 'foot' }), spots);
      console.log(`${camera.id}, box centre as is: ${fmt(raw)}; box point nearest the nadir: ${fmt(feet)}`);
      // 3.2 m mount, 1.7 m shopper: the head is seen 3.2 / 1.5 ≈ 2.13 times as far out as the
      // feet, the box centre about (1 + 2.13) / 2 ≈ 1.57 times: 0.57 m off per metre of distance.
      spots.forEach((s, i) => {
        const d = Math.hypot(s.x - camera.position.x, s.y - camera.position.y);
        expect(raw[i]!).toBeGreaterThan(0.5 * d - 0.1);
        expect(raw[i]!).toBeLessThan(0.65 * d + 0.1);
      });
      // The feet are the part of the blob nearest the nadir; off by about the leg's radius.
      expect(Math.max(...feet)).toBeLessThan(0.35);
      expect(quantile(feet, 0.5)).toBeLessThan(0.25);
    }
  });

  it('projects into the caller’s point without allocating one, fast enough for every track of every frame', () => {
    const camera = overheads[0]!;
    const projector = new FloorProjector({ ...calibrate(camera, calibrationTruth(camera, layout)!.pairs), mount: { heightM: OVERHEAD_MOUNT_M } }, { role: 'overhead' });
    const box = personBox(camera, 2, 3, 1.7)!;
    const out = { x: 0, y: 0 };
    expect(projector.project(box, out)).toBe(out);
    const n = 200_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) projector.project(box, out);
    const ns = ((performance.now() - t0) * 1e6) / n;
    console.log(`floor projection: ${ns.toFixed(0)} ns per box`);
    expect(ns).toBeLessThan(2_000);
  });
});

/**
 * An entrance camera on the front wall, 2.8 m up, looking into the store and 35° down: an oblique
 * view in which shoppers' feet are visible.
 */
function entranceCamera(): Viewer & { position: { x: number; y: number; z: number } } {
  const tilt = (35 * Math.PI) / 180;
  const position = { x: 6, y: 8.3, z: 2.8 };
  const forward = { x: 0, y: -Math.cos(tilt), z: -Math.sin(tilt) };
  const right = { x: -1, y: 0, z: 0 };
  const down = { x: 0, y: Math.sin(tilt), z: -Math.cos(tilt) };
  const focal = 420;
  const dot = (a: { x: number; y: number; z: number }, x: number, y: number, z: number) => a.x * x + a.y * y + a.z * z;
  return {
    id: 'cam-entrance',
    width: 640,
    height: 360,
    position,
    project(x: number, y: number, z: number): Projection | undefined {
      const [dx, dy, dz] = [x - position.x, y - position.y, z - position.z];
      const depth = dot(forward, dx, dy, dz);
      if (depth <= 1e-6) return undefined;
      return { u: 320 + (focal * dot(right, dx, dy, dz)) / depth, v: 180 + (focal * dot(down, dx, dy, dz)) / depth, depth };
    },
  };
}

describe('FloorProjector on an oblique entrance camera', () => {
  const camera = entranceCamera();
  const marks: CalibrationPair[] = [];
  for (let x = 2; x <= 10; x += 1) {
    for (let y = 1; y <= 7; y += 1) {
      const p = camera.project(x, y, 0);
      if (p && p.u > 2 && p.v > 2 && p.u < 638 && p.v < 358) marks.push({ image: [p.u, p.v], floor: [x, y] });
    }
  }
  const cal = calibrate(camera, marks);

  it('puts a shopper at the bottom centre of their box, within 0.4 m', () => {
    expect(marks.length).toBeGreaterThan(15);
    const projector = new FloorProjector(cal, { role: 'entrance' });
    expect(projector.anchor).toBe('foot');
    const spots = standingSpots(camera, 1.7);
    expect(spots.length).toBeGreaterThan(100);
    const e = errors(projector, spots);
    // The box's bottom edge is the front of the feet (0.13–0.15 m towards the camera), and off the
    // optical axis the box's middle column leans with the body (verticals converge below the
    // image), adding up to 0.2 m sideways at the edges of the view.
    console.log(`entrance camera, bottom centre: ${fmt(e)} over ${spots.length} spots`);
    expect(Math.max(...e)).toBeLessThan(0.4);
    expect(quantile(e, 0.5)).toBeLessThan(0.25);
    // Height does not matter for the feet.
    expect(Math.max(...errors(projector, standingSpots(camera, 1.9)))).toBeLessThan(0.4);
    // The box centre is not on the floor: projected as if it were, it lands far beyond the shopper.
    const centre = errors(new FloorProjector(cal, { role: 'entrance', anchor: 'centre' }), spots);
    expect(quantile(centre, 0.5)).toBeGreaterThan(1);
  });

  it('follows the body’s axis to the feet, and undoes the parallax of the head, when the camera’s position is known', () => {
    const spots = standingSpots(camera, 1.7);
    const mount = { heightM: 2.8, x: 6, y: 8.3 };
    const foot = errors(new FloorProjector(cal, { role: 'entrance', mount }), spots);
    const head = errors(new FloorProjector(cal, { role: 'entrance', anchor: 'head', mount }), spots);
    console.log(`entrance camera, feet on the body axis: ${fmt(foot)}; head with parallax undone: ${fmt(head)}`);
    // What is left of the feet is their front edge; of the head, the crown's radius.
    expect(Math.max(...foot)).toBeLessThan(0.2);
    expect(Math.max(...head)).toBeLessThan(0.15);
  });

  it('refuses calibrations and mounts it cannot use, with a clear error', () => {
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (err) {
        return isEdgeError(err) ? `${err.code}: ${err.message}` : String(err);
      }
      return 'no error';
    };
    expect(code(() => new FloorProjector({ ...cal, homography: [1, 0, 0, 0, 1, 0, 0, 0, Number.NaN] }, { role: 'overhead' }))).toBe(
      `${ErrorCode.VisionCalibrationInvalid}: camera cam-entrance: the homography must be 9 finite numbers`,
    );
    expect(code(() => new FloorProjector(cal, { role: 'entrance', mount: { heightM: 2.8 } }))).toMatch(/oblique camera needs the floor point under its lens/);
    expect(code(() => new FloorProjector(cal, { role: 'overhead', mount: { heightM: 1.5 } }))).toMatch(/mounted at 1.5 m, not above a 1.7 m shopper/);
  });
});
