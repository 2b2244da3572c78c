/**
 * A camera's floor homography: the plane-to-plane map from image pixels to store floor metres,
 * solved from point pairs an installer marked (tape crosses on the floor and where they appear in
 * the image). RANSAC drops a mis-clicked pair instead of letting it bend the whole map; every
 * pair keeps its error so the installer can see which mark to redo.
 *
 * The file `edge-agent calibrate camera` writes is versioned JSON that carries the image size the
 * points were measured in, so a camera whose detect size changes later is rescaled, not redone.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse as parseCsv } from 'csv-parse/sync';
import Type from 'typebox';
import { EdgeError, ErrorCode } from '../edge-agent/src/errors.js';
import { opencv } from '../edge-agent/src/vision/opencv.js';

export const CAMERA_CALIBRATION_VERSION = 1;
/** A mark a pixel or two off at the far end of an oblique view is still an inlier. */
export const DEFAULT_RANSAC_THRESHOLD_M = 0.15;
/** Points thinner than this (spread across / spread along their main line) count as collinear. */
const MIN_SPREAD_RATIO = 0.02;

export interface CalibrationPair {
  /** Image point [u, v], pixels. */
  image: [number, number];
  /** Floor point [x, y], metres on the floor plan. */
  floor: [number, number];
}

export interface FittedPair extends CalibrationPair {
  /** Whether RANSAC kept the pair; outliers are reported, not used. */
  inlier: boolean;
  /** Distance between the mapped image point and the marked floor point, metres. */
  errorM: number;
  /** Distance between the mapped floor point and the marked image point, pixels. */
  errorPx: number;
}

/** Row-major 3×3 matrix. */
export type Homography = readonly number[];

export interface FloorCalibration {
  /** Image → floor, row-major, normalised so the last element is 1. */
  homography: Homography;
  /** Floor → image. */
  inverse: Homography;
  pairs: FittedPair[];
  inliers: number;
  /** Over the inliers. */
  rmsErrorM: number;
  maxErrorM: number;
  rmsErrorPx: number;
  maxErrorPx: number;
  ransacThresholdM: number;
}

export interface ImageSize {
  width: number;
  height: number;
}

/**
 * Where the camera hangs: height above the floor and, for cameras that do not look straight down,
 * the floor point under the lens. Lets projection undo the parallax of heads and bodies.
 */
export interface CameraMount {
  heightM: number;
  x?: number;
  y?: number;
}

export interface CameraCalibration extends FloorCalibration {
  version: number;
  camera: string;
  /** The image size the pairs were measured in. */
  imageSize: ImageSize;
  mount?: CameraMount;
  /** ISO 8601. */
  createdAt: string;
  operator: string;
}

const invalid = (message: string) => new EdgeError(ErrorCode.VisionCalibrationInvalid, message);

// --- solving ---------------------------------------------------------------------------------

export function solveFloorHomography(pairs: readonly CalibrationPair[], options: { ransacThresholdM?: number } = {}): FloorCalibration {
  const threshold = options.ransacThresholdM ?? DEFAULT_RANSAC_THRESHOLD_M;
  if (!(threshold > 0) || !Number.isFinite(threshold)) throw invalid(`the RANSAC threshold must be a positive number of metres, got ${threshold}`);
  if (!Array.isArray(pairs) || pairs.length < 4) throw invalid(`a floor homography needs at least 4 point pairs, got ${Array.isArray(pairs) ? pairs.length : 0}`);
  pairs.forEach(checkPair);
  checkDistinct(pairs, 'image', 0.5, 'px');
  checkDistinct(pairs, 'floor', 0.005, 'm');
  checkSpread(pairs.map((p) => p.image), 'image');
  checkSpread(pairs.map((p) => p.floor), 'floor');

  // RANSAC keeps the inliers of its best minimal sample; the refined fit can include marks that
  // sample missed, so inliers are re-judged against the refined map until they settle.
  let fit = findHomography(pairs, threshold, true);
  let fitted = fitPairs(pairs, fit.homography, fit.inverse, (i) => fit.mask[i] !== 0);
  for (let round = 0; round < 3; round++) {
    const current = fitted.map((p) => p.errorM <= threshold);
    if (current.every((v, i) => v === fitted[i]!.inlier) || current.filter(Boolean).length < 4) break;
    const chosen = pairs.filter((_, i) => current[i]);
    fit = findHomography(chosen, threshold, false);
    fitted = fitPairs(pairs, fit.homography, fit.inverse, (i) => current[i]!);
  }
  const { homography, inverse } = fit;
  const kept = fitted.filter((p) => p.inlier);
  const needed = Math.max(4, Math.ceil(pairs.length / 2));
  if (kept.length < needed) throw invalid(`only ${kept.length} of ${pairs.length} pairs agree on one floor plane within ${threshold} m (at least ${needed} must): check the marks`);
  checkSpread(kept.map((p) => p.image), 'inlying image');
  // A plane's horizon must not cut through the marked points: every inlier maps from the same side.
  const signs = new Set(kept.map((p) => Math.sign(homography[6]! * p.image[0] + homography[7]! * p.image[1] + homography[8]!)));
  if (signs.size !== 1 || signs.has(0)) throw invalid('the homography solve failed: the floor horizon passes through the marked points');
  return { homography, inverse, pairs: fitted, ...summarise(fitted), ransacThresholdM: threshold };
}

function findHomography(pairs: readonly CalibrationPair[], threshold: number, ransac: boolean): { homography: number[]; inverse: number[]; mask: Buffer } {
  const cv = opencv();
  let solved: ReturnType<typeof cv.findHomography>;
  try {
    solved = cv.findHomography(
      pairs.map((p) => new cv.Point2(p.image[0], p.image[1])),
      pairs.map((p) => new cv.Point2(p.floor[0], p.floor[1])),
      ransac ? cv.RANSAC : 0,
      threshold,
      2000,
      0.999,
    );
  } catch (err) {
    throw new EdgeError(ErrorCode.VisionCalibrationInvalid, 'the homography solve failed', { cause: err });
  }
  if (solved.homography.rows !== 3 || solved.homography.cols !== 3) throw invalid('the homography solve failed: the points do not determine a floor plane');
  const homography = normalised(solved.homography.getDataAsArray().flat());
  const inverse = homography && invert(homography);
  if (!homography || !inverse) throw invalid('the homography solve failed: the result is degenerate (are the points in general position?)');
  return { homography, inverse, mask: solved.mask.getData() };
}

function checkPair(pair: CalibrationPair, i: number): void {
  for (const key of ['image', 'floor'] as const) {
    const point = (pair as Partial<CalibrationPair> | undefined)?.[key];
    if (!Array.isArray(point) || point.length !== 2) throw invalid(`pair ${i + 1}: ${key} must be two numbers`);
    point.forEach((value, axis) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw invalid(`pair ${i + 1}: ${key} ${key === 'image' ? 'uv'[axis] : 'xy'[axis]} is not a finite number (${String(value)})`);
      }
    });
  }
}

function checkDistinct(pairs: readonly CalibrationPair[], key: 'image' | 'floor', tolerance: number, unit: string): void {
  for (let i = 0; i < pairs.length; i++) {
    for (let j = i + 1; j < pairs.length; j++) {
      const a = pairs[i]![key];
      const b = pairs[j]![key];
      if (Math.hypot(a[0] - b[0], a[1] - b[1]) < tolerance) {
        throw invalid(`pairs ${i + 1} and ${j + 1} mark the same ${key} point (within ${tolerance} ${unit}): remove the duplicate`);
      }
    }
  }
}

/** Refuses points on (nearly) one line: the smaller principal spread against the larger. */
function checkSpread(points: readonly (readonly [number, number])[], what: string): void {
  const n = points.length;
  let mx = 0;
  let my = 0;
  for (const [x, y] of points) {
    mx += x / n;
    my += y / n;
  }
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
    sxy += (x - mx) * (y - my);
  }
  const mean = (sxx + syy) / 2;
  const root = Math.sqrt(((sxx - syy) / 2) ** 2 + sxy ** 2);
  const major = mean + root;
  const minor = Math.max(0, mean - root);
  if (!(major > 0) || Math.sqrt(minor / major) < MIN_SPREAD_RATIO) {
    throw invalid(`the ${what} points lie on (nearly) one line: mark points spread over the floor, not along one edge`);
  }
}

function normalised(m: readonly number[]): number[] | undefined {
  if (m.length !== 9 || !m.every(Number.isFinite)) return undefined;
  const last = m[8]!;
  const scale = Math.abs(last) > 1e-12 ? last : Math.hypot(...m);
  if (!(Math.abs(scale) > 0)) return undefined;
  return m.map((v) => v / scale);
}

function invert(m: Homography): number[] | undefined {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  const size = Math.hypot(...m);
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12 * size ** 3) return undefined;
  const adjugate = [A, -(b * i - c * h), b * f - c * e, B, a * i - c * g, -(a * f - c * d), C, -(a * h - b * g), a * e - b * d];
  return normalised(adjugate.map((v) => v / det));
}

/**
 * Maps a point through a homography into `out`; false when the point lies on the horizon (no
 * finite image). Allocation-free for per-frame use.
 */
export function mapPoint(m: ArrayLike<number>, x: number, y: number, out: { x: number; y: number }): boolean {
  const w = m[6]! * x + m[7]! * y + m[8]!;
  if (Math.abs(w) < 1e-12) return false;
  out.x = (m[0]! * x + m[1]! * y + m[2]!) / w;
  out.y = (m[3]! * x + m[4]! * y + m[5]!) / w;
  return true;
}

function fitPairs(pairs: readonly CalibrationPair[], homography: Homography, inverse: Homography, inlier: (i: number) => boolean): FittedPair[] {
  const p = { x: 0, y: 0 };
  return pairs.map((pair, i) => {
    const errorM = mapPoint(homography, pair.image[0], pair.image[1], p) ? Math.hypot(p.x - pair.floor[0], p.y - pair.floor[1]) : Infinity;
    const errorPx = mapPoint(inverse, pair.floor[0], pair.floor[1], p) ? Math.hypot(p.x - pair.image[0], p.y - pair.image[1]) : Infinity;
    return { image: [pair.image[0], pair.image[1]], floor: [pair.floor[0], pair.floor[1]], inlier: inlier(i), errorM, errorPx };
  });
}

function summarise(pairs: readonly FittedPair[]): Pick<FloorCalibration, 'inliers' | 'rmsErrorM' | 'maxErrorM' | 'rmsErrorPx' | 'maxErrorPx'> {
  const kept = pairs.filter((p) => p.inlier);
  const rms = (values: number[]) => Math.sqrt(values.reduce((s, v) => s + v * v, 0) / Math.max(1, values.length));
  return {
    inliers: kept.length,
    rmsErrorM: rms(kept.map((p) => p.errorM)),
    maxErrorM: Math.max(0, ...kept.map((p) => p.errorM)),
    rmsErrorPx: rms(kept.map((p) => p.errorPx)),
    maxErrorPx: Math.max(0, ...kept.map((p) => p.errorPx)),
  };
}

/**
 * The calibration for frames of another size (the detect size changed since the points were
 * marked). ffmpeg stretches to the detect size, so each axis scales on its own.
 */
export function scaledTo(cal: CameraCalibration, width: number, height: number): CameraCalibration {
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw invalid(`camera ${cal.camera}: cannot scale the calibration to ${width}×${height}`);
  }
  if (width === cal.imageSize.width && height === cal.imageSize.height) return cal;
  const sx = width / cal.imageSize.width;
  const sy = height / cal.imageSize.height;
  const h = cal.homography;
  const k = cal.inverse;
  // H' = H · diag(1/sx, 1/sy, 1) and its inverse diag(sx, sy, 1) · H⁻¹.
  const homography = normalised([h[0]! / sx, h[1]! / sy, h[2]!, h[3]! / sx, h[4]! / sy, h[5]!, h[6]! / sx, h[7]! / sy, h[8]!])!;
  const inverse = normalised([k[0]! * sx, k[1]! * sx, k[2]! * sx, k[3]! * sy, k[4]! * sy, k[5]! * sy, k[6]!, k[7]!, k[8]!])!;
  const scaledPairs = cal.pairs.map((p) => ({ image: [p.image[0] * sx, p.image[1] * sy] as [number, number], floor: p.floor }));
  const fitted = fitPairs(scaledPairs, homography, inverse, (i) => cal.pairs[i]!.inlier);
  return { ...cal, imageSize: { width, height }, homography, inverse, pairs: fitted, ...summarise(fitted) };
}

// --- the calibration file --------------------------------------------------------------------

const Point = Type.Tuple([Type.Number(), Type.Number()]);
const Matrix = Type.Array(Type.Number(), { minItems: 9, maxItems: 9 });
const Size = Type.Object({ width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

const CameraCalibrationFile = Type.Object(
  {
    version: Type.Integer({ minimum: 1 }),
    camera: Type.String({ minLength: 1 }),
    imageSize: Size,
    homography: Matrix,
    inverse: Matrix,
    pairs: Type.Array(
      Type.Object(
        { image: Point, floor: Point, inlier: Type.Boolean(), errorM: Type.Number({ minimum: 0 }), errorPx: Type.Number({ minimum: 0 }) },
        { additionalProperties: false },
      ),
      { minItems: 4 },
    ),
    inliers: Type.Integer({ minimum: 4 }),
    rmsErrorM: Type.Number({ minimum: 0 }),
    maxErrorM: Type.Number({ minimum: 0 }),
    rmsErrorPx: Type.Number({ minimum: 0 }),
    maxErrorPx: Type.Number({ minimum: 0 }),
    ransacThresholdM: Type.Number({ exclusiveMinimum: 0 }),
    mount: Type.Optional(
      Type.Object({ heightM: Type.Number({ exclusiveMinimum: 0 }), x: Type.Optional(Type.Number()), y: Type.Optional(Type.Number()) }, { additionalProperties: false }),
    ),
    createdAt: Type.String({ minLength: 1 }),
    operator: Type.String(),
  },
  { additionalProperties: false },
);

let fileValidator: ValidateFunction | undefined;

export function writeCameraCalibration(path: string, cal: CameraCalibration): void {
  mkdirSync(dirname(path), { recursive: true });
  const document: CameraCalibration = {
    version: cal.version,
    camera: cal.camera,
    imageSize: cal.imageSize,
    homography: cal.homography,
    inverse: cal.inverse,
    pairs: cal.pairs,
    inliers: cal.inliers,
    rmsErrorM: cal.rmsErrorM,
    maxErrorM: cal.maxErrorM,
    rmsErrorPx: cal.rmsErrorPx,
    maxErrorPx: cal.maxErrorPx,
    ransacThresholdM: cal.ransacThresholdM,
    ...(cal.mount ? { mount: cal.mount } : {}),
    createdAt: cal.createdAt,
    operator: cal.operator,
  };
  // Written aside and renamed, so a reader never sees half a calibration.
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(document, null, 2) + '\n');
  renameSync(temporary, path);
}

export function readCameraCalibration(path: string): CameraCalibration {
  const raw = readJson(path);
  const version = (raw as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > CAMERA_CALIBRATION_VERSION) {
    throw invalid(`${path}: /version: ${version} was written by a newer agent (this one reads up to ${CAMERA_CALIBRATION_VERSION})`);
  }
  fileValidator ??= new Ajv({ allErrors: true, strict: true }).compile(CameraCalibrationFile);
  if (!fileValidator(raw)) throw invalid(`${path}: ${(fileValidator.errors ?? []).map(describe).join('; ')}`);
  const cal = raw as CameraCalibration;
  for (const key of ['homography', 'inverse'] as const) {
    const index = cal[key].findIndex((v) => !Number.isFinite(v));
    if (index >= 0) throw invalid(`${path}: /${key}/${index}: must be a finite number`);
  }
  // The two matrices must undo each other, or the file was edited by hand.
  const p = { x: 0, y: 0 };
  const q = { x: 0, y: 0 };
  const { width, height } = cal.imageSize;
  for (const [u, v] of [[0, 0], [width, 0], [0, height], [width, height], [width / 2, height / 2]] as const) {
    if (!mapPoint(cal.homography, u, v, p) || !mapPoint(cal.inverse, p.x, p.y, q)) continue;
    if (Math.hypot(q.x - u, q.y - v) > 1e-3 * Math.max(1, width, height)) {
      throw invalid(`${path}: /inverse: is not the inverse of /homography`);
    }
  }
  return cal;
}

/**
 * A camera's calibration from either a solved calibration file or a file of marked point pairs
 * (a recording carries the simulator's marks): the marks are solved as `calibrate camera` would.
 */
export function calibrationFromFile(path: string, camera: string): CameraCalibration {
  const raw = readJson(path);
  if (typeof raw === 'object' && raw !== null && 'homography' in raw) return readCameraCalibration(path);
  const points = readCalibrationPoints(path);
  if (!points.imageSize) throw invalid(`${path}: does not say which image size the points were measured in`);
  return {
    ...solveFloorHomography(points.pairs),
    version: CAMERA_CALIBRATION_VERSION,
    camera: points.camera ?? camera,
    imageSize: points.imageSize,
    ...(points.mount ? { mount: points.mount } : {}),
    createdAt: new Date(0).toISOString(),
    operator: `solved from ${basename(path)}`,
  };
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EdgeError(ErrorCode.VisionCalibrationInvalid, `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new EdgeError(ErrorCode.VisionCalibrationInvalid, `${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'required') return `${e.instancePath}/${String(e.params['missingProperty'])}: required`;
  if (e.keyword === 'additionalProperties') return `${e.instancePath}/${String(e.params['additionalProperty'])}: unknown key`;
  return `${e.instancePath || '/'}: ${e.message ?? e.keyword}`;
}

// --- point-pair files ------------------------------------------------------------------------

export interface CalibrationPoints {
  pairs: CalibrationPair[];
  /** The image size the points were measured in, when the file says. */
  imageSize?: ImageSize;
  /** The camera named in the file (the simulator's ground truth names it). */
  camera?: string;
  /** Where the lens hangs, when the file says (the simulator's ground truth does). */
  mount?: CameraMount;
}

/**
 * Reads marked point pairs: CSV (`u,v,x,y` per line, optional header naming the columns, `#`
 * comments) or JSON (`{imageSize: {width, height}, pairs}` or the simulator's
 * `{camera, width, height, pairs}`). Errors name the file and the line or JSON path.
 */
export function readCalibrationPoints(path: string): CalibrationPoints {
  if (extname(path).toLowerCase() === '.json') return pointsFromJson(path, readJson(path));
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EdgeError(ErrorCode.VisionCalibrationInvalid, `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  return { pairs: pointsFromCsv(path, text) };
}

function pointsFromCsv(path: string, text: string): CalibrationPair[] {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parseCsv(text, { comment: '#', skip_empty_lines: true, trim: true, relax_column_count: true, info: true }) as unknown as typeof rows;
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    throw new EdgeError(ErrorCode.VisionCalibrationInvalid, `${path}${line ? `:${line}` : ''}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let columns = [0, 1, 2, 3];
  const pairs: CalibrationPair[] = [];
  rows.forEach(({ record, info }, index) => {
    const line = info.lines;
    if (index === 0 && record.some((cell) => cell !== '' && Number.isNaN(Number(cell)))) {
      const names = record.map((cell) => cell.toLowerCase());
      columns = ['u', 'v', 'x', 'y'].map((name) => names.indexOf(name));
      if (columns.some((c) => c < 0) || record.length !== 4) {
        throw invalid(`${path}:${line}: the header must name the columns u, v, x and y (got "${record.join(',')}")`);
      }
      return;
    }
    if (record.length !== 4) throw invalid(`${path}:${line}: expected 4 values u,v,x,y, got ${record.length}`);
    const values = columns.map((c, k) => {
      const cell = record[c]!;
      const value = cell === '' ? NaN : Number(cell);
      if (!Number.isFinite(value)) throw invalid(`${path}:${line}: ${'uvxy'[k]} is not a number ("${cell}")`);
      return value;
    }) as [number, number, number, number];
    pairs.push({ image: [values[0], values[1]], floor: [values[2], values[3]] });
  });
  return pairs;
}

function pointsFromJson(path: string, raw: unknown): CalibrationPoints {
  const fail = (pointer: string, message: string) => invalid(`${path}: ${pointer}: ${message}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail('/', 'must be an object with "pairs"');
  const doc = raw as Record<string, unknown>;
  let imageSize: ImageSize | undefined;
  const size = (value: unknown, pointer: string) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw fail(pointer, 'must be a positive integer');
    return value;
  };
  if (doc['imageSize'] !== undefined) {
    const s = doc['imageSize'] as Record<string, unknown> | null;
    if (typeof s !== 'object' || s === null) throw fail('/imageSize', 'must be an object {width, height}');
    imageSize = { width: size(s['width'], '/imageSize/width'), height: size(s['height'], '/imageSize/height') };
  } else if (doc['width'] !== undefined || doc['height'] !== undefined) {
    imageSize = { width: size(doc['width'], '/width'), height: size(doc['height'], '/height') };
  }
  const camera = doc['camera'];
  if (camera !== undefined && (typeof camera !== 'string' || camera === '')) throw fail('/camera', 'must be a camera id');
  if (!Array.isArray(doc['pairs'])) throw fail('/pairs', 'must be an array of {image: [u, v], floor: [x, y]}');
  const pairs = doc['pairs'].map((pair: unknown, i): CalibrationPair => {
    if (typeof pair !== 'object' || pair === null) throw fail(`/pairs/${i}`, 'must be an object {image, floor}');
    const point = (key: 'image' | 'floor'): [number, number] => {
      const p = (pair as Record<string, unknown>)[key];
      if (!Array.isArray(p) || p.length !== 2) throw fail(`/pairs/${i}/${key}`, 'must be two numbers');
      return p.map((v: unknown, k) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(`/pairs/${i}/${key}/${k}`, 'must be a finite number');
        return v;
      }) as [number, number];
    };
    return { image: point('image'), floor: point('floor') };
  });
  let mount: CameraMount | undefined;
  if (doc['mount'] !== undefined) {
    const m = doc['mount'] as Record<string, unknown> | null;
    if (typeof m !== 'object' || m === null) throw fail('/mount', 'must be an object {heightM, x?, y?}');
    const metres = (key: string, required: boolean): number | undefined => {
      const v = m[key];
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(`/mount/${key}`, 'must be a number of metres');
      return v;
    };
    const heightM = metres('heightM', true)!;
    if (!(heightM > 0)) throw fail('/mount/heightM', 'must be > 0');
    const x = metres('x', false);
    const y = metres('y', false);
    mount = { heightM, ...(x !== undefined && y !== undefined ? { x, y } : {}) };
  }
  return { pairs, ...(imageSize ? { imageSize } : {}), ...(typeof camera === 'string' ? { camera } : {}), ...(mount ? { mount } : {}) };
}
