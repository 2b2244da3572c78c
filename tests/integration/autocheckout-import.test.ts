import { describe, it, expect } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { useTempDirs } from '../support/temp-dir.js';
import { validateConfig } from '../../device-config/validate.js';
import { gtinCheckDigitOk } from '../../device-config/cross-references.js';
import { VirtualClock } from '../../edge-agent/src/clock.js';
import { ReplayScheduler } from '../../edge-agent/src/recording/replay-scheduler.js';
import type { ShelfGramsTick } from '../../edge-agent/src/shelf/shelf-tick.js';
import {
  AutoCheckoutImportError,
  AutoCheckoutShelfSource,
  autoCheckoutShelfSources,
  autoCheckoutStoreConfig,
  readAutoCheckoutCatalog,
  scanAutoCheckoutFolder,
  summarizeAutoCheckoutReplay,
  type AutoCheckoutShelfOptions,
  type ImportProblem,
} from '../../edge-agent/src/recording/autocheckout-import.js';

const T0 = 1_581_362_318; // unix seconds, as in the AutoCheckout recordings (February 2020)
const HZ = 60;
const SECONDS = 4;
const PERIOD_MS = 1000 / HZ;
const PICK_AT_MS = (T0 + 2) * 1000;
/** One facing resting on two adjacent plates: the pick takes its weight from both. */
const PICK_GRAMS: Record<string, number> = { '1.1.2': 180, '1.1.3': 120 };
/** This plate's recording stops after 3 s while its neighbours go on. */
const SHORT_PLATE = '2.2.2';

const CATALOG = [
  'Name,Gondola,Shelf,Plate,Weight,Price,Image',
  'Coke 330ml,1,1,2,300,1.25,coke.png',
  'Coke 330ml,1,1,3,300,1.25,coke.png',
  'Chips,2,2,1,150,1.5,',
  'Gum,-1,-1,-1,20,0.99,',
  'Water,3,1,1,500,0.8,water.jpg',
  'Café Crème,1,2,3,250,2.49,',
  'Broken,1,1,1,heavy,1.00,',
].join('\n');

interface WrittenExport {
  dir: string;
  catalogFile: string;
  /** Garbage rows as written: file name and 1-based line. */
  garbage: Array<{ file: string; line: number }>;
  firstSampleAt: Map<string, number>;
  lastSampleAt: Map<string, number>;
}

function base(key: string): number {
  const [g, s, p] = key.split('.').map(Number) as [number, number, number];
  return 2000 + 400 * p + 50 * s + 7 * g;
}

function writeExport(root: string): WrittenExport {
  const dir = join(root, 'BASELINE-7');
  mkdirSync(dir);
  const rng = xoroshiro128plus(20200210);
  // Sum of three uniforms: bell-shaped, sd ≈ 0.85 g like a real plate at rest.
  const noise = () => (uniformFloat64(rng) + uniformFloat64(rng) + uniformFloat64(rng) - 1.5) * 1.7;
  const out: WrittenExport = { dir, catalogFile: join(dir, 'products.csv'), garbage: [], firstSampleAt: new Map(), lastSampleAt: new Map() };

  for (const g of [1, 2])
    for (const s of [1, 2])
      for (const p of [1, 2, 3]) {
        const key = `${g}.${s}.${p}`;
        const name = `gondola_${g}_shelf_${s}_plate_${p}.csv`;
        const lines: string[] = [];
        const junk = (row: string) => {
          lines.push(row);
          out.garbage.push({ file: name, line: lines.length });
        };
        const offset = (p - 1) * 0.002 + (s - 1) * 0.001;
        const rows = key === SHORT_PLATE ? 3 * HZ : SECONDS * HZ;
        for (let i = 0; i < rows; i++) {
          const t = T0 + i / HZ + offset + (uniformFloat64(rng) - 0.5) * 0.001;
          const grams = base(key) + noise() - (t * 1000 >= PICK_AT_MS ? (PICK_GRAMS[key] ?? 0) : 0);
          lines.push(`${t.toFixed(6)},${grams.toFixed(2)}`);
          if (i === 0) out.firstSampleAt.set(key, Number(t.toFixed(6)) * 1000);
          out.lastSampleAt.set(key, Number(t.toFixed(6)) * 1000);
          if (key === '1.1.1' && i === 30) junk('abc,12.50');
          if (key === '1.1.1' && i === 60) junk((T0 + 1).toFixed(6));
          if (key === '1.1.1' && i === 90) junk(`${(T0 - 5).toFixed(6)},${base(key).toFixed(2)}`);
          if (key === '2.1.3' && i === 100) junk(`${t.toFixed(6)},250000.00`);
          if (key === '2.1.3' && i === 120) junk(`${t.toFixed(6)},12.0,7`);
        }
        writeFileSync(join(dir, name), lines.join('\n') + '\n');
      }
  writeFileSync(out.catalogFile, CATALOG + '\n');
  writeFileSync(join(dir, 'README.txt'), 'exported from the AutoCheckout database\n');
  writeFileSync(join(dir, 'gondola_1_shelf_1.csv'), '1,2\n');
  return out;
}

interface Replayed {
  ticks: Array<{ shelf: string; at: number; grams: number[]; clock: number }>;
  problems: ImportProblem[];
  sources: AutoCheckoutShelfSource[];
}

async function replay(ex: WrittenExport, options: AutoCheckoutShelfOptions = {}): Promise<Replayed> {
  const scheduler = new ReplayScheduler(new VirtualClock(0));
  const out: Replayed = { ticks: [], problems: [], sources: [] };
  const sink = (tick: ShelfGramsTick) =>
    out.ticks.push({ shelf: tick.shelf, at: tick.at, grams: Array.from(tick.grams), clock: scheduler.clock.now() });
  const scan = scanAutoCheckoutFolder(ex.dir, { ignore: [ex.catalogFile] });
  out.sources = autoCheckoutShelfSources(scan.plates, sink, { ...options, onProblem: (p) => out.problems.push(p) });
  for (const source of out.sources) {
    await source.open();
    scheduler.add(source);
  }
  await scheduler.run();
  for (const source of out.sources) source.close();
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('AutoCheckout import', () => {
  const tempDir = useTempDirs();

  it('reads the catalogue: one product per name, every placement, prices in cents, valid GTINs', () => {
    const ex = writeExport(tempDir());
    const catalog = readAutoCheckoutCatalog(ex.catalogFile);

    expect(catalog.products.map((p) => p.id)).toEqual(['coke-330ml', 'chips', 'gum', 'water', 'cafe-creme']);
    const byId = new Map(catalog.products.map((p) => [p.id, p]));
    expect(byId.get('coke-330ml')).toMatchObject({ name: 'Coke 330ml', plates: ['1.1.2', '1.1.3'], unitWeight: 300, weightTolerance: 9, price: 125, image: 'coke.png' });
    expect(byId.get('chips')).toMatchObject({ plates: ['2.2.1'], price: 150, weightTolerance: 4.5 });
    expect(byId.get('chips')).not.toHaveProperty('image');
    expect(byId.get('gum')).toMatchObject({ plates: [], price: 99, weightTolerance: 2 });
    expect(byId.get('cafe-creme')).toMatchObject({ name: 'Café Crème', plates: ['1.2.3'], price: 249 });

    const gtins = catalog.products.map((p) => p.gtin);
    for (const gtin of gtins) {
      expect(gtin).toMatch(/^[0-9]{13}$/);
      expect(gtinCheckDigitOk(gtin)).toBe(true);
    }
    expect(new Set(gtins).size).toBe(gtins.length);

    expect(catalog.problems).toHaveLength(1);
    expect(catalog.problems[0]).toMatchObject({ file: ex.catalogFile, line: 8 });
    expect(catalog.problems[0]!.message).toMatch(/Weight "heavy"/);
  });

  it('scans the folder: plate files in order, other names reported without stopping', () => {
    const ex = writeExport(tempDir());
    const scan = scanAutoCheckoutFolder(ex.dir, { ignore: [ex.catalogFile] });
    expect(scan.plates.map((p) => p.key)).toEqual([
      '1.1.1', '1.1.2', '1.1.3', '1.2.1', '1.2.2', '1.2.3',
      '2.1.1', '2.1.2', '2.1.3', '2.2.1', '2.2.2', '2.2.3',
    ]);
    expect(scan.plates[4]!.file).toBe(join(ex.dir, 'gondola_1_shelf_2_plate_2.csv'));
    expect(scan.problems.map((p) => [basename(p.file), p.line])).toEqual([
      ['README.txt', 0],
      ['gondola_1_shelf_1.csv', 0],
    ]);
    expect(scan.problems[0]!.message).toMatch(/gondola_<G>_shelf_<S>_plate_<P>\.csv/);
    expect(() => scanAutoCheckoutFolder(join(ex.dir, 'absent'))).toThrow(/absent.*no such file/);
  });

  it('builds a valid store configuration from the files and the catalogue', () => {
    const ex = writeExport(tempDir());
    const catalog = readAutoCheckoutCatalog(ex.catalogFile);
    const problems: ImportProblem[] = [];
    const config = autoCheckoutStoreConfig(ex.dir, catalog, { onProblem: (p) => problems.push(p) });

    const again = validateConfig(JSON.parse(JSON.stringify(config)));
    expect(again.ok ? [] : again.errors).toEqual([]);
    expect(config.store.id).toBe('BASELINE-7');
    expect(config.gondolas.map((g) => g.id)).toEqual([1, 2]);
    for (const gondola of config.gondolas) {
      expect(gondola.position.widthM).toBe(1.2);
      expect(gondola.shelves.map((s) => s.id)).toEqual([1, 2]);
      for (const shelf of gondola.shelves) {
        expect(shelf.device).toBe(`replay://${ex.dir}`);
        expect(shelf.plates.map((p) => p.id)).toEqual([1, 2, 3]);
        expect(shelf.plates.reduce((sum, p) => sum + p.widthM, 0)).toBeCloseTo(1.2, 3);
      }
    }
    const [first, second] = config.gondolas as [(typeof config.gondolas)[0], (typeof config.gondolas)[0]];
    expect(second.position.x).toBeGreaterThanOrEqual(first.position.x + 1.2);
    expect(config.store.floor.widthM).toBeGreaterThanOrEqual(second.position.x + 1.2);
    expect(config.store.floor.depthM).toBeGreaterThan(first.position.y + first.position.depthM);

    const products = new Map(config.planogram.products.map((p) => [p.id, p]));
    expect(products.get('coke-330ml')?.plates).toEqual(['1.1.2', '1.1.3']);
    expect(products.get('water')?.plates).toEqual([]);
    expect(products.get('gum')?.plates).toEqual([]);
    expect(products.size).toBe(5);

    const dropped = problems.filter((p) => p.file === ex.catalogFile);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ line: 6 });
    expect(dropped[0]!.message).toMatch(/3\.1\.1/);
    expect(problems.map((p) => basename(p.file))).toEqual(expect.arrayContaining(['README.txt', 'gondola_1_shelf_1.csv']));
  });

  it('replays aligned 60 Hz shelf ticks in time order, the pick a step on two adjacent plates', async () => {
    const ex = writeExport(tempDir());
    const { ticks, sources } = await replay(ex);

    expect(sources.map((s) => s.shelf)).toEqual(['1.1', '1.2', '2.1', '2.2']);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]!.at).toBeGreaterThanOrEqual(ticks[i - 1]!.at);
    for (const tick of ticks) expect(tick.clock).toBe(tick.at);

    for (const shelf of ['1.1', '1.2', '2.1', '2.2']) {
      const own = ticks.filter((t) => t.shelf === shelf);
      expect(own.length).toBe(SECONDS * HZ);
      const earliest = Math.min(...[1, 2, 3].map((p) => ex.firstSampleAt.get(`${shelf}.${p}`)!));
      expect(own[0]!.at).toBe(earliest);
      // Epoch milliseconds in a double resolve to about 0.25 µs.
      own.forEach((tick, i) => expect(tick.at - own[0]!.at).toBeCloseTo(i * PERIOD_MS, 3));
      for (const tick of own) expect(tick.grams).toHaveLength(3);
    }

    // Plate n at index n-1, each near its own level before the pick.
    const early = ticks.filter((t) => t.at < PICK_AT_MS - 100);
    for (const tick of early) {
      tick.grams.forEach((grams, i) => {
        if (!Number.isNaN(grams)) expect(Math.abs(grams - base(`${tick.shelf}.${i + 1}`))).toBeLessThan(4);
      });
    }

    const shelf11 = ticks.filter((t) => t.shelf === '1.1');
    expect(shelf11.every((t) => t.grams.every((g) => Number.isFinite(g)))).toBe(true);
    const before = (i: number) => mean(shelf11.filter((t) => t.at < PICK_AT_MS - 100).map((t) => t.grams[i]!));
    const after = (i: number) => mean(shelf11.filter((t) => t.at > PICK_AT_MS + 100).map((t) => t.grams[i]!));
    expect(before(0) - after(0)).toBeLessThan(1);
    expect(before(1) - after(1)).toBeCloseTo(180, 0);
    expect(before(2) - after(2)).toBeCloseTo(120, 0);
    for (const plate of [1, 2]) {
      const stepAt = shelf11.find((t) => t.grams[plate]! < before(plate) - 60)!.at;
      expect(Math.abs(stepAt - PICK_AT_MS)).toBeLessThanOrEqual(PERIOD_MS);
    }
    const shelf12 = ticks.filter((t) => t.shelf === '1.2');
    for (const i of [0, 1, 2]) {
      const level = shelf12.map((t) => t.grams[i]!);
      expect(Math.abs(mean(level.slice(0, 100)) - mean(level.slice(-100)))).toBeLessThan(1);
    }
  });

  it('holds a silent plate for 0.5 s, then marks it missing while its neighbours go on', async () => {
    const ex = writeExport(tempDir());
    const { ticks, sources } = await replay(ex);
    const last = ex.lastSampleAt.get(SHORT_PLATE)!;
    const shelf22 = ticks.filter((t) => t.shelf === '2.2');
    const late = shelf22.filter((t) => t.at > last + PERIOD_MS / 2);
    expect(late.length).toBeGreaterThan(50);
    for (const tick of late) {
      if (tick.at - last <= 500) expect(tick.grams[1]).toBe(late[0]!.grams[1]);
      else expect(tick.grams[1]).toBeNaN();
      expect(Number.isFinite(tick.grams[0]) && Number.isFinite(tick.grams[2])).toBe(true);
    }
    expect(Number.isFinite(late[0]!.grams[1])).toBe(true);

    const summary = summarizeAutoCheckoutReplay(sources);
    const plate = summary.plates.find((p) => p.plate === SHORT_PLATE)!;
    expect(plate.samples).toBe(3 * HZ);
    expect(plate.missingTicks).toBe(late.filter((t) => t.at - last > 500).length);
    expect(plate.heldTicks).toBe(late.filter((t) => t.at - last <= 500).length);
  });

  it('reports each garbage row with its file and line, counts it, and replays the rest', async () => {
    const ex = writeExport(tempDir());
    const { ticks, problems, sources } = await replay(ex);

    const reported = problems.map((p) => ({ file: basename(p.file), line: p.line }));
    expect(reported).toEqual(expect.arrayContaining(ex.garbage));
    expect(reported).toHaveLength(ex.garbage.length);
    const messages = problems.map((p) => p.message).join('\n');
    expect(messages).toMatch(/"abc" is not a number/);
    expect(messages).toMatch(/expected 2 fields.*found 1/);
    expect(messages).toMatch(/goes back 6\.\d+ s/);
    expect(messages).toMatch(/beyond ±100 kg/);
    expect(messages).toMatch(/found 3/);
    expect(sources.flatMap((s) => s.problems)).toHaveLength(ex.garbage.length);

    const summary = summarizeAutoCheckoutReplay(sources);
    const byPlate = new Map(summary.plates.map((p) => [p.plate, p]));
    expect(byPlate.get('1.1.1')).toMatchObject({ samples: SECONDS * HZ, garbageRows: 3 });
    expect(byPlate.get('2.1.3')).toMatchObject({ samples: SECONDS * HZ, garbageRows: 2 });
    expect(byPlate.get('1.2.1')).toMatchObject({ samples: SECONDS * HZ, garbageRows: 0 });
    expect(summary.plates).toHaveLength(12);
    expect(summary.garbageRows).toBe(ex.garbage.length);
    expect(summary.samples).toBe(11 * SECONDS * HZ + 3 * HZ);
    expect(summary.ticks).toBe(ticks.length);
    expect(summary.firstAt).toBe(Math.min(...ex.firstSampleAt.values()));
    expect(summary.lastAt).toBe(Math.max(...ex.lastSampleAt.values()));
  });

  it('gives the same ticks whatever the read-ahead, refilling the buffers as it goes', async () => {
    const ex = writeExport(tempDir());
    const roomy = await replay(ex);
    const tight = await replay(ex, { readAheadRows: 4 });
    expect(tight.ticks.length).toBe(roomy.ticks.length);
    expect(tight.ticks).toEqual(roomy.ticks);
    expect(tight.problems).toEqual(roomy.problems);
  });

  it('reads headers, blank lines, quoted fields and CRLF; keeps a slightly early row; skips a pause in the grid', async () => {
    const dir = tempDir();
    const rows = (p: number, from: number, to: number) => {
      const out: string[] = [];
      for (let i = from; i < to; i++) out.push(`"${(T0 + i / HZ + p * 0.001).toFixed(6)}","${(100 * p).toFixed(2)}"`);
      return out;
    };
    const plate1 = ['timestamp,reading', ...rows(1, 0, 60), '', ...rows(1, 660, 720)];
    plate1.splice(20, 0, `${(T0 + 17 / HZ).toFixed(6)},100.00`); // 50 ms early: jitter, not garbage
    writeFileSync(join(dir, 'gondola_3_shelf_1_plate_1.csv'), plate1.join('\r\n'));
    writeFileSync(join(dir, 'gondola_3_shelf_1_plate_2.csv'), [...rows(2, 0, 60), ...rows(2, 660, 720)].join('\n'));

    const scan = scanAutoCheckoutFolder(dir);
    const problems: ImportProblem[] = [];
    const ats: number[] = [];
    const grams: number[][] = [];
    const [source, ...others] = autoCheckoutShelfSources(scan.plates, (t) => (ats.push(t.at), grams.push(Array.from(t.grams))), {
      onProblem: (p) => problems.push(p),
    });
    expect(others).toHaveLength(0);
    const scheduler = new ReplayScheduler(new VirtualClock(0));
    await source!.open();
    scheduler.add(source!);
    await scheduler.run();
    source!.close();

    expect(problems).toEqual([]);
    const [one, two] = source!.summary().plates;
    expect(one).toMatchObject({ plate: '3.1.1', samples: 121, reorderedRows: 1, garbageRows: 0 });
    expect(two).toMatchObject({ plate: '3.1.2', samples: 120 });
    // 1 s of samples, 0.5 s held, one tick of nothing, then straight on at the grid's phase.
    const silent = grams.findIndex((g) => g.every(Number.isNaN));
    expect(silent).toBeGreaterThanOrEqual(60 + 29);
    expect(silent).toBeLessThanOrEqual(60 + 31);
    expect(grams.filter((g) => g.every(Number.isNaN))).toHaveLength(1);
    expect(ats.length).toBe(silent + 1 + 60);
    expect(ats[silent + 1]! - ats[0]!).toBeCloseTo(660 * PERIOD_MS, 3);
    // Plate 1's last sample is 1 ms older than plate 2's, so it may go missing one tick earlier.
    const rest = grams.filter((_, i) => i !== silent);
    expect(rest.filter((g) => g[0] === 100 && g[1] === 200).length).toBeGreaterThanOrEqual(rest.length - 1);
    expect(rest.every((g) => (g[0] === 100 || Number.isNaN(g[0])) && g[1] === 200)).toBe(true);
  });

  it('fails clearly on a missing catalogue, a catalogue without its columns and a missing plate file', async () => {
    const ex = writeExport(tempDir());
    const absent = join(ex.dir, 'catalogue.csv');
    expect(() => readAutoCheckoutCatalog(absent)).toThrow(AutoCheckoutImportError);
    expect(() => readAutoCheckoutCatalog(absent)).toThrow(`${absent}: cannot read the catalogue (no such file)`);

    const wrong = join(ex.dir, 'other.csv');
    writeFileSync(wrong, 'Name,Price\nCoke,1.25\n');
    expect(() => readAutoCheckoutCatalog(wrong)).toThrow(/other\.csv: not an AutoCheckout catalogue: missing columns Gondola, Shelf, Plate, Weight/);

    const gone = join(ex.dir, 'gondola_9_shelf_1_plate_1.csv');
    const source = new AutoCheckoutShelfSource('9.1', [{ key: '9.1.1', file: gone }], () => undefined);
    await expect(source.open()).rejects.toThrow(`${gone}: cannot open the plate's CSV (no such file)`);
  });
});
