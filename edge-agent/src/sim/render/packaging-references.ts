/**
 * Reference pictures of the simulated products for the recognition gallery: each product's
 * packaging rendered as a store would photograph it for the gallery — a few sizes, lighter and
 * darker, slightly off-centre — as BGR pixels like a camera frame.
 */
import sharp from 'sharp';
import type { ProductConfig } from '../../../../device-config/schema.js';
import type { FramePixels } from '../../vision/detect/input-packer.js';
import { packageSize } from '../product-geometry.js';
import { packagingSvg } from './packaging.js';

export interface ReferencePicture {
  product: string;
  source: string;
  frame: FramePixels;
}

/** From the few pixels a product covers in a shelf camera frame to a close-up photo. */
const HEIGHTS = [16, 24, 32, 48, 96, 160] as const;
const GAINS = [0.7, 1, 1.25] as const;

export async function packagingReferences(products: readonly ProductConfig[]): Promise<ReferencePicture[]> {
  const out: ReferencePicture[] = [];
  for (const product of products) {
    const size = packageSize(product);
    for (const height of HEIGHTS) {
      const width = Math.max(8, Math.round((height * size.widthM) / size.heightM));
      const { data } = await sharp(Buffer.from(packagingSvg(product, width, height)))
        .flatten({ background: '#808080' })
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const bgr = Buffer.alloc(data.length);
      for (let i = 0; i < data.length; i += 3) {
        bgr[i] = data[i + 2]!;
        bgr[i + 1] = data[i + 1]!;
        bgr[i + 2] = data[i]!;
      }
      for (const gain of GAINS) {
        const lit = gain === 1 ? bgr : Buffer.from(bgr.map((v) => Math.min(255, Math.round(v * gain))));
        out.push({ product: product.id, source: `sim-packaging:${height}px:x${gain}`, frame: { data: lit, width, height } });
      }
      // Cropped a little, as a hand or the shelf edge hides part of the front.
      const inset = Math.max(1, Math.round(height * 0.08));
      const cropped = crop({ data: bgr, width, height }, inset);
      if (cropped) out.push({ product: product.id, source: `sim-packaging:${height}px:inset`, frame: cropped });
    }
  }
  return out;
}

function crop(frame: FramePixels, inset: number): FramePixels | undefined {
  const w = frame.width - 2 * inset;
  const h = frame.height - 2 * inset;
  if (w < 4 || h < 4) return undefined;
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) frame.data.copy(data, y * w * 3, ((y + inset) * frame.width + inset) * 3, ((y + inset) * frame.width + inset + w) * 3);
  return { data, width: w, height: h };
}
