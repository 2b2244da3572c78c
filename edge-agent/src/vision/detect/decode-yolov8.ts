import { EdgeError, ErrorCode } from '../../errors.js';
import type { CandidateBoxes } from './nms.js';

export interface Yolov8DecodeOptions {
  /** Classes the model was trained on (the manifest's label count). */
  classCount: number;
  scoreThreshold: number;
  /** Class ids a box may have; each anchor proposes the best of these. */
  classes: readonly number[];
}

export interface Yolov8Layout {
  anchors: number;
  /** `[1, 4 + C, N]`, the Ultralytics default, rather than `[1, N, 4 + C]`. */
  channelsFirst: boolean;
}

/**
 * Which way round an Ultralytics output is, from its dims and the class count. When both
 * readings fit (N = 4 + C) the export default, channels first, wins.
 */
export function yolov8Layout(dims: readonly (number | string)[], classCount: number): Yolov8Layout {
  const rows = 4 + classCount;
  const [batch, a, b] = dims;
  if (dims.length === 3 && batch === 1 && classCount >= 1) {
    if (a === rows && typeof b === 'number' && b >= 1) return { anchors: b, channelsFirst: true };
    if (b === rows && typeof a === 'number' && a >= 1) return { anchors: a, channelsFirst: false };
  }
  throw new EdgeError(ErrorCode.VisionModelMismatch, `YOLOv8 output [${dims.join(', ')}] is neither [1, ${rows}, N] nor [1, N, ${rows}] for ${classCount} classes`);
}

/**
 * YOLOv8 / YOLO11 (Ultralytics export) output: per anchor cx, cy, w, h in model-input pixels, then
 * one score per class (no objectness). Appends to `out` the anchors whose best kept class reaches
 * the threshold, as corners in model-input pixels.
 */
export function decodeYolov8(output: { data: Float32Array; dims: readonly number[] }, options: Yolov8DecodeOptions, out: CandidateBoxes): void {
  const { classCount, scoreThreshold, classes } = options;
  const { anchors, channelsFirst } = yolov8Layout(output.dims, classCount);
  const data = output.data;
  const rows = 4 + classCount;
  if (data.length < anchors * rows) throw new EdgeError(ErrorCode.VisionModelMismatch, `YOLOv8 output holds ${data.length} values, its dims say ${anchors * rows}`);
  for (const c of classes) {
    if (!(c >= 0 && c < classCount)) throw new EdgeError(ErrorCode.VisionModelMismatch, `class ${c} is not among the model's ${classCount} classes`);
  }
  // Element (channel k, anchor i) is at k × channelStep + i × anchorStep in either layout.
  const channelStep = channelsFirst ? anchors : 1;
  const anchorStep = channelsFirst ? 1 : rows;

  for (let i = 0, at = 0; i < anchors; i++, at += anchorStep) {
    let best = -1;
    let bestScore = -1;
    for (let k = 0; k < classes.length; k++) {
      const c = classes[k]!;
      const s = data[at + (4 + c) * channelStep]!;
      if (s > bestScore) {
        best = c;
        bestScore = s;
      }
    }
    if (bestScore < scoreThreshold) continue;
    const cx = data[at]!;
    const cy = data[at + channelStep]!;
    const hw = data[at + 2 * channelStep]! * 0.5;
    const hh = data[at + 3 * channelStep]! * 0.5;
    out.push(cx - hw, cy - hh, cx + hw, cy + hh, bestScore, best);
  }
}
