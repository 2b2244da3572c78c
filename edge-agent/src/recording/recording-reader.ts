import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StoreConfig } from '../../../device-config/schema.js';
import { validateConfig } from '../../../device-config/validate.js';
import { manifestProblems, type RecordingManifest } from './manifest.js';

export class RecordingError extends Error {
  override readonly name = 'RecordingError';
}

export interface OpenedRecording {
  dir: string;
  manifest: RecordingManifest;
  config: StoreConfig;
  /** Absolute paths. */
  serial: (RecordingManifest['serial'][number] & { path: string })[];
  video: (RecordingManifest['video'][number] & { path: string; framesPath: string })[];
  scalesCalibration: string | undefined;
  /** Things wrong with the recording that replay works around (a missing video, a recorder that died). */
  problems: string[];
}

/**
 * Opens a recording folder: a manifest or store file that cannot be used is an error naming
 * it; missing device files are problems the replay reports and skips, so the rest still replays.
 */
export function openRecording(dirArg: string): OpenedRecording {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new RecordingError(`${dirArg}: no such recording folder`);
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) throw new RecordingError(`${manifestFile}: missing — not a recording folder`);
  const manifest = readJson(manifestFile) as RecordingManifest;
  const problems = manifestProblems(manifest);
  if (problems.length > 0) throw new RecordingError(`${manifestFile}: ${problems.join('; ')}`);
  const storeFile = join(dir, manifest.store);
  if (!existsSync(storeFile)) throw new RecordingError(`${storeFile}: missing (named by manifest.json /store)`);
  const validated = validateConfig(readJson(storeFile));
  if (!validated.ok) throw new RecordingError(`${storeFile}: ${validated.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);

  const found: string[] = [];
  if (manifest.endedAt === null) found.push(`${manifestFile}: the recording never finished (no endedAt); replaying what was written`);
  const serial = manifest.serial.flatMap((s, i) => {
    const path = join(dir, s.file);
    if (existsSync(path)) return [{ ...s, path }];
    found.push(`${path}: missing (manifest.json /serial/${i}); device ${s.device} is skipped`);
    return [];
  });
  const video = manifest.video.flatMap((v, i) => {
    const path = join(dir, v.file);
    const framesPath = join(dir, v.frames);
    const missing = [path, framesPath].filter((p) => !existsSync(p));
    if (missing.length === 0) return [{ ...v, path, framesPath }];
    found.push(`${missing.join(', ')}: missing (manifest.json /video/${i}); camera ${v.camera} is skipped`);
    return [];
  });
  const scales = manifest.calibration.scales ? join(dir, manifest.calibration.scales) : undefined;
  if (scales && !existsSync(scales)) found.push(`${scales}: missing (manifest.json /calibration/scales); plates stay uncalibrated`);
  return { dir, manifest, config: validated.config, serial, video, scalesCalibration: scales && existsSync(scales) ? scales : undefined, problems: found };
}

function readJson(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RecordingError(`${file}: invalid JSON: ${(err as Error).message}`);
  }
}
