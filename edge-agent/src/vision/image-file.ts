import { EdgeError, ErrorCode } from '../errors.js';
import type { FramePixels } from './detect/input-packer.js';
import { opencv } from './opencv.js';

/** An image file (JPEG, PNG, …) as BGR24 pixels, like a camera frame. */
export function readImageFile(path: string): FramePixels {
  let mat;
  try {
    mat = opencv().imread(path);
  } catch (err) {
    throw new EdgeError(ErrorCode.VisionImageUnreadable, `${path}: cannot read the image (${err instanceof Error ? err.message : String(err)})`);
  }
  if (mat.empty || mat.channels !== 3) throw new EdgeError(ErrorCode.VisionImageUnreadable, `${path}: not a colour image OpenCV can read`);
  return { data: mat.getData(), width: mat.cols, height: mat.rows };
}

/** A JPEG or PNG in memory (a photo sent by the cloud) as BGR24 pixels. */
export function decodeImage(bytes: Buffer, name: string): FramePixels {
  let mat;
  try {
    mat = opencv().imdecode(bytes);
  } catch (err) {
    throw new EdgeError(ErrorCode.VisionImageUnreadable, `${name}: cannot decode the image (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!mat || mat.empty || mat.channels !== 3) throw new EdgeError(ErrorCode.VisionImageUnreadable, `${name}: not a colour JPEG or PNG`);
  return { data: mat.getData(), width: mat.cols, height: mat.rows };
}
