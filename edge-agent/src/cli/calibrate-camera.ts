import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import {
  CAMERA_CALIBRATION_VERSION,
  readCalibrationPoints,
  solveFloorHomography,
  writeCameraCalibration,
  type CameraCalibration,
  type CameraMount,
  type ImageSize,
} from '../../../calibration/camera-homography.js';
import type { CameraConfig } from '../../../device-config/schema.js';
import { describeError, isEdgeError } from '../errors.js';
import { loadStoreOrReport } from './load-store.js';
import { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, printResult, type CliIo } from './output.js';

export interface CalibrateCameraOptions {
  camera: string;
  /** CSV (`u,v,x,y`) or JSON file of marked point pairs. */
  points: string;
  /** Where to write the calibration; default: the camera's configured file, else `calibration/<camera>.json`. */
  out?: string;
  /** Store file: the camera's detect size and configured calibration path. */
  config?: string;
  operator?: string;
  ransacThresholdM?: number;
  /** Height of the lens above the floor, metres: lets projection undo the parallax of bodies. */
  mountHeightM?: number;
  /** Floor point [x, y] under the lens, for cameras that do not look straight down. */
  mountAt?: [number, number];
}

/** Fewer pairs than this leave little to tell a mis-click from the truth. */
const RECOMMENDED_PAIRS = 8;

/**
 * `edge-agent calibrate camera --camera ID --points FILE`: solves the camera's floor homography
 * from marked point pairs, shows each pair's error so a bad mark can be redone, and writes the
 * calibration file the agent reads through `cameras[].calibration`.
 */
export async function calibrateCamera(opts: CalibrateCameraOptions, io: CliIo): Promise<number> {
  const badInput = (message: string) => {
    io.err(`error: ${message}`);
    printResult(io, { ok: false, camera: opts.camera, error: message });
    return EXIT_BAD_INPUT;
  };
  if (typeof opts.camera !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(opts.camera)) return badInput(`--camera takes a camera id, got "${String(opts.camera)}"`);
  if (opts.ransacThresholdM !== undefined && !(opts.ransacThresholdM > 0)) return badInput('--ransac-threshold takes metres, more than 0');
  if (opts.mountHeightM !== undefined && !(opts.mountHeightM > 0 && opts.mountHeightM < 20)) return badInput('--mount-height takes the height of the lens above the floor in metres');
  if (opts.mountAt !== undefined && (opts.mountHeightM === undefined || !opts.mountAt.every(Number.isFinite))) return badInput('--mount-at takes x,y in metres, with --mount-height');

  let camera: CameraConfig | undefined;
  if (opts.config !== undefined) {
    const config = await loadStoreOrReport(opts.config, io);
    if (!config) return EXIT_BAD_INPUT;
    camera = config.cameras.find((c) => c.id === opts.camera);
    if (!camera) return badInput(`no camera ${opts.camera} in ${opts.config} (cameras: ${config.cameras.map((c) => c.id).join(', ') || 'none'})`);
    if (camera.role === 'shelf') return badInput(`camera ${opts.camera} is a shelf camera; only overhead and entrance cameras see the floor`);
  }

  try {
    const points = readCalibrationPoints(opts.points);
    if (points.camera !== undefined && points.camera !== opts.camera) return badInput(`${opts.points} holds the points of camera ${points.camera}, not ${opts.camera}`);
    const imageSize: ImageSize | undefined = points.imageSize ?? camera?.detectSize;
    if (!imageSize) return badInput(`${opts.points} does not say which image size the points were measured in: give --config with the store file, or a JSON file with imageSize`);
    const outside = points.pairs.findIndex((p) => p.image[0] < 0 || p.image[1] < 0 || p.image[0] > imageSize.width || p.image[1] > imageSize.height);
    if (outside >= 0) return badInput(`${opts.points}: pair ${outside + 1}: image point ${points.pairs[outside]!.image.join(',')} is outside the ${imageSize.width}×${imageSize.height} image`);

    const solved = solveFloorHomography(points.pairs, opts.ransacThresholdM === undefined ? {} : { ransacThresholdM: opts.ransacThresholdM });
    const mount: CameraMount | undefined =
      opts.mountHeightM === undefined ? points.mount : { heightM: opts.mountHeightM, ...(opts.mountAt ? { x: opts.mountAt[0], y: opts.mountAt[1] } : {}) };
    const calibration: CameraCalibration = {
      ...solved,
      version: CAMERA_CALIBRATION_VERSION,
      camera: opts.camera,
      imageSize: { width: imageSize.width, height: imageSize.height },
      ...(mount ? { mount } : {}),
      createdAt: new Date().toISOString(),
      operator: opts.operator ?? process.env['USER'] ?? userInfo().username,
    };
    const file = resolve(opts.out ?? camera?.calibration ?? `calibration/${opts.camera}.json`);
    printTable(io, calibration);
    writeCameraCalibration(file, calibration);
    io.err(`wrote ${file}; the agent reads it through cameras[].calibration of camera ${opts.camera}`);
    printResult(io, {
      ok: true,
      camera: opts.camera,
      pairs: calibration.pairs.length,
      inliers: calibration.inliers,
      rmsErrorM: round(calibration.rmsErrorM),
      maxErrorM: round(calibration.maxErrorM),
      rmsErrorPx: round(calibration.rmsErrorPx),
      file,
    });
    return EXIT_OK;
  } catch (err) {
    if (isEdgeError(err) && err.area === 'vision') return badInput(err.message);
    const message = describeError(err);
    io.err(`error: calibration of camera ${opts.camera} failed: ${message}`);
    printResult(io, { ok: false, camera: opts.camera, error: message });
    return EXIT_FAILURE;
  }
}

function printTable(io: CliIo, cal: CameraCalibration): void {
  io.err(`camera ${cal.camera}: ${cal.pairs.length} pairs, ${cal.inliers} inliers (RANSAC threshold ${cal.ransacThresholdM} m), image ${cal.imageSize.width}×${cal.imageSize.height}`);
  io.err('   #      image u      image v    floor x    floor y    error m   error px');
  cal.pairs.forEach((p, i) => {
    const cells = [p.image[0].toFixed(1), p.image[1].toFixed(1), p.floor[0].toFixed(3), p.floor[1].toFixed(3), p.errorM.toFixed(3), p.errorPx.toFixed(2)];
    io.err(`${String(i + 1).padStart(4)} ${cells.map((c, k) => c.padStart(k < 2 ? 12 : 10)).join(' ')}${p.inlier ? '' : '   outlier: check this mark'}`);
  });
  io.err(`error over the inliers: rms ${cal.rmsErrorM.toFixed(3)} m (${cal.rmsErrorPx.toFixed(2)} px), max ${cal.maxErrorM.toFixed(3)} m (${cal.maxErrorPx.toFixed(2)} px)`);
  if (cal.pairs.length === 4) io.err('warning: 4 pairs fit exactly whatever their marks; add more to see the errors');
  else if (cal.pairs.length < RECOMMENDED_PAIRS) io.err(`warning: ${cal.pairs.length} pairs; ${RECOMMENDED_PAIRS} or more spread over the floor catch a bad mark`);
}

const round = (value: number) => Math.round(value * 1e6) / 1e6;
