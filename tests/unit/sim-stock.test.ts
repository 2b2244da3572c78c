/**
 * Stock truth of the simulator: a `stock` day (facings planted nearly empty, restock walks with a
 * staff badge, misplaced put-backs, a drifting plate) written as a recording, its truth streams
 * held against each other and against the weight events; and a day without the stock knobs is
 * the day it always was.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRecording } from '../../edge-agent/src/recording/recording-reader.js';
import { readTruth } from '../../edge-agent/src/recording/truth-file.js';
import type { TruthRestock, TruthStock, TruthStockFault, TruthWeightEvent } from '../../edge-agent/src/sim/ground-truth.js';
import { recordSimulation } from '../../edge-agent/src/sim/record-simulation.js';
import { SIM_STAFF_BADGE_PREFIX } from '../../edge-agent/src/sim/restock-walks.js';
import { resolveScenario, type ScenarioKnobs } from '../../edge-agent/src/sim/scenario.js';
import { StoreWorld } from '../../edge-agent/src/sim/store-world.js';
import { demoConfig } from '../support/demo-config.js';

const config = demoConfig('/tmp/unused');
const products = new Map(config.planogram.products.map((p) => [p.id, p]));
const key = (l: { plate: string; product: string }) => `${l.plate}|${l.product}`;

describe('stock truth of a simulated stock day', { timeout: 60_000 }, () => {
  let dir: string;
  let startAt: number;
  let stock: TruthStock[];
  let restocks: TruthRestock[];
  let faults: TruthStockFault[];
  let weights: TruthWeightEvent[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edge-agent-sim-stock-'));
    const scenario = resolveScenario({ seed: 4, minutes: 15, shoppers: 45, profile: 'stock' });
    startAt = scenario.startAt;
    await recordSimulation({ config, scenario, out: dir, video: false, createdBy: 'sim-stock test' });
    const recording = openRecording(dir);
    stock = readTruth(recording, 'stock')!;
    restocks = readTruth(recording, 'restocks')!;
    faults = readTruth(recording, 'stock-faults')!;
    weights = readTruth(recording, 'weight-events')!;
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the stock streams as truth files listed in the manifest', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { truth: Record<string, string> };
    expect(manifest.truth).toMatchObject({ stock: 'truth/stock.jsonl', restocks: 'truth/restocks.jsonl', 'stock-faults': 'truth/stock-faults.jsonl' });
    expect(stock.length).toBeGreaterThan(1000);
    expect(restocks).toHaveLength(4);
  });

  it('starts with every facing, plants nearly empty ones, and never goes below zero', () => {
    const start = stock.filter((l) => l.at === startAt && l.cause === undefined);
    const planogram = config.planogram.products.flatMap((p) => p.plates.map((plate) => `${plate}|${p.id}`));
    expect(start.map(key).sort()).toEqual(planogram.sort());
    const planted = start.filter((l) => l.units >= 1 && l.units <= 3);
    expect(new Set(planted.map((l) => l.product)).size).toBeGreaterThanOrEqual(5);
    for (const l of stock) {
      expect(Number.isInteger(l.units)).toBe(true);
      expect(l.units).toBeGreaterThanOrEqual(0);
    }
  });

  it('snapshots every 10 s exactly what the changes before them add up to', () => {
    const state = new Map<string, number>();
    const snapshotTimes: number[] = [];
    for (let i = 0; i < stock.length; ) {
      const l = stock[i]!;
      if (l.cause !== undefined) {
        expect(l.units, `${key(l)} at ${l.at}: a change line changes the count`).not.toBe(state.get(key(l)) ?? 0);
        state.set(key(l), l.units);
        i++;
        continue;
      }
      const group: TruthStock[] = [];
      while (i < stock.length && stock[i]!.cause === undefined && stock[i]!.at === l.at) group.push(stock[i++]!);
      if (l.at > startAt) {
        const expected = [...state].filter(([k, units]) => units > 0 || planogramKey(k)).sort();
        expect(group.map((g) => [key(g), g.units]).sort()).toEqual(expected);
      } else for (const g of group) state.set(key(g), g.units);
      snapshotTimes.push(l.at);
    }
    expect(snapshotTimes.length).toBeGreaterThan(80);
    snapshotTimes.forEach((t, n) => expect(t).toBe(startAt + n * 10_000));
  });

  it('restocks raise a low facing to full over several reaches, with a weight increase each', () => {
    for (const r of restocks) {
      expect(r.staff).toMatch(/^restock-\d\d$/);
      expect(r.badge).toMatch(new RegExp(`^${SIM_STAFF_BADGE_PREFIX}[0-9A-F]+$`));
      expect(r.badge).toHaveLength(24);
      expect(r.plate.startsWith(`${r.shelf}.`)).toBe(true);
      const before = unitsAt(r.plate, r.product, r.at);
      const ups = stock.filter((l) => l.cause === 'restock' && key(l) === key(r));
      const during = ups.filter((l) => l.at >= r.at && l.at <= r.end);
      expect(during.length).toBeGreaterThanOrEqual(1);
      expect(r.units).toBeGreaterThan(0);
      expect(unitsAt(r.plate, r.product, r.end)).toBeGreaterThan(before);
      const puts = weights.filter((w) => w.restock === true && w.shopper === r.staff);
      expect(puts).toHaveLength(during.length);
      expect(puts.reduce((s, w) => s + w.count, 0)).toBe(r.units);
      for (const w of puts) {
        expect(w).toMatchObject({ kind: 'return', product: r.product, shelf: r.shelf, misplaced: false });
        expect(w.count).toBeGreaterThanOrEqual(1);
        expect(w.count).toBeLessThanOrEqual(3);
        expect(w.deltaGrams).toBeGreaterThan(0);
        expect(w.tStart).toBeGreaterThanOrEqual(r.at);
        expect(w.tEnd).toBeLessThanOrEqual(r.end);
      }
    }
    expect(restocks.filter((r) => unitsAt(r.plate, r.product, r.at) === 0).length).toBeGreaterThanOrEqual(1);
  });

  it('has an out-of-stock fault when a pick leaves nothing of a facing on its plate, at the settle of that pick', () => {
    const emptied = stock.filter((l) => l.cause !== undefined && l.units === 0 && planogramKey(key(l)));
    const outOfStock = faults.filter((f) => f.kind === 'out-of-stock');
    expect(outOfStock.length).toBeGreaterThanOrEqual(3);
    // A facing counted empty may still carry half of a unit lying across the seam (counted on the
    // next plate): not empty to anyone looking, so no fault until that one goes too.
    expect(outOfStock.length).toBeLessThanOrEqual(emptied.length);
    for (const f of outOfStock) {
      const k = key(f as { plate: string; product: string });
      const last = stock.filter((l) => key(l) === k && l.at <= f.at).at(-1);
      expect(last?.units, `units of ${k} when it ran out`).toBe(0);
      expect(weights.some((w) => w.kind === 'pick' && w.product === f.product && w.tEnd === f.at)).toBe(true);
    }
    const plantedEmptied = emptied.filter((l) => unitsAt(l.plate, l.product, startAt) <= 3 && outOfStock.some((f) => key(f as { plate: string; product: string }) === key(l)));
    expect(plantedEmptied.length).toBeGreaterThanOrEqual(1);
  });

  it('has a misplaced fault for every unit put on a plate its product does not belong to', () => {
    const misplacedFaults = faults.filter((f) => f.kind === 'misplaced');
    const foreign = stock.filter((l) => l.cause === 'misplace' && !products.get(l.product)!.plates.includes(l.plate));
    expect(misplacedFaults.length).toBeGreaterThanOrEqual(1);
    expect(misplacedFaults).toHaveLength(foreign.length);
    for (const f of misplacedFaults) {
      expect(products.get(f.product!)!.plates).not.toContain(f.plate);
      expect(foreign.some((l) => key(l) === key(f as { plate: string; product: string }) && l.at <= f.at && f.at - l.at < 5_000)).toBe(true);
      const event = weights.find((w) => w.misplaced && w.product === f.product && w.tEnd === f.at);
      expect(event, `weight event of the misplaced ${f.product}`).toBeDefined();
      expect(Object.keys(event!.plates)).toContain(f.plate);
    }
  });

  it('names the drifting plate once, at the start, and it drifts as planted', () => {
    const drift = faults.filter((f) => f.kind === 'drift');
    expect(drift).toEqual([expect.objectContaining({ at: startAt, plate: '2.1.5', product: 'olive-oil-750' })]);
    const noise = readTruth<{ plate: string; driftGPerHour: number }>(openRecording(dir), 'plate-noise')!.find((n) => n.plate === '2.1.5')!;
    expect(Math.abs(noise.driftGPerHour - 24)).toBeLessThanOrEqual(4);
  });

  it('lets the shelf antennas read the badge of staff restocking in front of them', () => {
    const rfidShelves = new Map(config.rfid.readers.flatMap((r) => r.antennas.filter((a) => a.role === 'shelf').map((a) => [a.shelf!, r.id] as const)));
    const nearAntennas = restocks.filter((r) => rfidShelves.has(r.shelf));
    expect(nearAntennas.length).toBeGreaterThanOrEqual(1);
    for (const r of nearAntennas) {
      const capture = readFileSync(join(dir, 'serial', `${rfidShelves.get(r.shelf)}.cap`));
      expect(occurrences(capture, Buffer.from(r.badge, 'hex'))).toBeGreaterThan(20);
    }
  });

  function unitsAt(plate: string, product: string, at: number): number {
    let units = 0;
    for (const l of stock) if (l.at <= at && l.plate === plate && l.product === product) units = l.units;
    return units;
  }
});

describe('a day without the stock knobs', () => {
  const day = { seed: 9, minutes: 1, shoppers: 4, profile: 'busy' };

  it('adds no knobs to the scenario (a manifest echoes them)', () => {
    const knobs = resolveScenario(day).knobs;
    for (const k of ['restockWalks', 'restockBelowUnits', 'emptyFacings', 'driftingPlate', 'stockTruth']) expect(knobs).not.toHaveProperty(k);
  });

  it('is the same day, to the byte, as before the stock knobs existed', async () => {
    const off = await fingerprint(day);
    expect(off.streams).not.toContain('stock');
    // Taken from the simulator before the stock knobs; a deliberate change of the simulated day updates it.
    expect(off.hash).toBe(GOLDEN_BUSY_SEED_9);
  });

  it('only adds the stock streams when asked for the stock truth', async () => {
    const off = await fingerprint(day);
    const observed = await fingerprint({ ...day, knobs: { stockTruth: true } });
    expect(observed.streams).toEqual(expect.arrayContaining(['stock', 'stock-faults']));
    expect(observed.hashWithout(['stock', 'stock-faults', 'restocks'])).toBe(off.hash);
  });

  it('refuses a drifting plate the store does not have', () => {
    const scenario = resolveScenario({ ...day, knobs: { driftingPlate: { plate: '9.9.9', gPerHour: 10 } } });
    expect(() => new StoreWorld({ config, scenario, cameras: false })).toThrow(/driftingPlate 9\.9\.9/);
    expect(() => resolveScenario({ ...day, knobs: { driftingPlate: { plate: '2.1', gPerHour: 10 } } })).toThrow(/invalid scenario knobs/);
  });
});

const GOLDEN_BUSY_SEED_9 = '42b93bc140c93b40284c40926d386ba515b58107b36aa142be682afa3dc04d25';

function planogramKey(k: string): boolean {
  const [plate, product] = k.split('|') as [string, string];
  return products.get(product)?.plates.includes(plate) ?? false;
}

function occurrences(haystack: Buffer, needle: Buffer): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) n++;
  return n;
}

/** Every serial byte and truth record of a day, hashed in the order the world emitted them. */
async function fingerprint(input: { seed: number; minutes: number; shoppers: number; profile: string; knobs?: Partial<ScenarioKnobs> }) {
  const scenario = resolveScenario(input);
  const world = new StoreWorld({ config, scenario, cameras: false });
  const records: { stream: string; text: string }[] = [];
  const serial = createHash('sha256');
  await world.runUntil(Infinity, {
    serial(device, at, bytes) {
      serial.update(`${device.device} ${at}\n`).update(bytes);
    },
    frame() {},
    truth(stream, record) {
      records.push({ stream, text: JSON.stringify(record) });
    },
  });
  const serialHash = serial.digest('hex');
  const hashWithout = (skip: string[]) => {
    const h = createHash('sha256').update(serialHash);
    for (const r of records) if (!skip.includes(r.stream)) h.update(`${r.stream} ${r.text}\n`);
    return h.digest('hex');
  };
  return { hash: hashWithout([]), hashWithout, streams: [...new Set(records.map((r) => r.stream))] };
}
