import { describe, expect, it } from 'vitest';
import { isEdgeError, ErrorCode } from '../../edge-agent/src/errors.js';
import { decodeNanodet } from '../../edge-agent/src/vision/detect/decode-nanodet.js';
import { decodeYolov8, yolov8Layout } from '../../edge-agent/src/vision/detect/decode-yolov8.js';
import { anchorCount, decodeYolox } from '../../edge-agent/src/vision/detect/decode-yolox.js';
import { InputPacker, toFrame, type FramePixels } from '../../edge-agent/src/vision/detect/input-packer.js';
import { CandidateBoxes, ClassAwareNms } from '../../edge-agent/src/vision/detect/nms.js';
import type { Detection } from '../../edge-agent/src/vision/detection.js';
import type { ModelInput } from '../../edge-agent/src/vision/model-manifest.js';

function all(boxes: CandidateBoxes): Detection[] {
  return Array.from({ length: boxes.count }, (_, i) => boxes.toDetection(i));
}

function expectBox(actual: Detection | undefined, expected: Detection): void {
  expect(actual).toBeDefined();
  for (const key of ['x1', 'y1', 'x2', 'y2', 'score'] as const) expect(actual![key], key).toBeCloseTo(expected[key], 4);
  expect(actual!.classId).toBe(expected.classId);
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('decodeYolox', () => {
  // 64×32 input, strides 8 and 16: an 8×4 grid then a 4×2 grid, 3 classes.
  const options = { inputWidth: 64, inputHeight: 32, strides: [8, 16], scoreThreshold: 0.3, classes: [0, 1, 2] };
  const row = 5 + 3;
  const anchors = 8 * 4 + 4 * 2;

  function yoloxOutput(rows: Record<number, number[]>): { data: Float32Array; dims: number[] } {
    const data = new Float32Array(anchors * row);
    for (const [a, values] of Object.entries(rows)) data.set(values, Number(a) * row);
    return { data, dims: [1, anchors, row] };
  }

  it('counts one anchor per cell of every stride', () => {
    expect(anchorCount(64, 32, [8, 16])).toBe(anchors);
    expect(anchorCount(416, 416, [8, 16, 32])).toBe(3549);
    expect(anchorCount(192, 192, [8, 16, 32])).toBe(756);
  });

  it('decodes (xy + grid) × stride and exp(wh) × stride with objectness × class score', () => {
    // Stride 8, column 3, row 2 is anchor 2 × 8 + 3; stride 16, column 1, row 1 is anchor 32 + 1 × 4 + 1.
    const out = yoloxOutput({
      19: [0.5, 0.25, Math.log(2), Math.log(4), 0.9, 0.1, 0.8, 0.5],
      37: [0, 0, 0, 0, 0.5, 0.9, 0.2, 0.1],
    });
    const boxes = new CandidateBoxes();
    decodeYolox(out, options, boxes);
    expect(boxes.count).toBe(2);
    // centre (3.5 × 8, 2.25 × 8) = (28, 18), size (2 × 8, 4 × 8) = (16, 32)
    expectBox(boxes.toDetection(0), { x1: 20, y1: 2, x2: 36, y2: 34, score: 0.9 * 0.8, classId: 1 });
    // centre (1 × 16, 1 × 16), size (16, 16)
    expectBox(boxes.toDetection(1), { x1: 8, y1: 8, x2: 24, y2: 24, score: 0.5 * 0.9, classId: 0 });
  });

  it('drops anchors below the threshold and classes that are not kept', () => {
    const out = yoloxOutput({
      0: [0, 0, 0, 0, 0.9, 0.3, 0.2, 0.1], // best 0.27 < 0.3
      5: [0, 0, 0, 0, 0.2, 1, 1, 1], // objectness alone below the threshold
      10: [0, 0, 0, 0, 0.9, 0.1, 0.9, 0.5], // class 1 best, but only 0 and 2 are kept
    });
    const boxes = new CandidateBoxes();
    decodeYolox(out, { ...options, classes: [0, 2] }, boxes);
    expect(all(boxes)).toHaveLength(1);
    expect(boxes.classId[0]).toBe(2);
    expect(boxes.score[0]).toBeCloseTo(0.45, 5);
  });

  it('refuses an output that does not fit the input and strides', () => {
    const err = thrownBy(() => decodeYolox({ data: new Float32Array(39 * row), dims: [1, 39, row] }, options, new CandidateBoxes()));
    expect(isEdgeError(err, ErrorCode.VisionModelMismatch)).toBe(true);
    expect((err as Error).message).toContain('[1, 39, 8]');
    const badClass = thrownBy(() => decodeYolox(yoloxOutput({}), { ...options, classes: [3] }, new CandidateBoxes()));
    expect(isEdgeError(badClass, ErrorCode.VisionModelMismatch)).toBe(true);
  });
});

describe('decodeNanodet', () => {
  // 32×16 input, strides 8 and 16: a 4×2 grid then a 2×1 grid, 2 classes, regMax 3 (4 bins).
  const base = { inputWidth: 32, inputHeight: 16, strides: [8, 16], regMax: 3, scoreThreshold: 0.35, classes: [0, 1], centerOffset: 0.5 };
  const bins = 4;

  function level(n: number, anchor: number | undefined, scores: number[], sides: number[][]): [{ data: Float32Array; dims: number[] }, { data: Float32Array; dims: number[] }] {
    const cls = new Float32Array(n * 2);
    const dis = new Float32Array(n * 4 * bins);
    if (anchor !== undefined) {
      cls.set(scores, anchor * 2);
      dis.set(sides.flat(), anchor * 4 * bins);
    }
    return [
      { data: cls, dims: [1, n, 2] },
      { data: dis, dims: [1, n, 4 * bins] },
    ];
  }

  // Softmax of log-weights gives the weights normalised, so each side's expectation is exact:
  // [1,2,3,4]/10 → 2, uniform → 1.5, [4,3,2,1]/10 → 1, [1,1,1,5]/8 → 2.25.
  const sides = [[1, 2, 3, 4].map(Math.log), [0, 0, 0, 0], [4, 3, 2, 1].map(Math.log), [1, 1, 1, 5].map(Math.log)];

  it('takes the expectation of each side distribution times the stride around the anchor', () => {
    // Stride 8, column 2, row 1 is anchor 1 × 4 + 2; its centre is (2.5 × 8, 1.5 × 8) = (20, 12).
    const outputs = [...level(8, 6, [0.2, 0.7], sides), ...level(2, undefined, [], [])];
    const boxes = new CandidateBoxes();
    decodeNanodet(outputs, base, boxes);
    expect(boxes.count).toBe(1);
    expectBox(boxes.toDetection(0), { x1: 20 - 2 * 8, y1: 12 - 1.5 * 8, x2: 20 + 1 * 8, y2: 12 + 2.25 * 8, score: 0.7, classId: 1 });

    boxes.clear();
    decodeNanodet(outputs, { ...base, centerOffset: 0 }, boxes);
    expectBox(boxes.toDetection(0), { x1: 16 - 16, y1: 8 - 12, x2: 16 + 8, y2: 8 + 18, score: 0.7, classId: 1 });
  });

  it('reads the second stride from the next pair of outputs', () => {
    // Stride 16, column 1, row 0; centre (1.5 × 16, 0.5 × 16) = (24, 8).
    const outputs = [...level(8, undefined, [], []), ...level(2, 1, [0.9, 0.1], sides)];
    const boxes = new CandidateBoxes();
    decodeNanodet(outputs, base, boxes);
    expect(boxes.count).toBe(1);
    expectBox(boxes.toDetection(0), { x1: 24 - 32, y1: 8 - 24, x2: 24 + 16, y2: 8 + 36, score: 0.9, classId: 0 });
  });

  it('stays finite with huge logits and filters by threshold and kept classes', () => {
    const huge = [
      [1000, 0, 0, 0],
      [0, 1000, 0, 0],
      [0, 0, 1000, 0],
      [0, 0, 0, 1000],
    ];
    const outputs = [...level(8, 0, [0.9, 0.95], huge), ...level(2, 0, [0.3, 0.34], sides)];
    const boxes = new CandidateBoxes();
    decodeNanodet(outputs, { ...base, classes: [0] }, boxes);
    expect(boxes.count).toBe(1);
    // Anchor 0 of stride 8: centre (4, 4), distances 0, 1, 2, 3 strides.
    expectBox(boxes.toDetection(0), { x1: 4, y1: 4 - 8, x2: 4 + 16, y2: 4 + 24, score: 0.9, classId: 0 });
  });

  it('refuses outputs that do not fit', () => {
    const outputs = [...level(8, undefined, [], []), ...level(3, undefined, [], [])];
    const err = thrownBy(() => decodeNanodet(outputs, base, new CandidateBoxes()));
    expect(isEdgeError(err, ErrorCode.VisionModelMismatch)).toBe(true);
    expect((err as Error).message).toContain('stride 16');
    const short = thrownBy(() => decodeNanodet(outputs.slice(0, 2), base, new CandidateBoxes()));
    expect(isEdgeError(short, ErrorCode.VisionModelMismatch)).toBe(true);
  });
});

describe('decodeYolov8', () => {
  // 5 anchors, 2 classes; rows are cx, cy, w, h, score0, score1.
  const anchors: number[][] = [
    [10, 20, 4, 8, 0.9, 0.1],
    [50, 50, 10, 10, 0.2, 0.6],
    [30, 30, 6, 6, 0.1, 0.2],
    [70, 10, 2, 2, 0.5, 0.55],
    [0, 0, 8, 8, 0.29, 0.0],
  ];
  const anchorsFirst = { data: Float32Array.from(anchors.flat()), dims: [1, 5, 6] };
  const channelsFirst = { data: Float32Array.from(Array.from({ length: 6 }, (_, k) => anchors.map((a) => a[k]!)).flat()), dims: [1, 6, 5] };
  const options = { classCount: 2, scoreThreshold: 0.3, classes: [0, 1] };

  it('tells the two layouts apart from the dims and the class count', () => {
    expect(yolov8Layout([1, 84, 8400], 80)).toEqual({ anchors: 8400, channelsFirst: true });
    expect(yolov8Layout([1, 8400, 84], 80)).toEqual({ anchors: 8400, channelsFirst: false });
    expect(yolov8Layout([1, 6, 6], 2)).toEqual({ anchors: 6, channelsFirst: true });
    expect(isEdgeError(thrownBy(() => yolov8Layout([1, 85, 8400], 80)), ErrorCode.VisionModelMismatch)).toBe(true);
    expect(isEdgeError(thrownBy(() => yolov8Layout([84, 8400], 80)), ErrorCode.VisionModelMismatch)).toBe(true);
  });

  it('decodes centre and size in input pixels the same way in both layouts', () => {
    const expected: Detection[] = [
      { x1: 8, y1: 16, x2: 12, y2: 24, score: 0.9, classId: 0 },
      { x1: 45, y1: 45, x2: 55, y2: 55, score: 0.6, classId: 1 },
      { x1: 69, y1: 9, x2: 71, y2: 11, score: 0.55, classId: 1 },
    ];
    for (const output of [channelsFirst, anchorsFirst]) {
      const boxes = new CandidateBoxes();
      decodeYolov8(output, options, boxes);
      const got = all(boxes);
      expect(got).toHaveLength(expected.length);
      expected.forEach((e, i) => expectBox(got[i], e));
    }
  });

  it('keeps only the kept classes', () => {
    const boxes = new CandidateBoxes();
    decodeYolov8(channelsFirst, { ...options, classes: [0] }, boxes);
    expect(all(boxes).map((b) => [b.classId, Math.round(b.score * 100)])).toEqual([
      [0, 90],
      [0, 50],
    ]);
  });
});

describe('CandidateBoxes and ClassAwareNms', () => {
  function candidates(list: Detection[], capacity = 2): CandidateBoxes {
    const boxes = new CandidateBoxes(capacity);
    for (const b of list) boxes.push(b.x1, b.y1, b.x2, b.y2, b.score, b.classId);
    return boxes;
  }

  it('grows past its capacity without losing boxes', () => {
    const list = Array.from({ length: 100 }, (_, i) => ({ x1: i, y1: 0, x2: i + 1, y2: 1, score: i / 100, classId: i % 3 }));
    const boxes = candidates(list, 2);
    expect(boxes.count).toBe(100);
    expect(boxes.capacity).toBeGreaterThanOrEqual(100);
    expectBox(boxes.toDetection(73), list[73]!);
    expect(() => boxes.toDetection(100)).toThrow(RangeError);
  });

  it('suppresses overlapping boxes of the same class only, best score first', () => {
    const boxes = candidates([
      { x1: 1, y1: 0, x2: 11, y2: 10, score: 0.8, classId: 0 }, // IoU 90/110 with the best: suppressed
      { x1: 0, y1: 0, x2: 10, y2: 10, score: 0.9, classId: 0 },
      { x1: 1, y1: 0, x2: 11, y2: 10, score: 0.7, classId: 1 }, // same place, other class: kept
      { x1: 20, y1: 20, x2: 30, y2: 30, score: 0.6, classId: 0 }, // no overlap: kept
      { x1: 5, y1: 0, x2: 15, y2: 10, score: 0.5, classId: 0 }, // IoU 50/150 with the best: kept at 0.45
    ]);
    const nms = new ClassAwareNms();
    expect([...nms.select(boxes, 0.45, 100)]).toEqual([1, 2, 3, 4]);
    expect([...nms.select(boxes, 0.3, 100)]).toEqual([1, 2, 3]);
    expect([...nms.select(boxes, 0.45, 2)]).toEqual([1, 2]);
  });

  it('suppresses only above the threshold and handles empty input', () => {
    // Two 10×10 boxes sharing 50 of 150: IoU exactly 1/3.
    const boxes = candidates([
      { x1: 0, y1: 0, x2: 10, y2: 10, score: 0.9, classId: 0 },
      { x1: 5, y1: 0, x2: 15, y2: 10, score: 0.8, classId: 0 },
    ]);
    const nms = new ClassAwareNms();
    expect(nms.select(boxes, 1 / 3, 10)).toHaveLength(2);
    expect(nms.select(boxes, 0.33, 10)).toHaveLength(1);
    expect(nms.select(new CandidateBoxes(), 0.5, 10)).toHaveLength(0);
  });

  it('keeps its scratch working as the candidate count grows', () => {
    const nms = new ClassAwareNms();
    // 600 disjoint boxes, more than the initial scratch size: every one is kept, best first.
    const list = Array.from({ length: 600 }, (_, i) => ({ x1: i * 2, y1: 0, x2: i * 2 + 1, y2: 1, score: (i % 97) / 97, classId: 0 }));
    const kept = nms.select(candidates(list), 0.5, 1000);
    expect(kept).toHaveLength(600);
    for (let k = 1; k < kept.length; k++) expect(list[kept[k - 1]!]!.score).toBeGreaterThanOrEqual(list[kept[k]!]!.score);
  });
});

describe('InputPacker', () => {
  const plain: ModelInput = { width: 4, height: 4, layout: 'NCHW', colorOrder: 'BGR', scale: 1, resize: 'letterbox', letterboxAlign: 'top-left', padValue: 114, interpolation: 'linear' };

  /** A frame whose pixel (x, y) is B = 10y + x, G = 100 + B, R = 200 - B. */
  function gradient(width: number, height: number): FramePixels {
    const data = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const b = 10 * y + x;
        data.set([b, 100 + b, 200 - b], (y * width + x) * 3);
      }
    }
    return { data, width, height };
  }

  const bgrAt = (frame: FramePixels, x: number, y: number): number[] => [...frame.data.subarray((y * frame.width + x) * 3, (y * frame.width + x) * 3 + 3)];

  function nchw(t: Float32Array, w: number, h: number, c: number, x: number, y: number): number {
    return t[c * w * h + y * w + x]!;
  }

  it('letterboxes to the top-left without resizing when the frame fits, BGR planes, padding below', () => {
    const packer = new InputPacker(plain);
    const frame = gradient(4, 2);
    const fit = packer.pack(frame);
    expect(fit).toEqual({ scaleX: 1, scaleY: 1, padX: 0, padY: 0, offsetX: 0, offsetY: 0, width: 4, height: 2 });
    expect(packer.dims).toEqual([1, 3, 4, 4]);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        const expected = y < 2 ? bgrAt(frame, x, y) : [114, 114, 114];
        expect([0, 1, 2].map((c) => nchw(packer.tensorData, 4, 4, c, x, y))).toEqual(expected);
      }
    }
  });

  it('centres the picture, swaps to RGB and normalises with scale, mean and std per channel', () => {
    const input: ModelInput = { ...plain, colorOrder: 'RGB', letterboxAlign: 'center', scale: 0.5, mean: [10, 20, 30], std: [2, 4, 8], padValue: 0 };
    const packer = new InputPacker(input);
    const frame = gradient(4, 2);
    const fit = packer.pack(frame);
    expect(fit.padY).toBe(1);
    expect(fit.padX).toBe(0);
    const norm = (v: number, c: number): number => Math.fround((v * 0.5 - input.mean![c]!) / input.std![c]!);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        const inside = y >= 1 && y < 3;
        const [b, g, r] = inside ? bgrAt(frame, x, y - 1) : [0, 0, 0];
        const want = [norm(r!, 0), norm(g!, 1), norm(b!, 2)];
        [0, 1, 2].forEach((c) => expect(nchw(packer.tensorData, 4, 4, c, x, y)).toBeCloseTo(want[c]!, 5));
      }
    }
  });

  it('interleaves channels for NHWC', () => {
    const packer = new InputPacker({ ...plain, layout: 'NHWC', colorOrder: 'RGB' });
    const frame = gradient(4, 2);
    packer.pack(frame);
    expect(packer.dims).toEqual([1, 4, 4, 3]);
    const at = (x: number, y: number): number[] => [...packer.tensorData.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3)];
    expect(at(3, 1)).toEqual(bgrAt(frame, 3, 1).reverse());
    expect(at(0, 0)).toEqual(bgrAt(frame, 0, 0).reverse());
    expect(at(2, 3)).toEqual([114, 114, 114]);
  });

  it('packs a region of the frame and maps boxes back into it', () => {
    const packer = new InputPacker(plain);
    const frame = gradient(8, 4);
    const fit = packer.pack(frame, { x: 4, y: 0, width: 4, height: 4 });
    expect(fit).toEqual({ scaleX: 1, scaleY: 1, padX: 0, padY: 0, offsetX: 4, offsetY: 0, width: 4, height: 4 });
    expect([0, 1, 2].map((c) => nchw(packer.tensorData, 4, 4, c, 0, 0))).toEqual(bgrAt(frame, 4, 0));
    expect([0, 1, 2].map((c) => nchw(packer.tensorData, 4, 4, c, 3, 3))).toEqual(bgrAt(frame, 7, 3));
    expect(toFrame(fit, { x1: 1, y1: 1, x2: 3, y2: 2 })).toEqual({ x1: 5, y1: 1, x2: 7, y2: 2 });
    // Clipped to the region: nothing left of it was seen.
    expect(toFrame(fit, { x1: -2, y1: -1, x2: 5, y2: 9 })).toEqual({ x1: 4, y1: 0, x2: 8, y2: 4 });
  });

  it('scales down with one factor when letterboxing and maps boxes back through the padding', () => {
    const packer = new InputPacker({ ...plain, letterboxAlign: 'center' });
    const frame: FramePixels = { data: Buffer.alloc(8 * 4 * 3, 60), width: 8, height: 4 };
    const fit = packer.pack(frame);
    expect(fit).toEqual({ scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 1, offsetX: 0, offsetY: 0, width: 8, height: 4 });
    // A uniform frame stays uniform through linear resizing; the rows above and below are padding.
    for (let x = 0; x < 4; x++) {
      expect(nchw(packer.tensorData, 4, 4, 1, x, 0)).toBe(114);
      expect(nchw(packer.tensorData, 4, 4, 1, x, 1)).toBe(60);
      expect(nchw(packer.tensorData, 4, 4, 1, x, 2)).toBe(60);
      expect(nchw(packer.tensorData, 4, 4, 1, x, 3)).toBe(114);
    }
    expect(toFrame(fit, { x1: 1, y1: 1, x2: 3, y2: 3, score: 0.5 })).toEqual({ x1: 2, y1: 0, x2: 6, y2: 4, score: 0.5 });
    expect(toFrame(fit, { x1: 0.5, y1: 1.5, x2: 2, y2: 2 })).toEqual({ x1: 1, y1: 1, x2: 4, y2: 2 });
  });

  it('stretches with independent factors and averages pixel pairs when halving', () => {
    const packer = new InputPacker({ ...plain, resize: 'stretch' });
    // 8×4 frame whose columns come in equal pairs: halving the width averages each pair exactly.
    const data = Buffer.alloc(8 * 4 * 3);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) data.set([20 * (x >> 1), 5 * y, 90], (y * 8 + x) * 3);
    const fit = packer.pack({ data, width: 8, height: 4 });
    expect(fit).toEqual({ scaleX: 0.5, scaleY: 1, padX: 0, padY: 0, offsetX: 0, offsetY: 0, width: 8, height: 4 });
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) expect([0, 1, 2].map((c) => nchw(packer.tensorData, 4, 4, c, x, y))).toEqual([20 * x, 5 * y, 90]);
    }
    expect(toFrame(fit, { x1: 1, y1: 1, x2: 2, y2: 3 })).toEqual({ x1: 2, y1: 1, x2: 4, y2: 3 });
  });

  it('averages every pixel when shrinking with area interpolation, where linear samples only some', () => {
    // Thin lines: one 200 column in every four, shrunk 4× to a 4×4 input. Each output pixel covers
    // one line and three gaps (mean 50); linear interpolation looks between two gaps and sees 0.
    const data = Buffer.alloc(16 * 16 * 3);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) data.fill(x % 4 === 0 ? 200 : 0, (y * 16 + x) * 3, (y * 16 + x) * 3 + 3);
    const area = new InputPacker({ ...plain, resize: 'stretch', interpolation: 'area' });
    area.pack({ data, width: 16, height: 16 });
    for (let i = 0; i < 16; i++) expect(area.tensorData[i]).toBeCloseTo(50, 5);
    const linear = new InputPacker({ ...plain, resize: 'stretch' });
    linear.pack({ data, width: 16, height: 16 });
    expect([...linear.tensorData.slice(0, 16)].every((v) => v < 25)).toBe(true);
  });

  it('rewrites the padding when the picture size changes between frames', () => {
    const packer = new InputPacker(plain);
    packer.pack(gradient(4, 2));
    packer.pack({ data: Buffer.alloc(4 * 4 * 3, 7), width: 4, height: 4 });
    expect(nchw(packer.tensorData, 4, 4, 0, 2, 3)).toBe(7);
    packer.pack(gradient(4, 2));
    expect(nchw(packer.tensorData, 4, 4, 0, 2, 3)).toBe(114);
  });

  it('refuses frames and regions it cannot use with a clear error', () => {
    const packer = new InputPacker(plain);
    expect(() => packer.pack({ data: Buffer.alloc(10), width: 4, height: 2 })).toThrow(/4×2 BGR24 frame has 24 bytes, got 10/);
    expect(() => packer.pack({ data: Buffer.alloc(0), width: 0, height: 0 })).toThrow(RangeError);
    expect(() => packer.pack(gradient(4, 2), { x: 10, y: 0, width: 4, height: 2 })).toThrow(/does not overlap the 4×2 frame/);
    expect(() => packer.pack(gradient(4, 2), { x: 0, y: 0, width: Number.NaN, height: 2 })).toThrow(/not finite/);
    expect(() => new InputPacker({ ...plain, std: [1, 0, 1] })).toThrow(/std/);
  });
});
