import { createRequire } from 'node:module';
import type * as OpenCv from '@u4/opencv4nodejs';

export type Cv = typeof OpenCv;

let cv: Cv | undefined;

/**
 * The system OpenCV binding, loaded once. Its ESM entry looks for an OpenCV it built itself and
 * fails on the system build the set-up script links against; the CommonJS entry loads the
 * compiled binding directly.
 */
export function opencv(): Cv {
  if (cv) return cv;
  const require = createRequire(import.meta.url);
  // Its loader logs build settings to stdout, where commands print their JSON result.
  const fromBinding = createRequire(require.resolve('@u4/opencv4nodejs'));
  (fromBinding('@u4/opencv-build') as { Log: { silence: boolean } }).Log.silence = true;
  cv = require('@u4/opencv4nodejs') as Cv;
  // The frames are small and the other cores belong to inference and ffmpeg: OpenCV's own thread
  // pool would only contend with them (measured: the worker's round trip doubled).
  cv.setNumThreads(1);
  return cv;
}
