import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  mapPoint,
  readCalibrationPoints,
  readCameraCalibration,
  scaledTo,
  solveFloorHomography,
  writeCameraCalibration,
  type CalibrationPair,
  type CameraCalibration,
} from '../../calibration/camera-homography.js';
import { ErrorCode, isEdgeError } from '../../edge-agent/src/errors.js';
import { Random } from '../../edge-agent/src/sim/random.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

/** Floor → image of a camera looking obliquely down an aisle: a full perspective map. */
const FLOOR_TO_IMAGE = [62, -14, 180, 3, 25, 40, 0.004, 0.06, 1];

function toImage(x: number, y: number): [number, number] {
  const p = { x: 0, y: 0 };
  mapPoint(FLOOR_TO_IMAGE, x, y, p);
  return [p.x, p.y];
}

/** A 6 × 5 grid of floor marks, 0.8 m apart, and where the camera sees them. */
function gridPairs(): CalibrationPair[] {
  const pairs: CalibrationPair[] = [];
  for (let j = 0; j < 5; j++) for (let i = 0; i < 6; i++) pairs.push({ image: toImage(1 + 0.8 * i, 1 + 0.8 * j), floor: [1 + 0.8 * i, 1 + 0.8 * j] });
  return pairs;
}

function calibrationError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (isEdgeError(err, ErrorCode.VisionCalibrationInvalid)) return err.message;
    throw err;
  }
  throw new Error('expected VisionCalibrationInvalid');
}

function asCamera(pairs: CalibrationPair[], width = 640, height = 360): CameraCalibration {
  return { ...solveFloorHomography(pairs), version: 1, camera: 'cam-aisle', imageSize: { width, height }, createdAt: '2026-03-01T10:00:00.000Z', operator: 'alice' };
}

describe('solveFloorHomography', () => {
  it('recovers a known homography from exact pairs with no error', () => {
    const cal = solveFloorHomography(gridPairs());
    expect(cal.inliers).toBe(30);
    expect(cal.pairs.every((p) => p.inlier)).toBe(true);
    expect(cal.rmsErrorM).toBeLessThan(1e-6);
    expect(cal.maxErrorPx).toBeLessThan(1e-4);
    expect(cal.homography[8]).toBe(1);
    // Anywhere on the floor, not only at the marks: image → floor → image is the identity.
    const p = { x: 0, y: 0 };
    for (const [x, y] of [[0.3, 4.9], [5.5, 0.2], [2.71, 3.14]] as const) {
      const [u, v] = toImage(x, y);
      mapPoint(cal.homography, u, v, p);
      expect(p.x).toBeCloseTo(x, 6);
      expect(p.y).toBeCloseTo(y, 6);
      mapPoint(cal.inverse, x, y, p);
      expect(p.x).toBeCloseTo(u, 4);
      expect(p.y).toBeCloseTo(v, 4);
    }
  });

  it('reports an error of the size of the noise in the marks', () => {
    const random = new Random(3);
    const sigma = 0.02;
    const noisy = gridPairs().map((p) => ({ image: p.image, floor: [p.floor[0] + random.normal(0, sigma), p.floor[1] + random.normal(0, sigma)] as [number, number] }));
    const cal = solveFloorHomography(noisy);
    expect(cal.inliers).toBe(30);
    // The 2-D residual of a fit with 8 parameters to 60 coordinates: about σ·√2·√(52/60) ≈ 1.3 σ.
    expect(cal.rmsErrorM).toBeGreaterThan(0.8 * sigma);
    expect(cal.rmsErrorM).toBeLessThan(1.8 * sigma);
    expect(cal.maxErrorM).toBeLessThan(5 * sigma);
    expect(cal.rmsErrorPx).toBeGreaterThan(0);
  });

  it('rejects a wildly wrong mark with RANSAC and reports it', () => {
    const pairs = gridPairs();
    pairs[7] = { image: pairs[7]!.image, floor: [pairs[7]!.floor[0] + 1.5, pairs[7]!.floor[1]] };
    const cal = solveFloorHomography(pairs);
    expect(cal.inliers).toBe(29);
    expect(cal.pairs.map((p, i) => (p.inlier ? -1 : i)).filter((i) => i >= 0)).toEqual([7]);
    expect(cal.pairs[7]!.errorM).toBeCloseTo(1.5, 3);
    expect(cal.rmsErrorM).toBeLessThan(1e-6);
    expect(cal.maxErrorM).toBeLessThan(1e-6);
  });

  it('refuses too few, non-finite, duplicate and collinear points with a clear error', () => {
    const pairs = gridPairs();
    expect(calibrationError(() => solveFloorHomography(pairs.slice(0, 3)))).toMatch(/at least 4 point pairs, got 3/);
    const nan = pairs.map((p, i) => (i === 4 ? { image: [Number.NaN, 10] as [number, number], floor: p.floor } : p));
    expect(calibrationError(() => solveFloorHomography(nan))).toMatch(/pair 5: image u is not a finite number/);
    const infinite = pairs.map((p, i) => (i === 2 ? { image: p.image, floor: [1, Infinity] as [number, number] } : p));
    expect(calibrationError(() => solveFloorHomography(infinite))).toMatch(/pair 3: floor y is not a finite number/);
    const duplicate = [...pairs.slice(0, 5), pairs[2]!];
    expect(calibrationError(() => solveFloorHomography(duplicate))).toMatch(/pairs 3 and 6 mark the same image point/);
    const row = pairs.slice(0, 6);
    expect(calibrationError(() => solveFloorHomography(row))).toMatch(/lie on \(nearly\) one line/);
    // Nearly collinear: a 4 m line whose points wander by a millimetre.
    const thin = [0, 1, 2, 3, 4].map((i) => ({ image: toImage(1 + i, 2 + (i % 2) * 0.001), floor: [1 + i, 2 + (i % 2) * 0.001] as [number, number] }));
    expect(calibrationError(() => solveFloorHomography(thin))).toMatch(/one line/);
    expect(calibrationError(() => solveFloorHomography(pairs, { ransacThresholdM: -1 }))).toMatch(/RANSAC threshold/);
  });

  it('refuses marks that no single floor plane explains', () => {
    const random = new Random(9);
    const scattered = gridPairs().map((p) => ({ image: p.image, floor: [random.between(0, 6), random.between(0, 6)] as [number, number] }));
    expect(calibrationError(() => solveFloorHomography(scattered, { ransacThresholdM: 0.05 }))).toMatch(/agree on one floor plane|degenerate|horizon/);
  });
});

describe('calibration files', () => {
  it('round-trips a calibration through its file', () => {
    const dir = tempDir();
    const cal = { ...asCamera(gridPairs()), mount: { heightM: 3.1 } };
    const file = join(dir, 'nested', 'cam-aisle.json');
    writeCameraCalibration(file, cal);
    const read = readCameraCalibration(file);
    expect(read).toEqual(cal);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ version: 1, camera: 'cam-aisle', imageSize: { width: 640, height: 360 }, operator: 'alice' });
  });

  it('names the file and the JSON path of what is wrong in it', () => {
    const dir = tempDir();
    const file = join(dir, 'cam.json');
    const good = JSON.parse(JSON.stringify(asCamera(gridPairs()))) as Record<string, any>;
    const attempt = (doc: unknown) => {
      writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
      return calibrationError(() => readCameraCalibration(file));
    };
    expect(attempt({ ...good, homography: [1, 2, 3, 'x', 5, 6, 7, 8, 9] })).toContain(`${file}: /homography/3: must be number`);
    expect(attempt({ ...good, colour: 'red' })).toContain(`${file}: /colour: unknown key`);
    const { camera: _camera, ...nameless } = good;
    expect(attempt(nameless)).toContain(`${file}: /camera: required`);
    expect(attempt({ ...good, version: 7 })).toContain(`${file}: /version: 7 was written by a newer agent`);
    expect(attempt({ ...good, inverse: good['homography'] })).toContain(`${file}: /inverse: is not the inverse of /homography`);
    expect(attempt('{"version": 1,')).toContain(`${file}: not valid JSON`);
    expect(calibrationError(() => readCameraCalibration(join(dir, 'absent.json')))).toContain('absent.json: cannot read (ENOENT)');
  });

  it('rescales a calibration to another detect size', () => {
    const cal = asCamera(gridPairs(), 1280, 720);
    const half = scaledTo(cal, 640, 360);
    expect(half.imageSize).toEqual({ width: 640, height: 360 });
    expect(half.rmsErrorPx).toBeLessThan(1e-4);
    expect(half.pairs[0]!.image).toEqual([cal.pairs[0]!.image[0] / 2, cal.pairs[0]!.image[1] / 2]);
    const a = { x: 0, y: 0 };
    const b = { x: 0, y: 0 };
    for (const [u, v] of [[100, 80], [600, 300], [1000, 20]] as const) {
      mapPoint(cal.homography, u, v, a);
      mapPoint(half.homography, u / 2, v / 2, b);
      expect(b.x).toBeCloseTo(a.x, 9);
      expect(b.y).toBeCloseTo(a.y, 9);
      mapPoint(half.inverse, a.x, a.y, b);
      expect(b.x).toBeCloseTo(u / 2, 6);
      expect(b.y).toBeCloseTo(v / 2, 6);
    }
    // A stretch to another aspect ratio, as ffmpeg scales to the detect size.
    const wide = scaledTo(cal, 640, 480);
    mapPoint(wide.homography, 50, 40, b);
    mapPoint(cal.homography, 100, 60, a);
    expect(b.x).toBeCloseTo(a.x, 9);
    expect(b.y).toBeCloseTo(a.y, 9);
    expect(scaledTo(cal, 1280, 720)).toBe(cal);
    expect(calibrationError(() => scaledTo(cal, 0, 720))).toMatch(/cannot scale the calibration to 0×720/);
  });
});

describe('point-pair files', () => {
  it('reads CSV with a header in any column order, comments and blank lines', () => {
    const dir = tempDir();
    const file = join(dir, 'marks.csv');
    writeFileSync(file, '# marks of the aisle camera\nx,y,u,v\n1.0,2.0,100.5,200\n\n3,4,300,400 # by the door\n');
    expect(readCalibrationPoints(file)).toEqual({
      pairs: [
        { image: [100.5, 200], floor: [1, 2] },
        { image: [300, 400], floor: [3, 4] },
      ],
    });
    writeFileSync(file, '10,20,1,2\n30,40,3,4\n');
    expect(readCalibrationPoints(file).pairs[1]).toEqual({ image: [30, 40], floor: [3, 4] });
  });

  it('names the file and line of a bad CSV line', () => {
    const dir = tempDir();
    const file = join(dir, 'marks.csv');
    writeFileSync(file, 'u,v,x,y\n1,2,3,4\n# comment\n5,6,seven,8\n');
    expect(calibrationError(() => readCalibrationPoints(file))).toBe(`${file}:4: x is not a number ("seven")`);
    writeFileSync(file, '1,2,3,4\n5,6,7\n');
    expect(calibrationError(() => readCalibrationPoints(file))).toBe(`${file}:2: expected 4 values u,v,x,y, got 3`);
    writeFileSync(file, 'a,b,c,d\n1,2,3,4\n');
    expect(calibrationError(() => readCalibrationPoints(file))).toMatch(/marks\.csv:1: the header must name the columns u, v, x and y/);
  });

  it('reads JSON with an image size, or the simulator ground truth, and names bad JSON paths', () => {
    const dir = tempDir();
    const file = join(dir, 'marks.json');
    const pairs = gridPairs().slice(0, 5);
    writeFileSync(file, JSON.stringify({ imageSize: { width: 640, height: 360 }, pairs }));
    expect(readCalibrationPoints(file)).toEqual({ pairs, imageSize: { width: 640, height: 360 } });
    writeFileSync(file, JSON.stringify({ camera: 'cam-overhead-1', width: 640, height: 360, pairs }));
    expect(readCalibrationPoints(file)).toEqual({ pairs, imageSize: { width: 640, height: 360 }, camera: 'cam-overhead-1' });
    writeFileSync(file, JSON.stringify({ pairs: [pairs[0], { image: [1, 2], floor: [3, 'four'] }] }));
    expect(calibrationError(() => readCalibrationPoints(file))).toBe(`${file}: /pairs/1/floor/1: must be a finite number`);
    writeFileSync(file, JSON.stringify({ imageSize: { width: 640 }, pairs }));
    expect(calibrationError(() => readCalibrationPoints(file))).toBe(`${file}: /imageSize/height: must be a positive integer`);
  });
});
