import { EdgeError, ErrorCode } from '../../errors.js';
import type { CandidateBoxes } from './nms.js';

export interface YoloxDecodeOptions {
  inputWidth: number;
  inputHeight: number;
  strides: readonly number[];
  scoreThreshold: number;
  /** Class ids a box may have; each anchor proposes the best of these. */
  classes: readonly number[];
}

/** Anchor points of an anchor-free head: one per cell of each stride's feature map. */
export function anchorCount(inputWidth: number, inputHeight: number, strides: readonly number[]): number {
  let n = 0;
  for (const s of strides) n += Math.ceil(inputWidth / s) * Math.ceil(inputHeight / s);
  return n;
}

/**
 * YOLOX head output `[1, anchors, 5 + classes]`: per anchor cx, cy, w, h in grid units, then
 * objectness and class scores (both already through a sigmoid). Appends to `out` the anchors
 * whose objectness × class score reaches the threshold, as corners in model-input pixels.
 */
export function decodeYolox(output: { data: Float32Array; dims: readonly number[] }, options: YoloxDecodeOptions, out: CandidateBoxes): void {
  const { inputWidth, inputHeight, strides, scoreThreshold, classes } = options;
  const anchors = anchorCount(inputWidth, inputHeight, strides);
  const { data, dims } = output;
  const row = dims[2] ?? 0;
  if (dims.length !== 3 || dims[0] !== 1 || dims[1] !== anchors || row < 6) {
    throw new EdgeError(
      ErrorCode.VisionModelMismatch,
      `YOLOX output [${dims.join(', ')}] does not fit a ${inputWidth}×${inputHeight} input with strides ${strides.join(', ')} (expected [1, ${anchors}, 5 + classes])`,
    );
  }
  if (data.length < anchors * row) throw new EdgeError(ErrorCode.VisionModelMismatch, `YOLOX output holds ${data.length} values, its dims say ${anchors * row}`);
  for (const c of classes) {
    if (!(c >= 0 && c < row - 5)) throw new EdgeError(ErrorCode.VisionModelMismatch, `class ${c} is not among the model's ${row - 5} classes`);
  }

  let base = 0;
  for (const stride of strides) {
    const gw = Math.ceil(inputWidth / stride);
    const gh = Math.ceil(inputHeight / stride);
    for (let gy = 0; gy < gh; gy++) {
      for (let gx = 0; gx < gw; gx++, base += row) {
        // Class scores are at most 1, so an anchor below the threshold on objectness alone is out.
        const objectness = data[base + 4]!;
        if (objectness < scoreThreshold) continue;
        let best = -1;
        let bestScore = -1;
        for (let k = 0; k < classes.length; k++) {
          const c = classes[k]!;
          const s = objectness * data[base + 5 + c]!;
          if (s > bestScore) {
            best = c;
            bestScore = s;
          }
        }
        if (bestScore < scoreThreshold) continue;
        const cx = (data[base]! + gx) * stride;
        const cy = (data[base + 1]! + gy) * stride;
        const hw = Math.exp(data[base + 2]!) * stride * 0.5;
        const hh = Math.exp(data[base + 3]!) * stride * 0.5;
        out.push(cx - hw, cy - hh, cx + hw, cy + hh, bestScore, best);
      }
    }
  }
}
