/** Corners of a box in frame pixels (x right, y down). */
export interface BoxCorners {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/**
 * A box a detector found in one camera frame, in that frame's pixels (x right, y down), corners
 * inclusive-exclusive like OpenCV rectangles.
 */
export interface Detection extends BoxCorners {
  /** Final confidence in [0, 1] (objectness × class score for YOLOX). */
  score: number;
  /** Index into the model manifest's labels. */
  classId: number;
}

export function boxWidth(d: BoxCorners): number {
  return d.x2 - d.x1;
}

export function boxHeight(d: BoxCorners): number {
  return d.y2 - d.y1;
}

/** Intersection over union of two boxes; 0 when either is empty. */
export function iou(a: BoxCorners, b: BoxCorners): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  if (iw <= 0) return 0;
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}
