import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import colormap from 'colormap';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { renderHeatmapPng, type HeatmapGrid } from '../../edge-agent/src/analytics/heatmap-image.js';
import { EdgeError, ErrorCode } from '../../edge-agent/src/errors.js';

type Rgb = [number, number, number];

interface Decoded {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

const BACKGROUND: Rgb = [230, 230, 230];
const TOP_ALPHA = 0.85;

const tempDir = mkdtempSync(join(tmpdir(), 'heatmap-image-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

async function decode(png: Buffer): Promise<Decoded> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function pixel(image: Decoded, x: number, y: number): Rgb {
  const i = (y * image.width + x) * image.channels;
  return [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
}

function distance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

function topColour(name: 'inferno' | 'viridis' | 'magma' | 'hot' | 'jet'): Rgb {
  const [r, g, b] = colormap({ colormap: name, nshades: 256, format: 'rgba' })[255]!;
  return [r, g, b];
}

function blend(over: Rgb, alpha: number, under: Rgb): Rgb {
  return [0, 1, 2].map((c) => over[c]! * alpha + under[c]! * (1 - alpha)) as Rgb;
}

/** A grid sized to cover the floor (the last cell may run past it), with the given cells set. */
function gridFor(widthM: number, depthM: number, cellM: number, cells: { x: number; y: number; seconds: number }[] = []): HeatmapGrid {
  const cols = Math.ceil(widthM / cellM);
  const rows = Math.ceil(depthM / cellM);
  const seconds = new Float64Array(cols * rows);
  for (const c of cells) seconds[Math.floor(c.y / cellM) * cols + Math.floor(c.x / cellM)] = c.seconds;
  return { cols, rows, cellM, seconds };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('renderHeatmapPng', () => {
  it('sizes the image from the floor and pixelsPerMetre', async () => {
    const grid = gridFor(6, 4, 0.5);
    const byDefault = await renderHeatmapPng(grid, { widthM: 6, depthM: 4 });
    expect([byDefault.width, byDefault.height]).toEqual([240, 160]);
    const decoded = await decode(byDefault.png);
    expect([decoded.width, decoded.height]).toEqual([240, 160]);

    const scaled = await renderHeatmapPng(gridFor(6.2, 4.23, 0.5), { widthM: 6.2, depthM: 4.23, pixelsPerMetre: 25 });
    expect([scaled.width, scaled.height]).toEqual([155, 106]);
    const scaledDecoded = await decode(scaled.png);
    expect([scaledDecoded.width, scaledDecoded.height]).toEqual([155, 106]);

    const tiny = await renderHeatmapPng({ cols: 1, rows: 1, cellM: 1, seconds: new Float64Array([5]) }, { widthM: 0.001, depthM: 0.001 });
    expect([tiny.width, tiny.height]).toEqual([1, 1]);
  });

  it('draws a hot cell at its floor position in the top colour and leaves empty floor as background', async () => {
    // 0.5 m cells at 40 px/m: 20 px per cell; the cell holding (1.7, 1.2) is col 3, row 2, centred on pixel (70, 50).
    const grid = gridFor(6, 4, 0.5, [{ x: 1.7, y: 1.2, seconds: 300 }]);
    const result = await renderHeatmapPng(grid, { widthM: 6, depthM: 4 });
    expect(result.maxSeconds).toBe(300);
    const image = await decode(result.png);

    const centre = pixel(image, 70, 50);
    const expected = blend(topColour('inferno'), TOP_ALPHA, BACKGROUND);
    expect(distance(centre, expected)).toBeLessThan(8);
    expect(distance(centre, BACKGROUND)).toBeGreaterThan(50);
    expect(pixel(image, 220, 140)).toEqual(BACKGROUND);
    expect(pixel(image, 0, 0)).toEqual(BACKGROUND);

    // The heat is centred on the cell: the centre is the strongest pixel, and the heat's centroid sits there.
    let strongest = 0;
    let [sum, sumX, sumY] = [0, 0, 0];
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const d = distance(pixel(image, x, y), BACKGROUND);
        strongest = Math.max(strongest, d);
        sum += d;
        sumX += d * x;
        sumY += d * y;
      }
    }
    expect(distance(centre, BACKGROUND)).toBeGreaterThanOrEqual(strongest - 2);
    expect(Math.abs(sumX / sum - 69.5)).toBeLessThan(1);
    expect(Math.abs(sumY / sum - 49.5)).toBeLessThan(1);
    // Smoothing spreads the heat at most one cell from the cell's centre.
    expect(pixel(image, 70, 50 - 21)).toEqual(BACKGROUND);
    expect(pixel(image, 70 + 21, 50)).toEqual(BACKGROUND);
  });

  it('maps cells by metre position when the last cell runs past the floor', async () => {
    // 6.2 m floor, 0.5 m cells: 13 columns, the last one (6.0..6.5 m, pixels 240..260) cut at 248.
    const grid = gridFor(6.2, 4, 0.5, [
      { x: 6.1, y: 0.2, seconds: 60 },
      { x: 3.2, y: 1.2, seconds: 60 },
    ]);
    expect(grid.cols).toBe(13);
    const image = await decode((await renderHeatmapPng(grid, { widthM: 6.2, depthM: 4, colormap: 'jet' })).png);
    expect(image.width).toBe(248);
    expect(distance(pixel(image, 247, 10), BACKGROUND)).toBeGreaterThan(100);
    expect(pixel(image, 200, 10)).toEqual(BACKGROUND);
    // Col 6 spans 3.0..3.5 m, pixels 120..140; stretching 13 cells over 248 px would centre it near 124.
    let peak = 0;
    for (let x = 0; x < image.width; x++) {
      if (distance(pixel(image, x, 50), BACKGROUND) > distance(pixel(image, peak, 50), BACKGROUND)) peak = x;
    }
    expect(Math.abs(peak - 130)).toBeLessThanOrEqual(1);
  });

  it('renders an all-zero grid as plain background with maxSeconds 0', async () => {
    const result = await renderHeatmapPng(gridFor(3, 2, 0.25), { widthM: 3, depthM: 2, colormap: 'jet' });
    expect(result.maxSeconds).toBe(0);
    const image = await decode(result.png);
    expect(image.channels).toBe(3);
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) expect(pixel(image, x, y)).toEqual(BACKGROUND);
    }
  });

  it('defaults maxSeconds to the 99th percentile of the occupied cells and honours an explicit one', async () => {
    // 100 cells of 10 s along the first five rows, one lone 1000 s cell far from them.
    const cols = 20;
    const rows = 20;
    const seconds = new Float64Array(cols * rows);
    for (let i = 0; i < 100; i++) seconds[i] = 10;
    const hot = 15 * cols + 15;
    seconds[hot] = 1000;
    const grid: HeatmapGrid = { cols, rows, cellM: 0.5, seconds };
    const options = { widthM: 10, depthM: 10, pixelsPerMetre: 20 };

    const byDefault = await renderHeatmapPng(grid, options);
    expect(byDefault.maxSeconds).toBeCloseTo(10, 6);
    const image = await decode(byDefault.png);
    // 10 px per cell: the 10 s cell at (col 5, row 2) and the 1000 s cell both reach the top colour.
    const tenSeconds = pixel(image, 55, 25);
    const thousand = pixel(image, 155, 155);
    expect(distance(tenSeconds, thousand)).toBeLessThan(8);

    const explicit = await renderHeatmapPng(grid, { ...options, maxSeconds: 2000 });
    expect(explicit.maxSeconds).toBe(2000);
    const explicitImage = await decode(explicit.png);
    const faint = pixel(explicitImage, 55, 25);
    const halfway = pixel(explicitImage, 155, 155);
    expect(distance(faint, BACKGROUND)).toBeLessThan(distance(halfway, BACKGROUND));
    expect(distance(faint, tenSeconds)).toBeGreaterThan(50);
    expect(distance(halfway, blend(topColour('inferno'), TOP_ALPHA, BACKGROUND))).toBeGreaterThan(30);
  });

  it('clamps values above an explicit maxSeconds to the top colour of the chosen colormap', async () => {
    const grid = gridFor(4, 4, 1, [{ x: 1.5, y: 1.5, seconds: 500 }]);
    const result = await renderHeatmapPng(grid, { widthM: 4, depthM: 4, pixelsPerMetre: 20, colormap: 'viridis', maxSeconds: 50 });
    expect(result.maxSeconds).toBe(50);
    const image = await decode(result.png);
    expect(distance(pixel(image, 30, 30), blend(topColour('viridis'), TOP_ALPHA, BACKGROUND))).toBeLessThan(8);
  });

  it('stretches a plan image under the heat', async () => {
    // 30 x 20 plan, red left half and blue right half, stretched to a 120 x 80 floor image.
    const plan = Buffer.alloc(30 * 20 * 3);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 30; x++) plan.set(x < 15 ? [255, 0, 0] : [0, 0, 255], (y * 30 + x) * 3);
    }
    const planImage = join(tempDir, 'plan.png');
    writeFileSync(planImage, await sharp(plan, { raw: { width: 30, height: 20, channels: 3 } }).png().toBuffer());

    const grid = gridFor(6, 4, 0.5, [{ x: 4.2, y: 2.2, seconds: 120 }]);
    const result = await renderHeatmapPng(grid, { widthM: 6, depthM: 4, pixelsPerMetre: 20, planImage });
    const image = await decode(result.png);
    expect([image.width, image.height]).toEqual([120, 80]);
    for (const [x, y] of [[2, 2], [50, 40], [5, 77]] as const) expect(distance(pixel(image, x, y), [255, 0, 0])).toBeLessThan(3);
    for (const [x, y] of [[70, 10], [117, 2], [117, 77]] as const) expect(distance(pixel(image, x, y), [0, 0, 255])).toBeLessThan(3);
    // Heat over the blue half, at the cell of (4.2, 2.2): col 8, row 4, centred on pixel (85, 45).
    const heat = pixel(image, 85, 45);
    expect(distance(heat, blend(topColour('inferno'), TOP_ALPHA, [0, 0, 255]))).toBeLessThan(8);
  });

  it('rejects a plan image that cannot be read with VISION_IMAGE_UNREADABLE', async () => {
    const grid = gridFor(2, 2, 0.5);
    const missing = join(tempDir, 'no-such-plan.png');
    const error = await rejection(renderHeatmapPng(grid, { widthM: 2, depthM: 2, planImage: missing }));
    expect(error).toBeInstanceOf(EdgeError);
    expect((error as EdgeError).code).toBe(ErrorCode.VisionImageUnreadable);
    expect((error as EdgeError).code).toBe('VISION_IMAGE_UNREADABLE');
    expect((error as EdgeError).message).toContain(missing);
    expect((error as EdgeError).details).toEqual({ file: missing });

    const notAnImage = join(tempDir, 'plan.txt');
    writeFileSync(notAnImage, 'this is not an image');
    const garbled = await rejection(renderHeatmapPng(grid, { widthM: 2, depthM: 2, planImage: notAnImage }));
    expect(garbled).toBeInstanceOf(EdgeError);
    expect((garbled as EdgeError).code).toBe(ErrorCode.VisionImageUnreadable);
  });

  it('rejects malformed grids and options with a message naming the problem', async () => {
    const floor = { widthM: 2, depthM: 2 };
    await expect(renderHeatmapPng({ cols: 2, rows: 2, cellM: 1, seconds: new Float64Array(5) }, floor)).rejects.toThrow(
      /seconds has 5 values, expected cols \* rows = 2 \* 2 = 4/,
    );
    await expect(renderHeatmapPng({ cols: 2, rows: 2, cellM: 0, seconds: new Float64Array(4) }, floor)).rejects.toThrow(/cellM/);
    await expect(renderHeatmapPng({ cols: 2, rows: 2, cellM: 1, seconds: new Float64Array([0, 1, -1, 0]) }, floor)).rejects.toThrow(
      /non-negative, got -1 at row 1, col 0/,
    );
    await expect(renderHeatmapPng({ cols: 2, rows: 2, cellM: 1, seconds: new Float64Array([0, NaN, 0, 0]) }, floor)).rejects.toThrow(
      /got NaN at row 0, col 1/,
    );
    await expect(renderHeatmapPng(gridFor(2, 2, 1), { widthM: 0, depthM: 2 })).rejects.toThrow(/widthM/);
    await expect(renderHeatmapPng(gridFor(2, 2, 1), { widthM: 2, depthM: -1 })).rejects.toThrow(/depthM/);
    const error = await rejection(renderHeatmapPng({ cols: 2, rows: 2, cellM: 1, seconds: new Float64Array(3) }, floor));
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(EdgeError);
  });
});
