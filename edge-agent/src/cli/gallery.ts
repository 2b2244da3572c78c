/**
 * `edge-agent gallery …`: the reference vectors products are recognised by. Reference photos are
 * embedded with the store's recognition model and stored in the store database; a running agent
 * picks them up at its next start.
 */
import { hostname, userInfo } from 'node:os';
import { basename, resolve } from 'node:path';
import type { StoreConfig } from '../../../device-config/schema.js';
import { StoreDatabase } from '../db/database.js';
import { ProductReferenceRepository } from '../db/repositories/product-references.js';
import { describeError, isEdgeError } from '../errors.js';
import type { Logger } from '../log.js';
import { shelfCameraReferences } from '../sim/render/shelf-camera-references.js';
import { readImageFile } from '../vision/image-file.js';
import { loadGallery } from '../vision/products/product-recognition-service.js';
import { ProductModel } from '../vision/products/product-model.js';
import { withStoreDatabase } from './load-store.js';
import { EXIT_BAD_INPUT, EXIT_OK, printResult, type CliIo } from './output.js';

export interface GalleryOptions {
  config: string;
  dataDir?: string;
  model?: string;
}

export interface GalleryAddOptions extends GalleryOptions {
  product?: string;
  images: string[];
  fromSimPackaging?: boolean;
  by?: string;
}

interface Opened {
  config: StoreConfig;
  database: StoreDatabase;
  repo: ProductReferenceRepository;
  model: ProductModel;
}

/** The work of a gallery command with the store database and its embedding model open. */
async function withGallery(options: GalleryOptions, io: CliIo, log: Logger, work: (o: Opened) => Promise<number>): Promise<number> {
  return withStoreDatabase(options, io, log, async (config, database) => {
    const modelPath = options.model ?? config.recognition?.model;
    if (!modelPath) {
      io.err(`error: ${options.config} configures no recognition model (recognition.model); name one with --model`);
      return EXIT_BAD_INPUT;
    }
    let model: ProductModel;
    try {
      model = await ProductModel.load(resolve(modelPath));
    } catch (err) {
      io.err(`error: ${describeError(err)}`);
      return EXIT_BAD_INPUT;
    }
    try {
      if (model.kind !== 'embedder') {
        io.err(`error: ${modelPath} is a classifier: its products are its labels, it has no gallery`);
        return EXIT_BAD_INPUT;
      }
      return await work({ config, database, repo: new ProductReferenceRepository(database.handle), model });
    } finally {
      await model.release();
    }
  });
}

export async function galleryAdd(options: GalleryAddOptions, io: CliIo, log: Logger): Promise<number> {
  if (options.fromSimPackaging === (options.product !== undefined)) {
    io.err('error: give either --product ID with reference images, or --from-sim-packaging');
    return EXIT_BAD_INPUT;
  }
  if (options.product !== undefined && options.images.length === 0) {
    io.err(`error: name the reference images of ${options.product}`);
    return EXIT_BAD_INPUT;
  }
  return withGallery(options, io, log, async (o) => {
    const known = new Set(o.config.planogram.products.map((p) => p.id));
    if (options.product !== undefined && !known.has(options.product)) {
      io.err(`error: product "${options.product}" is not in the planogram of ${options.config}`);
      return EXIT_BAD_INPUT;
    }
    let pictures: { product: string; source: string; frame: ReturnType<typeof readImageFile> }[];
    try {
      pictures = options.fromSimPackaging
        ? await shelfCameraReferences(o.config, o.config.planogram.products)
        : options.images.map((file) => ({ product: options.product!, source: basename(file), frame: readImageFile(file) }));
    } catch (err) {
      if (!isEdgeError(err)) throw err;
      io.err(`error: ${err.message}`);
      return EXIT_BAD_INPUT;
    }
    const vectors = await o.model.infer(pictures.map((p) => ({ frame: p.frame })), 16);
    const by = options.by ?? `${userInfo().username}@${hostname()}`;
    const now = Date.now();
    o.repo.addAll(pictures.map((p, i) => ({ product: p.product, source: p.source, embedding: vectors[i]! })), o.model.identity, by, now);
    const gallery = loadGallery(o.repo, o.model);
    const products = [...new Set(pictures.map((p) => p.product))];
    io.err(`added ${pictures.length} reference vectors of ${products.length} products for ${o.model.identity}; the gallery holds ${gallery.size} of ${gallery.products.length} products`);
    printResult(io, { ok: true, model: o.model.identity, added: pictures.length, products, galleryReferences: gallery.size, galleryProducts: gallery.products.length, calibration: gallery.calibration });
    return EXIT_OK;
  });
}

export async function galleryList(options: GalleryOptions, io: CliIo, log: Logger): Promise<number> {
  return withGallery(options, io, log, async (o) => {
    const counts = o.repo.counts(o.model.identity);
    const have = new Set(counts.map((c) => c.product));
    const missing = o.config.planogram.products.map((p) => p.id).filter((id) => !have.has(id));
    for (const c of counts) io.err(`${c.product}: ${c.refs} reference vectors`);
    if (missing.length > 0) io.err(`no reference vectors: ${missing.join(', ')}`);
    const gallery = loadGallery(o.repo, o.model);
    printResult(io, { ok: true, model: o.model.identity, products: counts, missing, otherModels: o.repo.others(o.model.identity), calibration: gallery.size > 0 ? gallery.calibration : null });
    return EXIT_OK;
  });
}

export async function galleryRemove(options: GalleryOptions & { product: string }, io: CliIo, log: Logger): Promise<number> {
  return withGallery(options, io, log, async (o) => {
    const removed = o.repo.remove(options.product, o.model.identity);
    io.err(`removed ${removed} reference vectors of ${options.product}`);
    printResult(io, { ok: true, product: options.product, removed });
    return EXIT_OK;
  });
}
