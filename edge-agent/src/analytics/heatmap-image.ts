/**
 * Floor occupancy heatmaps as PNG: seconds spent per floor cell, colour-mapped and laid over the
 * floor plan (or a plain background). Only the cell-resolution layer is built in JS; sharp does the
 * upscaling and compositing.
 */
import colormap from 'colormap';
import sharp, { type OutputInfo, type OverlayOptions } from 'sharp';
import { EdgeError, ErrorCode } from '../errors.js';

/** Occupancy seconds per floor cell, row-major: index = row * cols + col, row = floor(y / cellM) (y grows down the floor plan), col = floor(x / cellM). */
export interface HeatmapGrid {
  cols: number;
  rows: number;
  cellM: number;
  seconds: Float64Array;
}

export interface HeatmapImageOptions {
  /** Floor plan width (x), metres. */
  widthM: number;
  /** Floor plan depth (y), metres. */
  depthM: number;
  /** Path of a floor plan image (PNG/JPEG): drawn under the heat, stretched to the floor. */
  planImage?: string;
  /** Output scale, default 40. */
  pixelsPerMetre?: number;
  /** Default 'inferno'. */
  colormap?: 'inferno' | 'viridis' | 'magma' | 'hot' | 'jet';
  /**
   * Value mapped to the top colour; default: the 99th percentile of the non-zero cells (so one hot
   * cell does not wash out the rest). Values above clamp.
   */
  maxSeconds?: number;
}

export interface HeatmapImage {
  png: Buffer;
  width: number;
  height: number;
  /** The value that was mapped to the top colour: 0 when the grid is empty and no maxSeconds was given. */
  maxSeconds: number;
}

type ColormapName = NonNullable<HeatmapImageOptions['colormap']>;

const DEFAULT_PIXELS_PER_METRE = 40;
const DEFAULT_COLORMAP: ColormapName = 'inferno';
const COLORMAP_NAMES: readonly ColormapName[] = ['inferno', 'viridis', 'magma', 'hot', 'jet'];
const SHADES = 256;
const BACKGROUND = { r: 230, g: 230, b: 230 } as const;
// Even the faintest occupied cell must show; the hottest must still let the plan through.
const MIN_ALPHA = 0.15;
const MAX_ALPHA = 0.85;
const DEFAULT_PERCENTILE = 0.99;

const colourTables = new Map<ColormapName, Uint8Array>();

/** The colormap as packed RGB, SHADES entries. */
function colourTable(name: ColormapName): Uint8Array {
  let table = colourTables.get(name);
  if (!table) {
    const shades = colormap({ colormap: name, nshades: SHADES, format: 'rgba' });
    table = new Uint8Array(SHADES * 3);
    shades.forEach(([r, g, b], i) => table!.set([r, g, b], i * 3));
    colourTables.set(name, table);
  }
  return table;
}

export async function renderHeatmapPng(grid: HeatmapGrid, options: HeatmapImageOptions): Promise<HeatmapImage> {
  validate(grid, options);
  const ppm = options.pixelsPerMetre ?? DEFAULT_PIXELS_PER_METRE;
  const width = Math.max(1, Math.round(options.widthM * ppm));
  const height = Math.max(1, Math.round(options.depthM * ppm));
  const maxSeconds = options.maxSeconds ?? percentileOfNonZero(grid.seconds, DEFAULT_PERCENTILE);

  const background = await renderBackground(options.planImage, width, height);
  const layers: OverlayOptions[] = [];
  if (maxSeconds > 0 && grid.cols > 0 && grid.rows > 0) {
    const table = colourTable(options.colormap ?? DEFAULT_COLORMAP);
    layers.push(await renderHeatLayer(grid, maxSeconds, table, ppm, width, height));
  }
  const { data, info } = background;
  const png = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .composite(layers)
    .removeAlpha()
    .png()
    .toBuffer();
  return { png, width, height, maxSeconds };
}

function validate(grid: HeatmapGrid, options: HeatmapImageOptions): void {
  const positive = (value: number, what: string): void => {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`heatmap: ${what} must be a positive number, got ${value}`);
  };
  positive(options.widthM, 'widthM');
  positive(options.depthM, 'depthM');
  if (options.pixelsPerMetre !== undefined) positive(options.pixelsPerMetre, 'pixelsPerMetre');
  if (options.maxSeconds !== undefined) positive(options.maxSeconds, 'maxSeconds');
  if (options.colormap !== undefined && !COLORMAP_NAMES.includes(options.colormap)) {
    throw new Error(`heatmap: unknown colormap '${String(options.colormap)}' (expected one of ${COLORMAP_NAMES.join(', ')})`);
  }
  positive(grid.cellM, 'grid cellM');
  for (const [what, value] of [['cols', grid.cols], ['rows', grid.rows]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`heatmap: grid ${what} must be a non-negative integer, got ${value}`);
  }
  if (grid.seconds.length !== grid.cols * grid.rows) {
    throw new Error(
      `heatmap: grid seconds has ${grid.seconds.length} values, expected cols * rows = ${grid.cols} * ${grid.rows} = ${grid.cols * grid.rows}`,
    );
  }
  for (let i = 0; i < grid.seconds.length; i++) {
    const value = grid.seconds[i]!;
    if (!Number.isFinite(value) || value < 0) {
      const row = Math.floor(i / grid.cols);
      throw new Error(`heatmap: grid seconds must be finite and non-negative, got ${value} at row ${row}, col ${i - row * grid.cols}`);
    }
  }
}

/** Linear-interpolated percentile (0..1) of the values above zero; 0 when there are none. */
function percentileOfNonZero(values: Float64Array, p: number): number {
  const nonZero = values.filter((v) => v > 0).sort();
  if (nonZero.length === 0) return 0;
  const rank = p * (nonZero.length - 1);
  const below = Math.floor(rank);
  const above = Math.min(below + 1, nonZero.length - 1);
  return nonZero[below]! + (nonZero[above]! - nonZero[below]!) * (rank - below);
}

async function renderBackground(planImage: string | undefined, width: number, height: number): Promise<{ data: Buffer; info: OutputInfo }> {
  if (planImage === undefined) {
    return sharp({ create: { width, height, channels: 3, background: BACKGROUND } }).raw().toBuffer({ resolveWithObject: true });
  }
  try {
    // A transparent plan would make the output transparent too; the neutral background fills in.
    return await sharp(planImage)
      .resize(width, height, { fit: 'fill' })
      .flatten({ background: BACKGROUND })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new EdgeError(ErrorCode.VisionImageUnreadable, `cannot read floor plan image ${planImage}: ${reason}`, {
      cause,
      details: { file: planImage },
    });
  }
}

/**
 * The heat as an RGBA overlay of exactly the output size or smaller (anchored top-left): one pixel
 * per cell, upscaled by cellM * ppm so that cell edges land at col * cellM * ppm, then cropped where
 * the grid runs past the floor.
 */
async function renderHeatLayer(
  grid: HeatmapGrid,
  maxSeconds: number,
  table: Uint8Array,
  ppm: number,
  width: number,
  height: number,
): Promise<OverlayOptions> {
  const { cols, rows, cellM, seconds } = grid;
  const cells = Buffer.alloc(cols * rows * 4);
  for (let i = 0; i < seconds.length; i++) {
    const value = seconds[i]!;
    if (value <= 0) continue;
    const t = Math.min(1, value / maxSeconds);
    const shade = Math.round(t * (SHADES - 1)) * 3;
    cells[i * 4] = table[shade]!;
    cells[i * 4 + 1] = table[shade + 1]!;
    cells[i * 4 + 2] = table[shade + 2]!;
    cells[i * 4 + 3] = Math.round(255 * (MIN_ALPHA + (MAX_ALPHA - MIN_ALPHA) * t));
  }

  const scaledWidth = Math.max(1, Math.round(cols * cellM * ppm));
  const scaledHeight = Math.max(1, Math.round(rows * cellM * ppm));
  // Bilinear: smooth, without the overshoot rings a Lanczos kernel draws around a lone hot cell.
  let pipeline = sharp(cells, { raw: { width: cols, height: rows, channels: 4 } }).resize(scaledWidth, scaledHeight, {
    fit: 'fill',
    kernel: 'linear',
  });
  const layerWidth = Math.min(scaledWidth, width);
  const layerHeight = Math.min(scaledHeight, height);
  if (layerWidth < scaledWidth || layerHeight < scaledHeight) {
    pipeline = pipeline.extract({ left: 0, top: 0, width: layerWidth, height: layerHeight });
  }
  const layer = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return {
    input: layer.data,
    raw: { width: layer.info.width, height: layer.info.height, channels: 4 },
    left: 0,
    top: 0,
  };
}
