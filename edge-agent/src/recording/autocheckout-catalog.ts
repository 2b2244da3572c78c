/**
 * The AutoCheckout product catalogue: `Name,Gondola,Shelf,Plate,Weight,Price,Image`, one row per
 * placement of a product on a plate, turned into the planogram's products.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { ProductConfig } from '../../../device-config/schema.js';
import { AutoCheckoutImportError, describeFsError, lineOfCsvError, type ImportProblem } from './autocheckout-problem.js';

const REQUIRED_COLUMNS = ['Name', 'Gondola', 'Shelf', 'Plate', 'Weight', 'Price'] as const;
type Column = (typeof REQUIRED_COLUMNS)[number] | 'Image';

// GS1 keeps prefixes 020–029 for numbers a company assigns for use inside its own stores, so a
// generated GTIN can never be mistaken for a real product's.
const GTIN_PREFIX = '0290';
const MAX_NAME_LENGTH = 200;
const MAX_UNIT_WEIGHT = 100_000;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/** Where a catalogue row puts a product, kept so a dropped placement can name its line. */
export interface CatalogPlacement {
  product: string;
  /** "G.S.P" */
  plate: string;
  line: number;
}

export interface AutoCheckoutCatalog {
  file: string;
  products: ProductConfig[];
  placements: CatalogPlacement[];
  problems: ImportProblem[];
}

interface CatalogRow {
  name: string;
  plate: string | undefined;
  weight: number;
  price: number;
  image: string;
}

export function readAutoCheckoutCatalog(file: string): AutoCheckoutCatalog {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AutoCheckoutImportError(file, `cannot read the catalogue (${describeFsError(err)})`, { cause: err });
  }
  const problems: ImportProblem[] = [];
  const records = parse(text, {
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    skip_records_with_error: true,
    info: true,
    on_skip: (err) => {
      problems.push({ file, line: lineOfCsvError(err), message: err?.message ?? 'unreadable row' });
      return undefined;
    },
  }) as unknown as Array<{ info: { lines: number }; record: string[] }>;

  const header = records[0]?.record;
  if (!header) throw new AutoCheckoutImportError(file, 'the catalogue is empty');
  const columns = columnIndexes(file, header);

  const out: AutoCheckoutCatalog = { file, products: [], placements: [], problems };
  const byName = new Map<string, { product: ProductConfig; line: number }>();
  const usedIds = new Set<string>();
  for (let r = 1; r < records.length; r++) {
    const { info, record } = records[r]!;
    const line = info.lines;
    const row = parseRow(record, header.length, columns);
    if (typeof row === 'string') {
      problems.push({ file, line, message: row });
      continue;
    }
    let entry = byName.get(row.name);
    if (!entry) {
      const id = uniqueId(slugOf(row.name), usedIds);
      const product: ProductConfig = {
        id,
        name: row.name,
        gtin: internalGtin(out.products.length + 1),
        unitWeight: row.weight,
        weightTolerance: defaultTolerance(row.weight),
        price: Math.round(row.price * 100),
        plates: [],
        rfidTagged: false,
      };
      if (row.image !== '') product.image = row.image;
      entry = { product, line };
      byName.set(row.name, entry);
      out.products.push(product);
    } else {
      const first = entry.product;
      if (first.unitWeight !== row.weight || first.price !== Math.round(row.price * 100)) {
        problems.push({
          file,
          line,
          message: `"${row.name}" has weight ${row.weight} g and price ${row.price} here but ${first.unitWeight} g and ${first.price / 100} on line ${entry.line}; keeping line ${entry.line}`,
        });
      }
    }
    if (row.plate !== undefined && !entry.product.plates.includes(row.plate)) {
      entry.product.plates.push(row.plate);
      out.placements.push({ product: entry.product.id, plate: row.plate, line });
    }
  }
  return out;
}

function columnIndexes(file: string, header: readonly string[]): Record<Column, number> {
  const find = (name: string) => header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
  const missing = REQUIRED_COLUMNS.filter((c) => find(c) < 0);
  if (missing.length > 0) {
    throw new AutoCheckoutImportError(
      file,
      `not an AutoCheckout catalogue: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header is "${header.join(',')}", expected "Name,Gondola,Shelf,Plate,Weight,Price,Image")`,
    );
  }
  return {
    Name: find('Name'),
    Gondola: find('Gondola'),
    Shelf: find('Shelf'),
    Plate: find('Plate'),
    Weight: find('Weight'),
    Price: find('Price'),
    Image: find('Image'),
  };
}

/** The row's content, or why it cannot be used. */
function parseRow(record: readonly string[], width: number, at: Record<Column, number>): CatalogRow | string {
  if (record.length !== width) return `expected ${width} fields like the header, found ${record.length}`;
  const field = (c: Column) => (at[c] < 0 ? '' : (record[at[c]] ?? ''));
  const name = field('Name');
  if (name === '') return 'Name is empty';
  if (name.length > MAX_NAME_LENGTH) return `Name is longer than ${MAX_NAME_LENGTH} characters`;

  const g = field('Gondola');
  const s = field('Shelf');
  const p = field('Plate');
  if (!INTEGER.test(g) || !INTEGER.test(s) || !INTEGER.test(p)) return `Gondola/Shelf/Plate "${g}/${s}/${p}" are not whole numbers`;
  const gondola = Number(g);
  const shelf = Number(s);
  const plateNo = Number(p);
  let plate: string | undefined;
  if (gondola === -1 && shelf === -1 && plateNo === -1) plate = undefined;
  else if (inRange(gondola, 999) && inRange(shelf, 99) && inRange(plateNo, 99)) plate = `${gondola}.${shelf}.${plateNo}`;
  else return `Gondola/Shelf/Plate ${g}/${s}/${p} is neither a plate (1–999/1–99/1–99) nor -1/-1/-1 (not on a shelf)`;

  const weightText = field('Weight');
  const weight = Number(weightText);
  if (!DECIMAL.test(weightText) || !(weight > 0 && weight <= MAX_UNIT_WEIGHT)) {
    return `Weight "${weightText}" is not a weight in grams (0 < g ≤ ${MAX_UNIT_WEIGHT})`;
  }
  const priceText = field('Price');
  const price = Number(priceText);
  if (!DECIMAL.test(priceText) || !Number.isFinite(price) || price < 0) return `Price "${priceText}" is not a price`;
  return { name, plate, weight, price, image: field('Image') };
}

function inRange(n: number, max: number): boolean {
  return n >= 1 && n <= max;
}

/** 3 % of the unit weight, at least 2 g: the spread of a real unit on a real plate. */
function defaultTolerance(unitWeight: number): number {
  return Math.max(2, Math.round(unitWeight * 0.3) / 10);
}

export function slugOf(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 56)
    .replace(/-+$/, '');
  return slug === '' ? 'product' : slug;
}

function uniqueId(base: string, used: Set<string>): string {
  let id = base;
  for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
  used.add(id);
  return id;
}

/** A GTIN-13 in the in-store range, numbered by the product's place in the catalogue (from 1). */
export function internalGtin(index: number): string {
  const body = GTIN_PREFIX + String(index).padStart(12 - GTIN_PREFIX.length, '0');
  if (body.length !== 12) throw new RangeError(`product index ${index} does not fit a GTIN-13`);
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += (body.charCodeAt(11 - i) - 48) * (i % 2 === 0 ? 3 : 1);
  return body + String((10 - (sum % 10)) % 10);
}
