import type { BoxCorners, Detection } from './detection.js';

/**
 * A person followed by one camera's tracker, in that camera's frame pixels. `box` is the
 * tracker's smoothed estimate, not the raw detection.
 */
export interface CameraTrack {
  /** Unique within one camera's tracker for the life of the process. */
  id: number;
  box: { x1: number; y1: number; x2: number; y2: number };
  /** Score of the last detection associated with the track. */
  score: number;
  /** `tentative` until it has been seen on enough frames; `lost` while it is not seen. */
  state: 'tentative' | 'confirmed' | 'lost';
  /** Store time (ms) the track was first and last associated with a detection. */
  firstSeenAt: number;
  lastSeenAt: number;
  /** Frames with an associated detection. */
  hits: number;
  /** Box centre velocity in pixels per second, from the Kalman filter. */
  vx: number;
  vy: number;
}

/** One frame's input to a camera tracker. */
export interface TrackerFrame {
  /** Store time of the frame, ms. */
  at: number;
  detections: readonly Detection[];
  /**
   * Whether the detector ran on this frame. On frames where it did not (nothing moved), tracks are
   * held where they are instead of aged: a person standing still is still there.
   */
  detected: boolean;
  /**
   * Where something moved on this frame, when motion gating knows. A confirmed track lying outside
   * every region that the detector missed is held, not aged: nothing moved there, so the person
   * is still standing where they were (detectors miss still, partly hidden people often).
   */
  moving?: readonly BoxCorners[];
}

/** A point on the store floor plan, metres, in the store configuration's coordinates. */
export interface FloorPoint {
  x: number;
  y: number;
}
