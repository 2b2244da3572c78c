/**
 * Packaging for simulated products: every product gets its own design (colours, a pattern, its
 * name on a label) derived from its id, so the shelf camera, the recogniser's gallery and a human
 * looking at a frame all see the same box. Designs are SVG rendered once with sharp; the scene
 * renderer then copies raw RGB pixels.
 */
import sharp from 'sharp';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { ProductConfig } from '../../../../device-config/schema.js';
import { packageSize } from '../product-geometry.js';
import type { Rgb } from '../world-snapshot.js';

export type PackagingPattern = 'stripes' | 'diagonal' | 'dots' | 'bands' | 'checks';

export interface PackagingDesign {
  product: string;
  name: string;
  background: Rgb;
  accent: Rgb;
  label: Rgb;
  text: Rgb;
  pattern: PackagingPattern;
  /** Drinks get a cap, the rest a top band. */
  cap: boolean;
}

/** One product's packaging as raw RGB24, at the size one camera needs. */
export interface PackagingTile {
  product: string;
  width: number;
  height: number;
  data: Buffer;
  /** Average colour, for faces too small or too oblique to show the design. */
  mean: Rgb;
}

const PATTERNS: readonly PackagingPattern[] = ['stripes', 'diagonal', 'dots', 'bands', 'checks'];
const MIN_TILE_PX = 2;

export function packagingDesign(product: Pick<ProductConfig, 'id' | 'name' | 'category'>): PackagingDesign {
  const rng = xoroshiro128plus(fnv1a(product.id));
  const r = () => uniformFloat64(rng);
  const hue = r() * 360;
  const background = hsl(hue, 0.55 + 0.35 * r(), 0.32 + 0.25 * r());
  const accent = hsl((hue + 140 + 80 * r()) % 360, 0.6 + 0.3 * r(), 0.5 + 0.2 * r());
  const darkLabel = r() < 0.25;
  const label = darkLabel ? hsl(hue, 0.3, 0.15) : hsl((hue + 30) % 360, 0.25, 0.9 + 0.06 * r());
  const text = darkLabel ? ([245, 245, 240] as const) : hsl(hue, 0.7, 0.2);
  const pattern = PATTERNS[Math.floor(r() * PATTERNS.length)] ?? 'stripes';
  return { product: product.id, name: product.name, background, accent, label, text, pattern, cap: product.category === 'drinks' };
}

/** The design as an SVG document of the given pixel size. */
export function packagingSvg(product: Pick<ProductConfig, 'id' | 'name' | 'category'>, widthPx: number, heightPx: number): string {
  const d = packagingDesign(product);
  const vw = 100;
  const vh = (100 * heightPx) / widthPx;
  const lines = wrap(d.name, 11);
  const longest = Math.max(...lines.map((l) => l.length));
  const font = Math.min(18, 84 / (0.74 * longest));
  const labelH = lines.length * font * 1.15 + font * 0.8;
  const labelY = vh * 0.55 - labelH / 2;
  const text = lines
    .map((l, i) => `<text x="50" y="${f(labelY + font * 0.4 + (i + 0.85) * font * 1.15)}" font-size="${f(font)}">${escapeXml(l)}</text>`)
    .join('');
  const top = d.cap
    ? `<rect x="30" y="0" width="40" height="${f(vh * 0.07)}" fill="${css(shade(d.accent, 0.6))}"/><rect x="22" y="${f(vh * 0.07)}" width="56" height="${f(vh * 0.05)}" fill="${css(shade(d.background, 0.7))}"/>`
    : `<rect x="0" y="0" width="100" height="${f(vh * 0.1)}" fill="${css(d.accent)}"/>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 ${vw} ${f(vh)}" preserveAspectRatio="none">`,
    `<defs>${patternDef(d)}</defs>`,
    `<rect width="100" height="${f(vh)}" fill="${css(d.background)}"/>`,
    `<rect width="100" height="${f(vh)}" fill="url(#p)" opacity="0.5"/>`,
    top,
    `<rect x="0" y="${f(vh * 0.92)}" width="100" height="${f(vh * 0.08)}" fill="${css(shade(d.background, 0.65))}"/>`,
    `<rect x="7" y="${f(labelY)}" width="86" height="${f(labelH)}" rx="7" fill="${css(d.label)}"/>`,
    `<g font-family="DejaVu Sans, sans-serif" font-weight="bold" text-anchor="middle" fill="${css(d.text)}">${text}</g>`,
    `<circle cx="50" cy="${f(labelY - 12)}" r="8" fill="${css(d.label)}" stroke="${css(d.accent)}" stroke-width="3"/>`,
    '</svg>',
  ].join('');
}

function patternDef(d: PackagingDesign): string {
  const a = css(d.accent);
  switch (d.pattern) {
    case 'stripes':
      return `<pattern id="p" patternUnits="userSpaceOnUse" width="100" height="16"><rect y="0" width="100" height="5" fill="${a}"/></pattern>`;
    case 'diagonal':
      return `<pattern id="p" patternUnits="userSpaceOnUse" width="18" height="18" patternTransform="rotate(35)"><rect width="7" height="18" fill="${a}"/></pattern>`;
    case 'dots':
      return `<pattern id="p" patternUnits="userSpaceOnUse" width="16" height="16"><circle cx="8" cy="8" r="4" fill="${a}"/></pattern>`;
    case 'bands':
      return `<pattern id="p" patternUnits="userSpaceOnUse" width="40" height="400"><rect x="0" width="12" height="400" fill="${a}"/></pattern>`;
    case 'checks':
      return `<pattern id="p" patternUnits="userSpaceOnUse" width="24" height="24"><rect width="12" height="12" fill="${a}"/><rect x="12" y="12" width="12" height="12" fill="${a}"/></pattern>`;
  }
}

/** The packaging front as a PNG of the given height; the width follows the package's proportions. */
export async function renderPackagingPng(product: ProductConfig, heightPx: number): Promise<Buffer> {
  if (!Number.isInteger(heightPx) || heightPx < 8 || heightPx > 4096) {
    throw new RangeError(`packaging height must be an integer from 8 to 4096 pixels, got ${heightPx}`);
  }
  const size = packageSize(product);
  const widthPx = Math.max(MIN_TILE_PX, Math.round((heightPx * size.widthM) / size.heightM));
  return sharp(Buffer.from(packagingSvg(product, widthPx, heightPx)))
    .flatten({ background: '#808080' })
    .png()
    .toBuffer();
}

async function renderTile(product: ProductConfig, widthPx: number, heightPx: number): Promise<PackagingTile> {
  const { data, info } = await sharp(Buffer.from(packagingSvg(product, widthPx, heightPx)))
    .flatten({ background: '#808080' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== widthPx || info.height !== heightPx || info.channels !== 3) {
    throw new Error(`packaging of ${product.id}: rendered ${info.width}×${info.height}×${info.channels}, wanted ${widthPx}×${heightPx}×3`);
  }
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i += 3) {
    sum[0]! += data[i]!;
    sum[1]! += data[i + 1]!;
    sum[2]! += data[i + 2]!;
  }
  const n = widthPx * heightPx;
  const mean = [Math.round(sum[0]! / n), Math.round(sum[1]! / n), Math.round(sum[2]! / n)] as const;
  return { product: product.id, width: widthPx, height: heightPx, data, mean };
}

/** Every product's packaging as raw tiles at one scale (pixels per metre of package). */
export class PackagingTiles {
  private constructor(
    readonly pixelsPerMetre: number,
    private readonly tiles: ReadonlyMap<string, PackagingTile>,
  ) {}

  static async render(products: readonly ProductConfig[], pixelsPerMetre: number): Promise<PackagingTiles> {
    if (!(pixelsPerMetre > 0) || !Number.isFinite(pixelsPerMetre)) throw new RangeError(`pixels per metre must be positive, got ${pixelsPerMetre}`);
    const tiles = await Promise.all(
      products.map((p) => {
        const size = packageSize(p);
        const w = Math.max(MIN_TILE_PX, Math.round(size.widthM * pixelsPerMetre));
        const h = Math.max(MIN_TILE_PX, Math.round(size.heightM * pixelsPerMetre));
        return renderTile(p, w, h);
      }),
    );
    return new PackagingTiles(pixelsPerMetre, new Map(tiles.map((t) => [t.product, t])));
  }

  get(product: string): PackagingTile | undefined {
    return this.tiles.get(product);
  }
}

function wrap(name: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of name.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.length > 0 ? lines : ['?'];
}

export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function hsl(h: number, s: number, l: number): Rgb {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const hp = h / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const [r, g, b] = hp < 1 ? [c, x, 0] : hp < 2 ? [x, c, 0] : hp < 3 ? [0, c, x] : hp < 4 ? [0, x, c] : hp < 5 ? [x, 0, c] : [c, 0, x];
  const m = l - c / 2;
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

const shade = (c: Rgb, k: number): Rgb => [Math.round(c[0] * k), Math.round(c[1] * k), Math.round(c[2] * k)];
const css = (c: Rgb) => `rgb(${c[0]},${c[1]},${c[2]})`;
const f = (n: number) => (Math.round(n * 100) / 100).toString();
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
