import type { CameraFrame } from '../../devices/camera/frame.js';
import type { BoxCorners } from '../detection.js';
import type { ModelInput } from '../model-manifest.js';
import { opencv, type Cv } from '../opencv.js';

/** The pixels of a camera frame: BGR24, row after row. */
export type FramePixels = Pick<CameraFrame, 'data' | 'width' | 'height'>;

/** A rectangle of a frame in its pixels. */
export interface FrameRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** How a region of a frame was placed in the model input, to map boxes back. */
export interface FrameFit {
  /** Model-input pixels per frame pixel. */
  scaleX: number;
  scaleY: number;
  /** Model-input pixels of padding left of and above the picture. */
  padX: number;
  padY: number;
  /** Frame pixels of the region's top-left corner. */
  offsetX: number;
  offsetY: number;
  /** Frame pixels of the region: nothing outside it was seen. */
  width: number;
  height: number;
}

/** A box in model-input pixels moved to frame pixels, clipped to the region that was packed. */
export function toFrame<T extends BoxCorners>(fit: FrameFit, box: T): T {
  const left = fit.offsetX;
  const top = fit.offsetY;
  const right = left + fit.width;
  const bottom = top + fit.height;
  return {
    ...box,
    x1: clamp(left + (box.x1 - fit.padX) / fit.scaleX, left, right),
    y1: clamp(top + (box.y1 - fit.padY) / fit.scaleY, top, bottom),
    x2: clamp(left + (box.x2 - fit.padX) / fit.scaleX, left, right),
    y2: clamp(top + (box.y2 - fit.padY) / fit.scaleY, top, bottom),
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * Fits a frame (or a region of it) into a network's input and writes the normalised tensor into
 * one Float32Array that lives as long as the packer. OpenCV resizes a view of the caller's buffer
 * without copying the frame; one loop then swaps channels, normalises and lays out the planes.
 */
export class InputPacker {
  /** The packed input. Replaced by `adopt()` when a worker hands a buffer back, re-created if one was lost. */
  tensorData: Float32Array;
  /** `[1, 3, H, W]` (NCHW) or `[1, H, W, 3]` (NHWC). */
  readonly dims: readonly number[];
  private readonly width: number;
  private readonly height: number;
  private readonly nchw: boolean;
  private readonly letterbox: boolean;
  private readonly centered: boolean;
  /** Per network channel: source byte within a BGR pixel, multiplier and addend. */
  private readonly source: Int32Array;
  private readonly mul: Float64Array;
  private readonly add: Float64Array;
  private readonly padValue: number;
  private readonly area: boolean;
  private cv: Cv | undefined;
  /** Picture size and padding the tensor's padding was last written for. */
  private readonly laidOut = new Int32Array([-1, -1, -1, -1]);

  constructor(input: ModelInput) {
    this.width = input.width;
    this.height = input.height;
    this.nchw = input.layout === 'NCHW';
    this.letterbox = input.resize === 'letterbox';
    this.centered = input.letterboxAlign === 'center';
    this.padValue = input.padValue;
    this.area = input.interpolation === 'area';
    this.tensorData = new Float32Array(input.width * input.height * 3);
    this.dims = this.nchw ? [1, 3, input.height, input.width] : [1, input.height, input.width, 3];
    const rgb = input.colorOrder === 'RGB';
    this.source = Int32Array.from(rgb ? [2, 1, 0] : [0, 1, 2]);
    // Mean and std are given in the network's channel order, like the training configs state them.
    const mean = input.mean ?? [0, 0, 0];
    const std = input.std ?? [1, 1, 1];
    this.mul = new Float64Array(3);
    this.add = new Float64Array(3);
    for (let c = 0; c < 3; c++) {
      const s = std[c]!;
      if (!(s !== 0 && Number.isFinite(s))) throw new RangeError(`input std must be finite and non-zero, got ${s}`);
      this.mul[c] = input.scale / s;
      this.add[c] = -mean[c]! / s;
    }
  }

  /** Takes back the input buffer after it travelled to an inference worker and back. */
  adopt(buffer: Float32Array): void {
    if (buffer === this.tensorData) return;
    if (buffer.length !== this.width * this.height * 3) throw new RangeError(`an input buffer of ${buffer.length} values does not fit ${this.width}×${this.height}×3`);
    this.tensorData = buffer;
  }

  /** Packs `frame` (or `region` of it) into `tensorData` and says where it went. */
  pack(frame: FramePixels, region?: FrameRegion): FrameFit {
    if (this.tensorData.length === 0) {
      // Transferred to a worker that never gave it back (it died): start a fresh one.
      this.tensorData = new Float32Array(this.width * this.height * 3);
      this.laidOut.fill(-1);
    }
    const { width: fw, height: fh, data } = frame;
    if (!Number.isInteger(fw) || !Number.isInteger(fh) || fw < 1 || fh < 1) throw new RangeError(`frame size must be positive integers, got ${fw}×${fh}`);
    if (data.length !== fw * fh * 3) throw new RangeError(`a ${fw}×${fh} BGR24 frame has ${fw * fh * 3} bytes, got ${data.length}`);

    let x0 = 0;
    let y0 = 0;
    let x1 = fw;
    let y1 = fh;
    if (region) {
      const { x, y, width, height } = region;
      if (![x, y, width, height].every(Number.isFinite)) throw new RangeError(`region ${JSON.stringify(region)} is not finite`);
      x0 = Math.max(0, Math.floor(x));
      y0 = Math.max(0, Math.floor(y));
      x1 = Math.min(fw, Math.ceil(x + width));
      y1 = Math.min(fh, Math.ceil(y + height));
      if (x1 <= x0 || y1 <= y0) throw new RangeError(`region ${JSON.stringify(region)} does not overlap the ${fw}×${fh} frame`);
    }
    const rw = x1 - x0;
    const rh = y1 - y0;

    const W = this.width;
    const H = this.height;
    let nw = W;
    let nh = H;
    let padX = 0;
    let padY = 0;
    if (this.letterbox) {
      const r = Math.min(W / rw, H / rh);
      nw = Math.min(W, Math.max(1, Math.round(rw * r)));
      nh = Math.min(H, Math.max(1, Math.round(rh * r)));
      if (this.centered) {
        padX = Math.floor((W - nw) / 2);
        padY = Math.floor((H - nh) / 2);
      }
    }

    let src: Buffer;
    let srcStart: number;
    let srcStride: number;
    if (nw === rw && nh === rh) {
      src = data;
      srcStart = (y0 * fw + x0) * 3;
      srcStride = fw * 3;
    } else {
      const cv = (this.cv ??= opencv());
      // Wraps the caller's buffer (no copy); the Mat is dropped before this call returns.
      let mat = new cv.Mat(fh, fw, cv.CV_8UC3, data, fw * 3);
      if (rw !== fw || rh !== fh) mat = mat.getRegion(new cv.Rect(x0, y0, rw, rh));
      const shrinking = nw < rw && nh < rh;
      src = mat.resize(nh, nw, 0, 0, this.area && shrinking ? cv.INTER_AREA : cv.INTER_LINEAR).getData();
      srcStart = 0;
      srcStride = nw * 3;
    }

    const laidOut = this.laidOut;
    if (laidOut[0] !== nw || laidOut[1] !== nh || laidOut[2] !== padX || laidOut[3] !== padY) {
      this.fillPadding();
      laidOut.set([nw, nh, padX, padY]);
    }
    if (this.nchw) this.packPlanar(src, srcStart, srcStride, nw, nh, padX, padY);
    else this.packInterleaved(src, srcStart, srcStride, nw, nh, padX, padY);

    return { scaleX: nw / rw, scaleY: nh / rh, padX, padY, offsetX: x0, offsetY: y0, width: rw, height: rh };
  }

  /** The padding only changes with the layout, so it is written then and not per frame. */
  private fillPadding(): void {
    const t = this.tensorData;
    const plane = this.width * this.height;
    for (let c = 0; c < 3; c++) {
      const v = this.padValue * this.mul[c]! + this.add[c]!;
      if (this.nchw) t.fill(v, c * plane, (c + 1) * plane);
      else for (let i = c; i < t.length; i += 3) t[i] = v;
    }
  }

  private packPlanar(src: Uint8Array, start: number, stride: number, nw: number, nh: number, padX: number, padY: number): void {
    const t = this.tensorData;
    const W = this.width;
    const plane = W * this.height;
    const plane2 = 2 * plane;
    const s0 = this.source[0]!;
    const s1 = this.source[1]!;
    const s2 = this.source[2]!;
    const m0 = this.mul[0]!;
    const m1 = this.mul[1]!;
    const m2 = this.mul[2]!;
    const a0 = this.add[0]!;
    const a1 = this.add[1]!;
    const a2 = this.add[2]!;
    for (let y = 0; y < nh; y++) {
      let s = start + y * stride;
      let o = (padY + y) * W + padX;
      const end = o + nw;
      for (; o < end; o++, s += 3) {
        const v0 = src[s + s0]!;
        const v1 = src[s + s1]!;
        const v2 = src[s + s2]!;
        t[o] = v0 * m0 + a0;
        t[o + plane] = v1 * m1 + a1;
        t[o + plane2] = v2 * m2 + a2;
      }
    }
  }

  private packInterleaved(src: Uint8Array, start: number, stride: number, nw: number, nh: number, padX: number, padY: number): void {
    const t = this.tensorData;
    const W = this.width;
    const s0 = this.source[0]!;
    const s1 = this.source[1]!;
    const s2 = this.source[2]!;
    const m0 = this.mul[0]!;
    const m1 = this.mul[1]!;
    const m2 = this.mul[2]!;
    const a0 = this.add[0]!;
    const a1 = this.add[1]!;
    const a2 = this.add[2]!;
    for (let y = 0; y < nh; y++) {
      let s = start + y * stride;
      let o = ((padY + y) * W + padX) * 3;
      const end = o + nw * 3;
      for (; o < end; o += 3, s += 3) {
        t[o] = src[s + s0]! * m0 + a0;
        t[o + 1] = src[s + s1]! * m1 + a1;
        t[o + 2] = src[s + s2]! * m2 + a2;
      }
    }
  }
}
