/**
 * Product recognition in the agent: the configured model in its own inference worker, the
 * gallery of reference vectors from SQLite, and `recognize()` for fusion to call with a crop and
 * the products near the event. A missing model or an empty gallery is reported on health and
 * never stops the agent.
 */
import { resolve } from 'node:path';
import type { StoreConfig } from '../../../../device-config/schema.js';
import type { StoreDatabase } from '../../db/database.js';
import { ProductReferenceRepository } from '../../db/repositories/product-references.js';
import { describeError } from '../../errors.js';
import type { Component, ComponentHealth } from '../../lifecycle.js';
import type { Logger } from '../../log.js';
import { shelfCameraReferences } from '../../sim/render/shelf-camera-references.js';
import { InferenceWorker } from '../inference/inference-worker.js';
import { ProductGallery } from './product-gallery.js';
import type { ProductCrop } from './product-model.js';
import type { FramePixels } from '../detect/input-packer.js';
import { ProductModel } from './product-model.js';
import { ProductRecognizer, type Recognition, type RecognizeOptions } from './product-recognizer.js';

/** The gallery of one model, from the database. */
export function loadGallery(repo: ProductReferenceRepository, model: ProductModel, unknownBelow?: number): ProductGallery {
  const gallery = new ProductGallery(model.size, unknownBelow);
  for (const r of repo.forModel(model.identity)) gallery.add(r.product, r.embedding);
  return gallery;
}

export class ProductRecognitionService implements Component {
  readonly name = 'recognition';
  readonly dependsOn = ['database'] as const;
  private worker: InferenceWorker | undefined;
  private model: ProductModel | undefined;
  private recognizer: ProductRecognizer | undefined;
  private problem: string | undefined;
  private missing: string[] = [];

  constructor(
    private readonly options: {
      config: StoreConfig;
      database: StoreDatabase;
      log: Logger;
      /** Simulated stores: products without reference vectors get their rendered packaging. */
      seedFromSimPackaging?: boolean;
    },
  ) {}

  get ready(): boolean {
    return this.recognizer !== undefined;
  }

  async start(): Promise<void> {
    const settings = this.options.config.recognition;
    if (!settings) return;
    this.worker = new InferenceWorker();
    try {
      this.model = await ProductModel.load(resolve(settings.model), { worker: this.worker });
    } catch (err) {
      this.problem = `model ${settings.model}: ${describeError(err)}`;
      this.options.log.error({ err }, 'product recognition model could not be loaded; products are not recognised');
      await this.worker.close();
      this.worker = undefined;
      return;
    }
    if (this.options.seedFromSimPackaging && this.model.kind === 'embedder') await this.seedFromPackaging(this.model);
    this.reloadGallery();
  }

  private async seedFromPackaging(model: ProductModel): Promise<void> {
    const repo = new ProductReferenceRepository(this.options.database.handle);
    const have = new Set(repo.counts(model.identity).map((c) => c.product));
    const products = this.options.config.planogram.products.filter((p) => !have.has(p.id));
    if (products.length === 0) return;
    const pictures = await shelfCameraReferences(this.options.config, products);
    const vectors = await model.infer(
      pictures.map((p) => ({ frame: p.frame })),
      16,
    );
    const now = Date.now();
    repo.addAll(pictures.map((p, i) => ({ product: p.product, source: p.source, embedding: vectors[i]! })), model.identity, 'simulator', now);
    this.options.log.info({ products: products.length, references: pictures.length }, 'gallery seeded from the simulated shelf cameras and packaging');
  }

  /** Reads the gallery again (after `edge-agent gallery add` while the agent runs). */
  reloadGallery(): void {
    const model = this.model;
    const settings = this.options.config.recognition;
    if (!model || !settings) return;
    const repo = new ProductReferenceRepository(this.options.database.handle);
    const gallery = model.kind === 'embedder' ? loadGallery(repo, model, settings.unknownBelow) : undefined;
    const known = new Set(gallery ? gallery.products : model.manifest.labels);
    this.missing = this.options.config.planogram.products.map((p) => p.id).filter((id) => !known.has(id));
    this.recognizer = new ProductRecognizer(model, gallery, settings.maxBatch);
    if (gallery) {
      const stale = repo.others(model.identity);
      if (gallery.size === 0 && stale.length > 0) {
        this.problem = `the gallery holds vectors of ${stale.map((s) => s.model).join(', ')} only; add reference images again for ${model.identity}`;
      }
    }
    this.options.log.info({ model: model.identity, products: known.size, missing: this.missing.length, calibration: gallery?.calibration }, 'product recognition ready');
  }

  /** New reference photos of a product, embedded and in the gallery at once (the cloud's `add-gallery-images`). */
  async addReferences(product: string, pictures: readonly { source: string; frame: FramePixels }[], by: string): Promise<{ added: number; galleryReferences: number; model: string }> {
    const model = this.model;
    if (!model) throw new Error(`product recognition is not running${this.problem ? `: ${this.problem}` : ' (recognition.model is not configured)'}`);
    if (model.kind !== 'embedder') throw new Error(`${model.identity} is a classifier: its products are its labels, it has no gallery`);
    const vectors = await model.infer(
      pictures.map((p) => ({ frame: p.frame })),
      16,
    );
    const repo = new ProductReferenceRepository(this.options.database.handle);
    repo.addAll(pictures.map((p, i) => ({ product, source: p.source, embedding: vectors[i]! })), model.identity, by, Date.now());
    this.reloadGallery();
    return { added: pictures.length, galleryReferences: this.recognizer?.gallery?.size ?? 0, model: model.identity };
  }

  async recognize(crop: ProductCrop, options: RecognizeOptions = {}): Promise<Recognition> {
    if (!this.recognizer) throw new Error(`product recognition is not running${this.problem ? `: ${this.problem}` : ''}`);
    return this.recognizer.recognize(crop, { topK: this.options.config.recognition?.topK, ...options });
  }

  async stop(): Promise<void> {
    this.recognizer = undefined;
    await this.model?.release().catch((err: unknown) => this.options.log.warn({ err }, 'releasing the recognition model failed'));
    this.model = undefined;
    await this.worker?.close();
    this.worker = undefined;
  }

  health(): ComponentHealth {
    if (!this.options.config.recognition) return { status: 'up', detail: 'not configured' };
    const gallery = this.recognizer?.gallery;
    const issues = [this.problem, this.missing.length > 0 ? `${this.missing.length} products have no reference vectors: ${this.missing.slice(0, 5).join(', ')}` : undefined].filter(Boolean);
    return {
      status: this.recognizer && !this.problem ? (this.missing.length > 0 ? 'degraded' : 'up') : 'degraded',
      ...(issues.length > 0 ? { detail: issues.join('; ') } : {}),
      model: this.model?.identity ?? null,
      kind: this.model?.kind ?? null,
      galleryProducts: gallery?.products.length ?? 0,
      galleryReferences: gallery?.size ?? 0,
      calibration: gallery && gallery.size > 0 ? gallery.calibration : null,
      counters: this.recognizer?.counts ?? null,
    };
  }
}
