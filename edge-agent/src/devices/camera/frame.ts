/**
 * One picture from a camera, scaled by ffmpeg to the camera's detect size. The buffer belongs to
 * a small pool: the consumer calls `release()` exactly once when it is done, and must not touch
 * the frame afterwards (its buffer is refilled with a later picture).
 */
export interface CameraFrame {
  readonly camera: string;
  /** Live: frame number since the ingest started, dropped frames included. Replay: the frame's number in the video. */
  readonly seq: number;
  /** Store time at arrival (live) or as recorded (replay), ms since the epoch. */
  readonly at: number;
  readonly width: number;
  readonly height: number;
  /** BGR24, row after row, `width * height * 3` bytes. */
  readonly data: Buffer;
  release(): void;
}

export function bgr24Bytes(width: number, height: number): number {
  return width * height * 3;
}
