/**
 * The true stock on the shelves: every unit with its own weight and position, so a pick or a
 * put-back changes exactly the plates the unit rests on — one facing often spans two plates, and a
 * unit lying across their seam weighs on both.
 */
import type { ProductConfig } from '../../../device-config/schema.js';
import { encodeSgtin96, toGtin14 } from '../rfid/epc.js';
import { packageSize } from './product-geometry.js';
import type { Random } from './random.js';
import type { PlateLayout, ShelfLayout, StoreLayout } from './store-layout.js';
import type { ShelfUnit } from './world-snapshot.js';

export interface StockUnit {
  id: number;
  product: string;
  /** True weight of this unit in grams. */
  weight: number;
  shelf: string;
  /** Centre along the gondola front (m from its left end) and distance back from the front edge. */
  u: number;
  depth: number;
  widthM: number;
  heightM: number;
  /** Put down where the product does not belong. */
  misplaced: boolean;
  /** SGTIN-96 of the unit's RFID tag, when its product is tagged. */
  epc?: string;
}

interface Facing {
  product: string;
  shelf: ShelfLayout;
  u0: number;
  u1: number;
  columns: number[];
  rows: number;
  pitch: number;
  rowPitch: number;
}

/** Usable shelf depth for stock, metres. */
const SHELF_DEPTH_M = 0.45;
const GAP_M = 0.006;
/** Shelves are stocked to at most this share of each plate's capacity. */
const LOAD_LIMIT = 0.7;
/** A centre this close to the seam of two plates is on the seam. */
const SEAM_M = 0.001;

export class ShelfStock {
  private readonly units = new Map<number, StockUnit>();
  private readonly facings: Facing[] = [];
  private readonly plateLoad = new Map<string, number>();
  private readonly trueUnitWeight = new Map<string, number>();
  private readonly nextSerial = new Map<string, number>();
  /** Units each facing (plate|product) was stocked with, or would have been when planted nearly empty. */
  private readonly full = new Map<string, number>();
  /** Facings (plate|product) planted nearly empty, with the units they start with. */
  private readonly scarce = new Map<string, number>();
  private nextId = 1;

  constructor(
    private readonly layout: StoreLayout,
    private readonly products: readonly ProductConfig[],
    private readonly random: Random,
    /** Systematic difference between catalogue and true weights, as a share of the tolerance. */
    biasOfTolerance = 1,
    /** Facings to start the day with only 1–3 units, chosen with their own randomness. */
    emptyFacings?: { count: number; random: Random },
  ) {
    for (const p of layout.plates.keys()) this.plateLoad.set(p, 0);
    for (const product of products) {
      // Real goods differ from the catalogue by a few percent, consistently for a product.
      const bias = this.random.between(-biasOfTolerance, biasOfTolerance) * product.weightTolerance;
      this.trueUnitWeight.set(product.id, product.unitWeight + bias);
      for (const facing of this.facingsOf(product)) this.facings.push(facing);
    }
    if (emptyFacings && emptyFacings.count > 0) this.plantScarce(emptyFacings.count, emptyFacings.random);
    for (const facing of this.facings) this.fill(facing);
  }

  /** Every facing of the planogram: a product on a plate. */
  plannedFacings(): { plate: string; product: string; shelf: string }[] {
    const out: { plate: string; product: string; shelf: string }[] = [];
    for (const f of this.facings) {
      for (const p of this.platesUnder(f.shelf, f.u0, f.u1)) {
        if (this.products.find((x) => x.id === f.product)!.plates.includes(p.key)) out.push({ plate: p.key, product: f.product, shelf: f.shelf.key });
      }
    }
    return out;
  }

  /** Units per facing ("plate|product"), each unit on the plate under its centre; misplaced units under their own product. */
  facingUnits(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const f of this.plannedFacings()) counts.set(facingKey(f.plate, f.product), 0);
    for (const u of this.units.values()) {
      const plate = this.plateUnder(u);
      if (!plate) continue;
      const key = facingKey(plate, u.product);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  /** Facings ("plate|product") with any weight of their product on the plate: a unit across a seam lies on both. */
  facingsCarrying(): Set<string> {
    const out = new Set<string>();
    for (const u of this.units.values()) for (const s of this.shares(u)) out.add(facingKey(s.plate, u.product));
    return out;
  }

  /** The plate under a unit's centre. */
  plateUnder(unit: Pick<StockUnit, 'shelf' | 'u'>): string | undefined {
    const shelf = this.layout.shelves.get(unit.shelf);
    return shelf && plateAt(shelf, unit.u).key;
  }

  /** Units the facing holds when fully stocked (what it started with, unless planted nearly empty). */
  fullUnits(plate: string, product: string): number {
    return this.full.get(facingKey(plate, product)) ?? 0;
  }

  /**
   * Staff put a new unit (from the back room: its own weight and tag) into the first free slot of
   * the product's facing whose column lies on `plate`; undefined when the plate's columns are full.
   */
  restock(product: string, plate: string, random: Random): StockUnit | undefined {
    const layout = this.layout.plates.get(plate);
    const config = this.products.find((p) => p.id === product);
    const facing = layout && this.facings.find((f) => f.product === product && f.shelf.key === `${layout.gondola}.${layout.shelf}`);
    if (!facing || !config) return undefined;
    const slot = this.freeSlot(facing, plate);
    if (!slot) return undefined;
    const size = packageSize(config);
    const epc = this.newEpc(config, random);
    const id = this.nextId++;
    this.add({ id, product, ...(epc ? { epc } : {}), weight: this.unitWeightSample(config, random), shelf: facing.shelf.key, u: slot.u, depth: slot.depth, widthM: size.widthM, heightM: size.heightM, misplaced: false });
    return this.units.get(id);
  }

  private plantScarce(count: number, random: Random): void {
    const candidates = this.products.filter((p) => p.unitWeight >= 20 && this.facings.some((f) => f.product === p.id));
    for (const product of random.shuffle([...candidates]).slice(0, count)) {
      const plates = this.plannedFacings().filter((f) => f.product === product.id);
      if (plates.length === 0) continue;
      this.scarce.set(facingKey(random.pick(plates).plate, product.id), random.int(1, 3));
    }
  }

  /** The grams resting on a plate right now (without sensor effects). */
  load(plate: string): number {
    return this.plateLoad.get(plate) ?? 0;
  }

  allUnits(): IterableIterator<StockUnit> {
    return this.units.values();
  }

  count(product: string, shelf?: string): number {
    let n = 0;
    for (const u of this.units.values()) if (u.product === product && !u.misplaced && (shelf === undefined || u.shelf === shelf)) n++;
    return n;
  }

  /** Facings with at least one unit, for shoppers choosing what to take. */
  stockedFacings(): { product: string; shelf: string; plates: string[] }[] {
    return this.facings
      .filter((f) => this.count(f.product, f.shelf.key) > 0)
      .map((f) => ({ product: f.product, shelf: f.shelf.key, plates: this.platesUnder(f.shelf, f.u0, f.u1).map((p) => p.key) }));
  }

  /**
   * Takes the front unit of a column of the product's facing on `shelf`, preferring the column
   * nearest `nearU`. Returns undefined when the facing is empty.
   */
  take(product: string, shelf: string, nearU?: number): StockUnit | undefined {
    let best: StockUnit | undefined;
    let bestScore = Infinity;
    for (const unit of this.units.values()) {
      if (unit.product !== product || unit.shelf !== shelf) continue;
      const distance = nearU === undefined ? 0 : Math.abs(unit.u - nearU);
      // A hand takes what is in front of it: a misplaced unit only when it lies right there.
      if (unit.misplaced && distance > 0.25) continue;
      const score = unit.depth * 10 + distance * 2 + (unit.misplaced ? -1 : 0);
      if (score < bestScore) {
        best = unit;
        bestScore = score;
      }
    }
    if (best) this.remove(best);
    return best;
  }

  /** Puts a unit back into the first free front slot of its own facing on `shelf`. */
  returnToFacing(unit: StockUnit, shelf: string): boolean {
    const facing = this.facings.find((f) => f.product === unit.product && f.shelf.key === shelf);
    if (!facing) return false;
    const slot = this.freeSlot(facing);
    if (!slot) return false;
    this.add({ ...unit, shelf, u: slot.u, depth: slot.depth, misplaced: false });
    return true;
  }

  /** Leaves a unit at the front of a plate where it does not belong. */
  misplace(unit: StockUnit, plate: PlateLayout): void {
    const half = unit.widthM / 2;
    const u = Math.min(plate.u1 - half, Math.max(plate.u0 + half, this.random.between(plate.u0 + half, plate.u1 - half)));
    this.add({ ...unit, shelf: `${plate.gondola}.${plate.shelf}`, u, depth: 0, misplaced: true });
  }

  /** Grams each plate carries of a unit placed at its position. */
  shares(unit: Pick<StockUnit, 'shelf' | 'u' | 'widthM' | 'weight'>): { plate: string; grams: number }[] {
    const shelf = this.layout.shelves.get(unit.shelf);
    if (!shelf) return [];
    const a = unit.u - unit.widthM / 2;
    const b = unit.u + unit.widthM / 2;
    const out: { plate: string; grams: number }[] = [];
    for (const p of shelf.plates) {
      const overlap = Math.min(b, p.u1) - Math.max(a, p.u0);
      if (overlap > 0) out.push({ plate: p.key, grams: (unit.weight * overlap) / (b - a) });
    }
    return out;
  }

  snapshotUnits(): ShelfUnit[] {
    const out: ShelfUnit[] = [];
    for (const u of this.units.values()) out.push({ product: u.product, shelf: u.shelf, u: u.u, depth: u.depth, widthM: u.widthM, heightM: u.heightM });
    return out;
  }

  private facingsOf(product: ProductConfig): Facing[] {
    const byShelf = new Map<string, PlateLayout[]>();
    for (const key of product.plates) {
      const plate = this.layout.plates.get(key);
      if (!plate) continue;
      const shelfKey = `${plate.gondola}.${plate.shelf}`;
      byShelf.set(shelfKey, [...(byShelf.get(shelfKey) ?? []), plate]);
    }
    const size = packageSize(product);
    const facings: Facing[] = [];
    for (const [shelfKey, plates] of byShelf) {
      const shelf = this.layout.shelves.get(shelfKey)!;
      const u0 = Math.min(...plates.map((p) => p.u0));
      const u1 = Math.max(...plates.map((p) => p.u1));
      const pitch = size.widthM + GAP_M;
      const columns = Math.max(1, Math.floor((u1 - u0) / pitch));
      const rowPitch = size.depthM + GAP_M;
      const rows = Math.max(1, Math.floor(SHELF_DEPTH_M / rowPitch));
      facings.push({ product: product.id, shelf, u0, u1, columns: new Array<number>(columns).fill(0), rows, pitch, rowPitch });
    }
    return facings;
  }

  private fill(facing: Facing): void {
    const product = this.products.find((p) => p.id === facing.product)!;
    const size = packageSize(product);
    const plates = this.platesUnder(facing.shelf, facing.u0, facing.u1);
    const budget = plates.reduce((sum, p) => sum + p.capacityGrams * LOAD_LIMIT - this.load(p.key), 0);
    const unitWeight = this.trueUnitWeight.get(product.id)!;
    const maxUnits = Math.min(facing.columns.length * facing.rows, Math.floor(budget / unitWeight), 40);
    const target = Math.max(1, Math.round(maxUnits * this.random.between(0.55, 0.9)));
    const spread = (facing.u1 - facing.u0 - facing.columns.length * facing.pitch) / 2;
    const placed = new Map<string, number>();
    for (let n = 0; n < target; n++) {
      const column = n % facing.columns.length;
      const row = facing.columns[column]!;
      if (row >= facing.rows) continue;
      facing.columns[column] = row + 1;
      const u = facing.u0 + spread + (column + 0.5) * facing.pitch;
      const key = facingKey(plateAt(facing.shelf, u).key, product.id);
      this.full.set(key, (this.full.get(key) ?? 0) + 1);
      if ((placed.get(key) ?? 0) >= (this.scarce.get(key) ?? Infinity)) continue;
      placed.set(key, (placed.get(key) ?? 0) + 1);
      const epc = this.newEpc(product);
      this.add({
        id: 0,
        product: product.id,
        ...(epc ? { epc } : {}),
        weight: this.unitWeightSample(product),
        shelf: facing.shelf.key,
        u,
        depth: row * facing.rowPitch,
        widthM: size.widthM,
        heightM: size.heightM,
        misplaced: false,
      });
    }
  }

  /** A unit brought in from outside (bought earlier): a new unit of the product, tag and all, not on any shelf. */
  outsideUnit(productId: string, epc?: string): StockUnit | undefined {
    const product = this.products.find((p) => p.id === productId);
    if (!product) return undefined;
    const size = packageSize(product);
    const tag = epc ?? this.newEpc(product);
    return {
      id: this.nextId++,
      product: product.id,
      ...(tag ? { epc: tag } : {}),
      weight: this.unitWeightSample(product),
      shelf: '',
      u: 0,
      depth: 0,
      widthM: size.widthM,
      heightM: size.heightM,
      misplaced: false,
    };
  }

  private newEpc(product: ProductConfig, random = this.random): string | undefined {
    if (!product.rfidTagged) return undefined;
    const serial = this.nextSerial.get(product.id) ?? random.int(1_000, 9_000_000);
    this.nextSerial.set(product.id, serial + 1);
    return encodeSgtin96(toGtin14(product.gtin), serial);
  }

  private unitWeightSample(product: ProductConfig, random = this.random): number {
    // Units of one product vary a little around the product's true weight.
    return Math.max(1, this.trueUnitWeight.get(product.id)! + random.normal(0, product.weightTolerance * 0.4));
  }

  /** The front-most free slot of the facing, only among columns lying on `plate` when given. */
  private freeSlot(facing: Facing, plate?: string): { u: number; depth: number } | undefined {
    const spread = (facing.u1 - facing.u0 - facing.columns.length * facing.pitch) / 2;
    let best: { u: number; depth: number } | undefined;
    for (let c = 0; c < facing.columns.length; c++) {
      const u = facing.u0 + spread + (c + 0.5) * facing.pitch;
      if (plate !== undefined && plateAt(facing.shelf, u).key !== plate) continue;
      const occupied = [...this.units.values()].filter((x) => x.shelf === facing.shelf.key && !x.misplaced && Math.abs(x.u - u) < facing.pitch / 2);
      if (occupied.length >= facing.rows) continue;
      const frontmost = occupied.reduce((m, x) => Math.min(m, x.depth), Infinity);
      // Returned goods go to the front of the column when the front is free, else behind the last.
      const depth = frontmost >= facing.rowPitch ? 0 : occupied.reduce((m, x) => Math.max(m, x.depth), -facing.rowPitch) + facing.rowPitch;
      if (!best || depth < best.depth) best = { u, depth };
    }
    return best;
  }

  private platesUnder(shelf: ShelfLayout, u0: number, u1: number): PlateLayout[] {
    return shelf.plates.filter((p) => p.u1 > u0 + 1e-9 && p.u0 < u1 - 1e-9);
  }

  private add(unit: StockUnit): void {
    const stored = { ...unit, id: unit.id || this.nextId++ };
    this.units.set(stored.id, stored);
    for (const s of this.shares(stored)) this.plateLoad.set(s.plate, (this.plateLoad.get(s.plate) ?? 0) + s.grams);
  }

  private remove(unit: StockUnit): void {
    this.units.delete(unit.id);
    for (const s of this.shares(unit)) this.plateLoad.set(s.plate, (this.plateLoad.get(s.plate) ?? 0) - s.grams);
  }
}

export function facingKey(plate: string, product: string): string {
  return `${plate}|${product}`;
}

/** The plate under a point of the shelf; a unit centred on a seam (half its weight on each plate) counts on the left one. */
function plateAt(shelf: ShelfLayout, u: number): PlateLayout {
  return shelf.plates.find((p) => u < p.u1 + SEAM_M) ?? shelf.plates[shelf.plates.length - 1]!;
}
