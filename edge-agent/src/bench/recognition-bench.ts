/**
 * Product recognition speed on one core: `session.run` of one 1×3×112×112 crop alone, the whole
 * recognition of one crop (packing from a camera frame, inference, gallery search over the demo
 * store's products), and the cost per crop when eight wait together as one batch.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadConfigFile } from '../config/load-config.js';
import { DEMO_CONFIG, packageRoot } from '../paths.js';
import { packagingReferences } from '../sim/render/packaging-references.js';
import { ProductGallery } from '../vision/products/product-gallery.js';
import { ProductModel } from '../vision/products/product-model.js';
import { ProductRecognizer } from '../vision/products/product-recognizer.js';
import { quantile, round3 } from '../numbers.js';

export interface RecognitionBenchResult {
  model: string;
  input: string;
  sessionRunMs: { median: number; p95: number };
  recognizeOneCropMs: { median: number; p95: number };
  batchOf8PerCropMs: number;
  galleryProducts: number;
}

const RUNS = 200;

export async function benchRecognition(modelPath = join(packageRoot(), 'models', 'product_embedder.onnx')): Promise<RecognitionBenchResult> {
  const model = await ProductModel.load(modelPath);
  try {
    const { width, height } = model.manifest.input;
    // session.run alone, the baseline, on the same thread settings the agent uses.
    const session = await ort.InferenceSession.create(model.manifest.modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    const input = new ort.Tensor('float32', new Float32Array(3 * width * height).fill(0.1), [1, 3, height, width]);
    const feeds = { [session.inputNames[0]!]: input };
    for (let i = 0; i < 20; i++) await session.run(feeds);
    const run: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      run.push(performance.now() - t0);
    }
    await session.release();

    const config = (await loadConfigFile(DEMO_CONFIG())).config;
    const references = await packagingReferences(config.planogram.products);
    const gallery = new ProductGallery(model.size);
    const vectors = await model.infer(references.map((r) => ({ frame: r.frame })), 16);
    references.forEach((r, i) => gallery.add(r.product, vectors[i]!));
    const recognizer = new ProductRecognizer(model, gallery, 8);
    // A 60×90 crop of a 640×360 frame, as a shelf camera would hand over.
    const frame = { data: Buffer.alloc(640 * 360 * 3, 120), width: 640, height: 360 };
    const crop = { frame, region: { x: 200, y: 100, width: 60, height: 90 } };
    for (let i = 0; i < 20; i++) await recognizer.recognize(crop);
    const one: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await recognizer.recognize(crop);
      one.push(performance.now() - t0);
    }
    const t0 = performance.now();
    const BATCHES = 25;
    for (let i = 0; i < BATCHES; i++) await Promise.all(Array.from({ length: 8 }, () => recognizer.recognize(crop)));
    const batchOf8PerCropMs = (performance.now() - t0) / (BATCHES * 8);
    return {
      model: model.identity,
      input: `1×3×${height}×${width}`,
      sessionRunMs: stats(run),
      recognizeOneCropMs: stats(one),
      batchOf8PerCropMs: round3(batchOf8PerCropMs),
      galleryProducts: gallery.products.length,
    };
  } finally {
    await model.release();
  }
}

function stats(values: number[]): { median: number; p95: number } {
  return { median: round3(quantile(values, 0.5)), p95: round3(quantile(values, 0.95)) };
}
