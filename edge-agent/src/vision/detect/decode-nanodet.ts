import { EdgeError, ErrorCode } from '../../errors.js';
import type { CandidateBoxes } from './nms.js';

export interface NanodetDecodeOptions {
  inputWidth: number;
  inputHeight: number;
  strides: readonly number[];
  /** Bins per box side minus one. */
  regMax: number;
  scoreThreshold: number;
  /** Class ids a box may have; each anchor proposes the best of these. */
  classes: readonly number[];
  /**
   * Where an anchor sits in its cell, in cells: 0 puts it at the cell's top-left corner
   * (`col × stride`), 0.5 at its centre.
   */
  centerOffset: number;
}

/**
 * NanoDet(-m) head outputs, two per stride in the order cls, dis, cls, dis …:
 * `cls_pred` `[1, N, classes]` with the sigmoid already applied, `dis_pred` `[1, N, 4 × (regMax + 1)]`
 * holding, per side (left, top, right, bottom), a distribution over distances 0…regMax in strides
 * (General Focal Loss). Appends to `out` the anchors whose best kept class reaches the threshold,
 * as corners in model-input pixels.
 */
export function decodeNanodet(
  outputs: readonly { data: Float32Array; dims: readonly number[] }[],
  options: NanodetDecodeOptions,
  out: CandidateBoxes,
): void {
  const { inputWidth, inputHeight, strides, regMax, scoreThreshold, classes, centerOffset } = options;
  if (outputs.length !== strides.length * 2) {
    throw new EdgeError(ErrorCode.VisionModelMismatch, `NanoDet needs a cls and a dis output per stride (${strides.length * 2}), got ${outputs.length}`);
  }
  const bins = regMax + 1;
  for (let level = 0; level < strides.length; level++) {
    const stride = strides[level]!;
    const cls = outputs[level * 2]!;
    const dis = outputs[level * 2 + 1]!;
    const gw = Math.ceil(inputWidth / stride);
    const gh = Math.ceil(inputHeight / stride);
    const n = gw * gh;
    const classCount = cls.dims[2] ?? 0;
    if (cls.dims.length !== 3 || cls.dims[1] !== n || classCount < 1 || cls.data.length < n * classCount) {
      throw new EdgeError(ErrorCode.VisionModelMismatch, `NanoDet stride ${stride} scores [${cls.dims.join(', ')}] do not fit a ${inputWidth}×${inputHeight} input (expected [1, ${n}, classes])`);
    }
    if (dis.dims.length !== 3 || dis.dims[1] !== n || dis.dims[2] !== 4 * bins || dis.data.length < n * 4 * bins) {
      throw new EdgeError(ErrorCode.VisionModelMismatch, `NanoDet stride ${stride} distances [${dis.dims.join(', ')}] do not fit (expected [1, ${n}, ${4 * bins}] for regMax ${regMax})`);
    }
    for (const c of classes) {
      if (!(c >= 0 && c < classCount)) throw new EdgeError(ErrorCode.VisionModelMismatch, `class ${c} is not among the model's ${classCount} classes`);
    }
    const scores = cls.data;
    const dist = dis.data;
    for (let a = 0; a < n; a++) {
      const sBase = a * classCount;
      let best = -1;
      let bestScore = -1;
      for (let k = 0; k < classes.length; k++) {
        const c = classes[k]!;
        const s = scores[sBase + c]!;
        if (s > bestScore) {
          best = c;
          bestScore = s;
        }
      }
      if (bestScore < scoreThreshold) continue;
      const cx = ((a % gw) + centerOffset) * stride;
      const cy = (Math.floor(a / gw) + centerOffset) * stride;
      const dBase = a * 4 * bins;
      const left = expectedDistance(dist, dBase, bins) * stride;
      const top = expectedDistance(dist, dBase + bins, bins) * stride;
      const right = expectedDistance(dist, dBase + 2 * bins, bins) * stride;
      const bottom = expectedDistance(dist, dBase + 3 * bins, bins) * stride;
      out.push(cx - left, cy - top, cx + right, cy + bottom, bestScore, best);
    }
  }
}

/** Σ i · softmax(logits)ᵢ over one side's bins. */
function expectedDistance(logits: Float32Array, start: number, bins: number): number {
  let max = -Infinity;
  for (let i = 0; i < bins; i++) max = Math.max(max, logits[start + i]!);
  let sum = 0;
  let weighted = 0;
  for (let i = 0; i < bins; i++) {
    const e = Math.exp(logits[start + i]! - max);
    sum += e;
    weighted += i * e;
  }
  return weighted / sum;
}
