/**
 * Import of the AutoCheckout shelf export (CPS-IoT 2020), the one public recording of a real
 * checkout-free store: a folder of `gondola_<G>_shelf_<S>_plate_<P>.csv` files and a product
 * catalogue become a store configuration and one replay source per shelf.
 */
import { readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CONFIG_VERSION, type GondolaConfig, type ProductConfig, type StoreConfig } from '../../../device-config/schema.js';
import { validateConfig } from '../../../device-config/validate.js';
import type { ShelfGramsSink } from '../shelf/shelf-tick.js';
import type { AutoCheckoutCatalog } from './autocheckout-catalog.js';
import { AutoCheckoutImportError, describeFsError, type ImportProblem, type ImportProblemSink } from './autocheckout-problem.js';
import {
  AutoCheckoutShelfSource,
  type AutoCheckoutPlateFile,
  type AutoCheckoutShelfOptions,
  type PlateImportSummary,
} from './autocheckout-shelf-source.js';

export { readAutoCheckoutCatalog, internalGtin, type AutoCheckoutCatalog, type CatalogPlacement } from './autocheckout-catalog.js';
export { AutoCheckoutImportError, type ImportProblem, type ImportProblemSink } from './autocheckout-problem.js';
export {
  AutoCheckoutShelfSource,
  type AutoCheckoutPlateFile,
  type AutoCheckoutShelfOptions,
  type PlateImportSummary,
  type ShelfImportSummary,
} from './autocheckout-shelf-source.js';

const PLATE_FILE = /^gondola_(\d+)_shelf_(\d+)_plate_(\d+)\.csv$/i;
const GONDOLA_WIDTH_M = 1.2;
const GONDOLA_DEPTH_M = 0.6;
const AISLE_M = 1.0;
const MARGIN_M = 1.0;
const FRONT_SPACE_M = 2.5;

export interface AutoCheckoutScan {
  dir: string;
  /** Sorted by gondola, shelf and plate. */
  plates: AutoCheckoutPlateFile[];
  problems: ImportProblem[];
}

/** Finds the plate files of an export; other files are reported, not fatal. `ignore` names files (e.g. the catalogue) to pass over. */
export function scanAutoCheckoutFolder(dir: string, options: { ignore?: readonly string[] } = {}): AutoCheckoutScan {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new AutoCheckoutImportError(dir, `cannot read the export folder (${describeFsError(err)})`, { cause: err });
  }
  const ignored = new Set((options.ignore ?? []).map((f) => resolve(dir, f)));
  const found = new Map<string, { numbers: [number, number, number]; file: string }>();
  const problems: ImportProblem[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.isDirectory()) continue;
    const file = join(dir, entry.name);
    if (ignored.has(resolve(file))) continue;
    const m = PLATE_FILE.exec(entry.name);
    if (!m) {
      problems.push({ file, line: 0, message: 'not a plate file: expected gondola_<G>_shelf_<S>_plate_<P>.csv' });
      continue;
    }
    const numbers: [number, number, number] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const [g, s, p] = numbers;
    if (g < 1 || g > 999 || s < 1 || s > 99 || p < 1 || p > 99) {
      problems.push({ file, line: 0, message: `gondola ${g}, shelf ${s}, plate ${p} is outside 1–999, 1–99, 1–99` });
      continue;
    }
    const key = `${g}.${s}.${p}`;
    const first = found.get(key);
    if (first) {
      problems.push({ file, line: 0, message: `plate ${key} again (already read from ${first.file}); ignored` });
      continue;
    }
    found.set(key, { numbers, file });
  }
  const plates = [...found.entries()]
    .sort(([, a], [, b]) => a.numbers[0] - b.numbers[0] || a.numbers[1] - b.numbers[1] || a.numbers[2] - b.numbers[2])
    .map(([key, { file }]) => ({ key, file }));
  return { dir, plates, problems };
}

export interface AutoCheckoutStoreOptions {
  /** Defaults to the folder's name. */
  storeId?: string;
  name?: string;
  currency?: string;
  timezone?: string;
  /** A scan already made; otherwise the folder is scanned (passing over the catalogue). */
  scan?: AutoCheckoutScan;
  /** Hears placements dropped for want of a plate file, and the scan's problems when it scans. */
  onProblem?: ImportProblemSink;
}

/**
 * A valid store configuration for the export: its plates laid out as gondolas in a row, each
 * shelf's device the export folder, the catalogue as the planogram. Throws when the result does
 * not validate, with every error.
 */
export function autoCheckoutStoreConfig(dir: string, catalog: AutoCheckoutCatalog, options: AutoCheckoutStoreOptions = {}): StoreConfig {
  const report = options.onProblem ?? (() => undefined);
  let scan = options.scan;
  if (!scan) {
    scan = scanAutoCheckoutFolder(dir, { ignore: [catalog.file] });
    scan.problems.forEach(report);
  }
  const folder = resolve(dir);
  const layout = new Map<number, Map<number, number[]>>();
  for (const { key } of scan.plates) {
    const [g, s, p] = key.split('.').map(Number) as [number, number, number];
    let shelves = layout.get(g);
    if (!shelves) layout.set(g, (shelves = new Map()));
    let plates = shelves.get(s);
    if (!plates) shelves.set(s, (plates = []));
    plates.push(p);
  }

  const gondolaIds = [...layout.keys()].sort((a, b) => a - b);
  const gondolas: GondolaConfig[] = gondolaIds.map((g, i) => ({
    id: g,
    name: `Gondola ${g}`,
    position: { x: MARGIN_M + i * (GONDOLA_WIDTH_M + AISLE_M), y: MARGIN_M, widthM: GONDOLA_WIDTH_M, depthM: GONDOLA_DEPTH_M, rotationDeg: 0 },
    shelves: [...layout.get(g)!.entries()]
      .sort(([a], [b]) => a - b)
      .map(([s, plateIds]) => {
        const slots = Math.max(...plateIds);
        return {
          id: s,
          heightM: Math.min(4, 0.15 + (s - 1) * 0.3),
          device: `replay://${folder}`,
          protocol: 'scale-line' as const,
          plates: plateIds.sort((a, b) => a - b).map((p) => ({ id: p, widthM: round(GONDOLA_WIDTH_M / slots, 4), capacityGrams: 20_000 })),
        };
      }),
  }));

  const plateKeys = new Set(scan.plates.map((p) => p.key));
  const products: ProductConfig[] = catalog.products.map((product) => {
    const kept = product.plates.filter((plate) => plateKeys.has(plate));
    for (const plate of product.plates) {
      if (plateKeys.has(plate)) continue;
      const line = catalog.placements.find((pl) => pl.product === product.id && pl.plate === plate)?.line ?? 0;
      report({ file: catalog.file, line, message: `"${product.name}" is placed on plate ${plate}, which has no CSV in ${dir}; placement dropped` });
    }
    return { ...product, plates: kept };
  });

  const count = gondolaIds.length;
  const raw = {
    version: CONFIG_VERSION,
    store: {
      id: options.storeId ?? storeIdOf(folder),
      name: options.name ?? `AutoCheckout ${basename(folder)}`.slice(0, 200),
      timezone: options.timezone ?? 'UTC',
      currency: options.currency ?? 'USD',
      floor: {
        widthM: round(2 * MARGIN_M + count * GONDOLA_WIDTH_M + Math.max(0, count - 1) * AISLE_M, 3),
        depthM: MARGIN_M + GONDOLA_DEPTH_M + FRONT_SPACE_M,
      },
    },
    gondolas,
    planogram: { products },
  };
  const result = validateConfig(raw);
  if (!result.ok) {
    const lines = result.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n');
    throw new AutoCheckoutImportError(dir, `the store configuration made from the export is invalid:\n${lines}`);
  }
  return result.config;
}

/** One replay source per shelf of the scanned plates, all handing their ticks to `sink`. Open each before replaying. */
export function autoCheckoutShelfSources(
  plates: readonly AutoCheckoutPlateFile[],
  sink: ShelfGramsSink,
  options: AutoCheckoutShelfOptions = {},
): AutoCheckoutShelfSource[] {
  const byShelf = new Map<string, AutoCheckoutPlateFile[]>();
  for (const plate of plates) {
    const shelf = plate.key.slice(0, plate.key.lastIndexOf('.'));
    let list = byShelf.get(shelf);
    if (!list) byShelf.set(shelf, (list = []));
    list.push(plate);
  }
  return [...byShelf.entries()].map(([shelf, list]) => new AutoCheckoutShelfSource(shelf, list, sink, options));
}

export interface AutoCheckoutReplaySummary {
  plates: PlateImportSummary[];
  samples: number;
  garbageRows: number;
  ticks: number;
  /** Store time (ms since the epoch) of the first and last sample of any plate; null without samples. */
  firstAt: number | null;
  lastAt: number | null;
}

/** What a replay of the export read, for its report: per plate, and in total. Meaningful once the sources ran out. */
export function summarizeAutoCheckoutReplay(sources: readonly AutoCheckoutShelfSource[]): AutoCheckoutReplaySummary {
  const out: AutoCheckoutReplaySummary = { plates: [], samples: 0, garbageRows: 0, ticks: 0, firstAt: null, lastAt: null };
  for (const source of sources) {
    const shelf = source.summary();
    out.ticks += shelf.ticks;
    for (const plate of shelf.plates) {
      out.plates.push(plate);
      out.samples += plate.samples;
      out.garbageRows += plate.garbageRows;
      if (plate.firstAt !== null && (out.firstAt === null || plate.firstAt < out.firstAt)) out.firstAt = plate.firstAt;
      if (plate.lastAt !== null && (out.lastAt === null || plate.lastAt > out.lastAt)) out.lastAt = plate.lastAt;
    }
  }
  return out;
}

function storeIdOf(folder: string): string {
  const id = basename(folder).replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return id === '' ? 'autocheckout' : id;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
