/**
 * Product recognition with real networks: the project's embedder against its gallery (the demo
 * store's packaging as the shelf camera sees it, and the Grocery Store Dataset's real photos), a
 * customer's classifier, batching, candidate sets, the gallery commands on a real database and the
 * recognition component in the agent.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { simCameraRig } from '../../edge-agent/src/sim/cameras/sim-camera.js';
import { SceneRenderer } from '../../edge-agent/src/sim/render/scene-renderer.js';
import { packagingReferences } from '../../edge-agent/src/sim/render/packaging-references.js';
import { frontFacing, shelfCameraReferences } from '../../edge-agent/src/sim/render/shelf-camera-references.js';
import { StoreLayout } from '../../edge-agent/src/sim/store-layout.js';
import { Agent } from '../../edge-agent/src/agent.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { packageRoot } from '../../edge-agent/src/paths.js';
import type { FramePixels } from '../../edge-agent/src/vision/detect/input-packer.js';
import { ProductGallery } from '../../edge-agent/src/vision/products/product-gallery.js';
import { ProductModel, type ProductCrop } from '../../edge-agent/src/vision/products/product-model.js';
import { ProductRecognizer } from '../../edge-agent/src/vision/products/product-recognizer.js';
import { lastJsonLine, runCli } from '../support/cli.js';
import { demoConfig } from '../support/demo-config.js';
import { missingShared, sharedPath } from '../support/shared.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const EMBEDDER = join(packageRoot(), 'models', 'product_embedder.onnx');
const CLASSIFIER = join(import.meta.dirname, '..', 'fixtures', 'colour-classifier.onnx');
const GROCERY = 'data/grocery/dataset';

function solid(width: number, height: number, bgr: [number, number, number]): FramePixels {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(bgr, i);
  return { data, width, height };
}

const models: ProductModel[] = [];
afterAll(async () => {
  for (const m of models) await m.release();
});

async function load(path: string): Promise<ProductModel> {
  const m = await ProductModel.load(path);
  models.push(m);
  return m;
}

describe('a customer classifier', () => {
  it('gives probabilities over its labels, restricted to the candidates, unknown when the right one is not among them', async () => {
    const model = await load(CLASSIFIER);
    expect(model.kind).toBe('classifier');
    expect(model.batches).toBe(true);
    const recognizer = new ProductRecognizer(model, undefined, 8);
    const red = { frame: solid(40, 30, [20, 20, 230]) };
    const answer = await recognizer.recognize(red);
    expect(answer.matches[0]).toMatchObject({ product: 'tomato-soup' });
    expect(answer.matches[0]!.probability).toBeGreaterThan(0.9);
    expect(answer.unknown).toBe(false);
    const without = await recognizer.recognize(red, { candidates: ['green-tea', 'blue-cheese'] });
    expect(without.matches.map((m) => m.product).sort()).toEqual(['blue-cheese', 'green-tea']);
    expect(without.matches.reduce((s, m) => s + m.probability, 0)).toBeCloseTo(1, 5);
    expect(without.unknown).toBe(true);
  });

  it('runs crops that wait together as one batch, each with its own answer', async () => {
    const model = await load(CLASSIFIER);
    const recognizer = new ProductRecognizer(model, undefined, 4);
    const colours: [string, [number, number, number]][] = [
      ['tomato-soup', [0, 0, 255]],
      ['green-tea', [0, 255, 0]],
      ['blue-cheese', [255, 0, 0]],
      ['green-tea', [30, 200, 30]],
      ['tomato-soup', [10, 10, 200]],
    ];
    const answers = await Promise.all(colours.map(([, bgr]) => recognizer.recognize({ frame: solid(16, 16, bgr) })));
    expect(answers.map((a) => a.matches[0]!.product)).toEqual(colours.map(([p]) => p));
    expect(answers.map((a) => a.batch)).toEqual([4, 4, 4, 4, 1]);
    expect(recognizer.counts).toMatchObject({ crops: 5, batches: 2, failures: 0 });
  });

  it('refuses a model that is not a product recogniser, naming the file', async () => {
    await expect(ProductModel.load(join(tempDir(), 'absent.onnx'))).rejects.toThrow(/absent\.onnx: model file not found/);
    await expect(ProductModel.load(sharedPath('models', 'yolox_nano_416.onnx'))).rejects.toThrow(/yolox model recognises no products|model file not found/);
  });
});

describe("the project's product embedder", () => {
  it('recognises the demo store products on the shelf camera from the gallery the simulated store enrols', async () => {
    const model = await load(EMBEDDER);
    expect(model.kind).toBe('embedder');
    const config = demoConfig(tempDir());
    const products = config.planogram.products;
    // What a simulated store's agent seeds its gallery with: each product shot by the shelf camera
    // at its last plate (darker, brighter, shifted), the drawn packaging for products no shelf camera sees.
    const gallery = new ProductGallery(model.size);
    const references = await shelfCameraReferences(config, products);
    const vectors = await model.infer(references.map((r) => ({ frame: r.frame })), 16);
    references.forEach((r, i) => gallery.add(r.product, vectors[i]!));
    expect(gallery.products).toHaveLength(products.length);
    // The drawn packaging alone, for comparison.
    const drawn = new ProductGallery(model.size);
    const pictures = await packagingReferences(products);
    const drawnVectors = await model.infer(pictures.map((r) => ({ frame: r.frame })), 16);
    pictures.forEach((r, i) => drawn.add(r.product, drawnVectors[i]!));

    // One facing of each product of gondola 2 at the front of its first plate, as the shelf camera renders it.
    const layout = new StoreLayout(config);
    const rig = simCameraRig(layout);
    const cam = rig.find((c) => c.role === 'shelf')!;
    const g = layout.gondolas.find((x) => x.id === cam.gondola)!;
    const renderer = await SceneRenderer.create(layout, rig, products);
    const frame = Buffer.alloc(cam.width * cam.height * 3);
    const facings = products.filter((p) => layout.plates.get(p.plates[0]!)!.gondola === g.id).map((p) => frontFacing(cam, g, layout.plates.get(p.plates[0]!)!, p));
    const boxes: { product: string; crop: ProductCrop }[] = facings.map(({ unit, box }) => ({ product: unit.product, crop: { frame: { data: frame, width: cam.width, height: cam.height }, region: box! } }));
    renderer.render(cam.id, { at: 1_767_000_000_000, shoppers: [], units: facings.map((f) => f.unit), light: 1 }, frame);
    expect(boxes.length).toBeGreaterThanOrEqual(8);
    const recognizer = new ProductRecognizer(model, gallery, 8);
    const answers = await Promise.all(boxes.map((b) => recognizer.recognize(b.crop)));
    const right = answers.filter((a, i) => a.matches[0]?.product === boxes[i]!.product).length;
    const pairs = answers.map((a, i) => `${boxes[i]!.product}→${a.matches[0]?.product}`);
    console.log(`shelf camera crops recognised: ${right} of ${boxes.length} (${pairs.join(', ')}); calibration ${JSON.stringify(gallery.calibration)}`);
    // Measured: 12 of 12 among all 24 products.
    expect(right).toBeGreaterThanOrEqual(11);
    // The drawn packaging alone does not transfer to shelf-camera size (0 of 12 measured): the
    // store's own camera makes the gallery.
    const drawnRecognizer = new ProductRecognizer(model, drawn, 8);
    const drawnAnswers = await Promise.all(boxes.map((b) => drawnRecognizer.recognize(b.crop)));
    const drawnRight = drawnAnswers.filter((a, i) => a.matches[0]?.product === boxes[i]!.product).length;
    console.log(`from the drawn packaging alone: ${drawnRight} of ${boxes.length}`);
    expect(drawnRight).toBeLessThan(right);
    // Among the products of its own shelf (what fusion passes as candidates), every one is right.
    const byShelf = await Promise.all(
      boxes.map((b) => {
        const shelf = products.find((p) => p.id === b.product)!.plates[0]!.split('.').slice(0, 2).join('.');
        const candidates = products.filter((p) => p.plates.some((k) => k.startsWith(`${shelf}.`))).map((p) => p.id);
        return recognizer.recognize(b.crop, { candidates });
      }),
    );
    const rightByShelf = byShelf.filter((a, i) => a.matches[0]?.product === boxes[i]!.product).length;
    console.log(`among the products of their own shelf: ${rightByShelf} of ${boxes.length}`);
    expect(rightByShelf).toBeGreaterThanOrEqual(right);
  }, 60_000);

  it('is fast enough on one core: one crop well under 5 ms of inference', async () => {
    const model = await load(EMBEDDER);
    const crop = { frame: solid(112, 112, [90, 120, 150]) };
    for (let i = 0; i < 10; i++) await model.infer([crop], 1);
    const times: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t0 = performance.now();
      await model.infer([crop], 1);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    console.log(`product embedder, one 112×112 crop: median ${times[30]!.toFixed(2)} ms`);
    // Measured 3.0 ms alone; the bound leaves room for a busy CI machine.
    expect(times[30]).toBeLessThan(15);
  });

  it.skipIf(missingShared(`${GROCERY}/val.txt`, `${GROCERY}/train.txt`))(
    `scores the Grocery Store Dataset's val split against a gallery of its train split ${missingShared(`${GROCERY}/val.txt`) ?? ''}`,
    async () => {
      const root = sharedPath(GROCERY);
      const res = await runCli(['eval', 'recognition', '--root', root, '--list', join(root, 'val.txt')]);
      expect(res.code, res.stderr).toBe(0);
      const score = lastJsonLine(res.stdout);
      expect(score).toMatchObject({ images: 296, galleryImages: 2640, galleryProducts: 81 });
      console.log(res.stderr.trim().split('\n').at(-1));
      expect(score['fine'].top1).toBeGreaterThanOrEqual(FINE_TOP1);
      expect(score['fine'].top5).toBeGreaterThanOrEqual(FINE_TOP5);
      expect(score['coarse'].top1).toBeGreaterThanOrEqual(COARSE_TOP1);
      expect(score['candidates'].top1).toBeGreaterThanOrEqual(CANDIDATES_TOP1);
      expect(score['candidates'].top1SameCoarseSets).toBeGreaterThanOrEqual(SAME_COARSE_CANDIDATES_TOP1);
      // Reported, not bounded: against its own training photos the gallery is over-confident (README).
      expect(score['meanTop1Probability']).toBeGreaterThan(0);
      expect(score['meanTop1Probability']).toBeLessThanOrEqual(1);
    },
    180_000,
  );
});

// Measured with the committed model and 3-nearest-reference scoring (78.0 / 93.6 / 83.1 / 89.9 /
// 91.8 %, README), less a little for another CPU's floating point.
const FINE_TOP1 = 0.75;
const FINE_TOP5 = 0.92;
const COARSE_TOP1 = 0.81;
const CANDIDATES_TOP1 = 0.87;
const SAME_COARSE_CANDIDATES_TOP1 = 0.89;

describe('the gallery commands and the recognition component', () => {
  it('adds reference photos and simulated packaging, lists what is missing, removes, and the agent loads it', async () => {
    const dataDir = tempDir();
    const cfg = ['--data-dir', dataDir];
    const empty = await runCli(['gallery', 'list', ...cfg]);
    expect(empty.code).toBe(0);
    expect(lastJsonLine(empty.stdout)['missing']).toHaveLength(demoConfig(dataDir).planogram.products.length);

    const photo = join(tempDir(), 'photo.png');
    const sharp = (await import('sharp')).default;
    await sharp({ create: { width: 64, height: 96, channels: 3, background: { r: 200, g: 40, b: 40 } } }).png().toFile(photo);
    const added = await runCli(['gallery', 'add', '--product', 'cola-can-330', photo, ...cfg]);
    expect(added.code, added.stderr).toBe(0);
    expect(lastJsonLine(added.stdout)).toMatchObject({ added: 1, products: ['cola-can-330'], galleryReferences: 1 });
    const unknown = await runCli(['gallery', 'add', '--product', 'no-such-product', photo, ...cfg]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/not in the planogram/);
    const unreadable = await runCli(['gallery', 'add', '--product', 'cola-can-330', join(tempDir(), 'missing.jpg'), ...cfg]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(/missing\.jpg/);

    const sim = await runCli(['gallery', 'add', '--from-sim-packaging', ...cfg]);
    expect(sim.code, sim.stderr).toBe(0);
    const all = await runCli(['gallery', 'list', ...cfg]);
    expect(lastJsonLine(all.stdout)['missing']).toEqual([]);
    const cola = (lastJsonLine(all.stdout)['products'] as { product: string; refs: number }[]).find((p) => p.product === 'cola-can-330')!;
    expect(cola.refs).toBeGreaterThan(1);
    const removed = await runCli(['gallery', 'remove', '--product', 'cola-can-330', ...cfg]);
    expect(lastJsonLine(removed.stdout)['removed']).toBe(cola.refs);

    const agent = new Agent({ config: demoConfig(dataDir), secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'test', simulatedProducts: true });
    await agent.start();
    try {
      const health = agent.health().components['recognition']!;
      expect(health).toMatchObject({ status: 'up', kind: 'embedder', galleryProducts: demoConfig(dataDir).planogram.products.length });
      // A close-up of the packaging the gallery was built from is recognised.
      const references = await packagingReferences(demoConfig(dataDir).planogram.products.filter((p) => p.id === 'cola-can-330'));
      const closeUp = references.find((r) => r.source === 'sim-packaging:160px:x1')!;
      const answer = await agent.recognition.recognize({ frame: closeUp.frame });
      expect(answer.matches[0]!.product).toBe('cola-can-330');
    } finally {
      await agent.stop('test');
    }
  }, 120_000);
});
