/**
 * Reference pictures of a simulated store's products as its own shelf cameras see them — the way a
 * store enrols products with photos from the cameras that will recognise them. Each product stands
 * alone at the front of its last plate (the demo's recognition is then tried at its first), lit
 * darker and brighter and shifted a few centimetres either way. Products no shelf camera sees
 * get the drawn packaging instead.
 */
import type { ProductConfig, StoreConfig } from '../../../../device-config/schema.js';
import type { FramePixels } from '../../vision/detect/input-packer.js';
import { simCameraRig, type SimCamera } from '../cameras/sim-camera.js';
import { packageSize } from '../product-geometry.js';
import { StoreLayout, type GondolaLayout, type PlateLayout } from '../store-layout.js';
import type { ShelfUnit } from '../world-snapshot.js';
import { packagingReferences, type ReferencePicture } from './packaging-references.js';
import { SceneRenderer } from './scene-renderer.js';

/** Light levels and sideways shifts (metres) of the reference shots. */
const SHOTS: readonly { light: number; du: number }[] = [
  { light: 0.8, du: 0 },
  { light: 1.2, du: 0 },
  { light: 1, du: 0.03 },
  { light: 1, du: -0.03 },
];

export async function shelfCameraReferences(config: StoreConfig, products: readonly ProductConfig[]): Promise<ReferencePicture[]> {
  const layout = new StoreLayout(config);
  const rig = simCameraRig(layout).filter((c) => c.role === 'shelf');
  const renderer = await SceneRenderer.create(layout, rig, config.planogram.products);
  const out: ReferencePicture[] = [];
  const seen = new Set<string>();
  for (const cam of rig) {
    const gondola = layout.gondolas.find((g) => g.id === cam.gondola);
    if (!gondola) continue;
    const mine = products
      .map((p) => ({ p, plate: layout.plates.get(p.plates[p.plates.length - 1]!) }))
      .filter((x) => x.plate?.gondola === gondola.id && !seen.has(x.p.id));
    if (mine.length === 0) continue;
    const frame = Buffer.alloc(cam.width * cam.height * 3);
    for (const shot of SHOTS) {
      const facings = mine.map(({ p, plate }) => frontFacing(cam, gondola, plate!, p, shot.du));
      renderer.render(cam.id, { at: 0, shoppers: [], units: facings.map((f) => f.unit), light: shot.light }, frame);
      for (const { unit, box } of facings) {
        const picture = box && cut({ data: frame, width: cam.width, height: cam.height }, box);
        if (!picture) continue;
        out.push({ product: unit.product, source: `sim-shelf-camera:${cam.id}:light ${shot.light}:${Math.round(shot.du * 100)} cm`, frame: picture });
        seen.add(unit.product);
      }
    }
  }
  const unseen = products.filter((p) => !seen.has(p.id));
  if (unseen.length > 0) out.push(...(await packagingReferences(unseen)));
  return out;
}

export interface PixelBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * One unit of a product standing alone at the front of a plate (`du` metres off its middle), and
 * where the shelf camera sees it (undefined when the camera cannot project it).
 */
export function frontFacing(cam: SimCamera, gondola: GondolaLayout, plate: PlateLayout, product: ProductConfig, du = 0): { unit: ShelfUnit; box: PixelBox | undefined } {
  const size = packageSize(product);
  const u = (plate.u0 + plate.u1) / 2 + du;
  const unit: ShelfUnit = { product: product.id, shelf: `${plate.gondola}.${plate.shelf}`, u, depth: 0, widthM: size.widthM, heightM: size.heightM };
  const at = (d: number, z: number) => cam.project(gondola.origin.x + gondola.along.x * (u + d), gondola.origin.y + gondola.along.y * (u + d), z);
  const a = at(-size.widthM / 2, plate.heightM + size.heightM);
  const b = at(size.widthM / 2, plate.heightM);
  return { unit, box: a && b ? { x: Math.min(a.u, b.u), y: Math.min(a.v, b.v), width: Math.abs(b.u - a.u), height: Math.abs(b.v - a.v) } : undefined };
}

/** The box's pixels as a picture of their own (at least 4×4 inside the frame), or undefined. */
function cut(frame: FramePixels, box: PixelBox): FramePixels | undefined {
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(frame.width, Math.ceil(box.x + box.width));
  const y1 = Math.min(frame.height, Math.ceil(box.y + box.height));
  const w = x1 - x0;
  const h = y1 - y0;
  if (w < 4 || h < 4) return undefined;
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) frame.data.copy(data, y * w * 3, ((y0 + y) * frame.width + x0) * 3, ((y0 + y) * frame.width + x1) * 3);
  return { data, width: w, height: h };
}
