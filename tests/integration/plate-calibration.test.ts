import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreDatabase } from '../../edge-agent/src/db/database.js';
import { PlateCalibrationRepository } from '../../edge-agent/src/db/repositories/plate-calibrations.js';
import { StoreLayout } from '../../edge-agent/src/sim/store-layout.js';
import { PlateCalibrationTable } from '../../edge-agent/src/shelf/plate-calibration.js';
import { CalibrationFileError, importCalibrations, readCalibrationFile } from '../../edge-agent/src/shelf/plate-calibration-file.js';
import type { ShelfGramsTick, ShelfTick } from '../../edge-agent/src/shelf/shelf-tick.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { demoConfig, writeJson } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function repository(): Promise<PlateCalibrationRepository> {
  const database = new StoreDatabase(tempDir(), silentLogger());
  await database.start();
  cleanups.push(() => database.stop());
  return new PlateCalibrationRepository(database.handle);
}

async function issuesOf(file: string): Promise<{ path: string; message: string }[]> {
  const err = await readCalibrationFile(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CalibrationFileError);
  return [...(err as CalibrationFileError).issues];
}

describe('plate calibrations', () => {
  it('imports files into the history; the newest calibration per plate is in force', async () => {
    const repo = await repository();
    const dir = tempDir();
    const first = writeJson(dir, 'install.json', {
      plates: [
        { plate: '1.2.1', zeroCounts: 8000, countsPerGram: 40, knownMassGrams: 500, operator: 'ana', calibratedAt: '2025-03-01T08:00:00Z' },
        { plate: '1.2.2', zeroCounts: -1200.5, countsPerGram: -20, operator: 'ana', calibratedAt: '2025-03-01T08:05:00Z' },
      ],
    });
    const imported = await importCalibrations(repo, first, 'install.json');
    expect(imported.map((c) => [c.plate, c.calibratedAt, c.knownMassGrams, c.source])).toEqual([
      ['1.2.1', Date.parse('2025-03-01T08:00:00Z'), 500, 'install.json'],
      ['1.2.2', Date.parse('2025-03-01T08:05:00Z'), null, 'install.json'],
    ]);
    // A later visit re-spans plate 1; an old sheet for plate 2 turns up and is imported after it.
    const second = writeJson(dir, 'visit.json', {
      plates: [
        { plate: '1.2.1', zeroCounts: 8100, countsPerGram: 41, operator: 'ben', calibratedAt: '2025-06-01T10:00:00+02:00' },
        { plate: '1.2.2', zeroCounts: 0, countsPerGram: 1, operator: 'old', calibratedAt: '2024-12-24T10:00:00Z' },
      ],
    });
    await importCalibrations(repo, second, 'visit.json');
    const latest = repo.latest();
    expect([...latest.keys()]).toEqual(['1.2.1', '1.2.2']);
    expect(latest.get('1.2.1')).toMatchObject({ zeroCounts: 8100, countsPerGram: 41, operator: 'ben', calibratedAt: Date.parse('2025-06-01T08:00:00Z'), source: 'visit.json' });
    expect(latest.get('1.2.2')).toMatchObject({ zeroCounts: -1200.5, countsPerGram: -20, operator: 'ana' });
    expect(repo.history('1.2.2').map((c) => c.operator)).toEqual(['old', 'ana']);
    expect(repo.history('9.9.9')).toEqual([]);
  });

  it('converts ticks to grams in place: NaN for invalid and uncalibrated plates', async () => {
    const repo = await repository();
    repo.record({ plate: '1.2.1', zeroCounts: 8000, countsPerGram: 40, operator: 'ana', calibratedAt: 1, source: 'test' });
    repo.record({ plate: '1.2.2', zeroCounts: -1200, countsPerGram: -20, operator: 'ana', calibratedAt: 1, source: 'test' });
    repo.record({ plate: '1.2.3', zeroCounts: 100, countsPerGram: 10, operator: 'ana', calibratedAt: 1, source: 'test' });
    repo.record({ plate: '1.2.3', zeroCounts: 0, countsPerGram: 50, operator: 'ana', calibratedAt: 2, source: 'test' });
    repo.record({ plate: '7.7.7', zeroCounts: 0, countsPerGram: 1, operator: 'ana', calibratedAt: 1, source: 'test' });
    const layout = new StoreLayout(demoConfig(tempDir()));
    const table = new PlateCalibrationTable(layout, repo.latest());
    expect(table.unknownPlates).toEqual(['7.7.7']);
    expect(table.uncalibrated).toHaveLength(48 - 3);
    expect(table.uncalibrated).toContain('1.2.4');

    const tick: ShelfTick = {
      shelf: '1.2',
      at: 1234,
      deviceTs: 5,
      seq: 6,
      raw: Int32Array.from([8400, -2200, 5000, 77, 0, 0]),
      valid: Uint8Array.from([1, 1, 1, 1, 1, 0]),
    };
    const out: ShelfGramsTick = { shelf: '', at: 0, grams: new Float64Array(6) };
    const grams = out.grams;
    table.toGrams(tick, out);
    expect(out.grams).toBe(grams);
    expect(out.shelf).toBe('1.2');
    expect(out.at).toBe(1234);
    expect(Array.from(out.grams)).toEqual([10, 50, 100, NaN, NaN, NaN]);
    tick.valid[0] = 0;
    table.toGrams(tick, out);
    expect(out.grams[0]).toBeNaN();
    expect(out.grams[1]).toBe(50);

    table.toGrams({ ...tick, shelf: '9.9' }, out);
    expect(Array.from(out.grams).every(Number.isNaN)).toBe(true);
    expect(table.unknownShelfTicks).toBe(1);
  });

  it('refuses bad files with the JSON path of every problem, and stores nothing from them', async () => {
    const repo = await repository();
    const dir = tempDir();
    const good = { plate: '1.1.1', zeroCounts: 1, countsPerGram: 2, operator: 'ana', calibratedAt: '2025-03-01T08:00:00Z' };
    const bad = writeJson(dir, 'bad.json', {
      plates: [
        good,
        { ...good, plate: '1.1', countsPerGram: 0 },
        { ...good, plate: '1.1.3', zeroCounts: 'zero', scale: 3 },
        { plate: '1.1.4', zeroCounts: 1, countsPerGram: 2, calibratedAt: 'yesterday' },
        { ...good, plate: '1.1.5', calibratedAt: '2025-02-30T08:00:00Z', knownMassGrams: -5 },
        { ...good, countsPerGram: 3 },
      ],
    });
    const issues = await issuesOf(bad);
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: '/plates/1/plate', message: expect.stringMatching(/is not valid: expected a plate as "<gondola>\.<shelf>\.<plate>"/) },
        { path: '/plates/2/zeroCounts', message: 'must be number' },
        { path: '/plates/2/scale', message: 'unknown key' },
        { path: '/plates/3/operator', message: 'required' },
        { path: '/plates/3/calibratedAt', message: expect.stringMatching(/ISO 8601/) },
        { path: '/plates/4/knownMassGrams', message: 'must be > 0' },
      ]),
    );
    await expect(importCalibrations(repo, bad, 'bad.json')).rejects.toThrow(/bad\.json: .*\/plates\/1\/plate/);
    expect(repo.latest().size).toBe(0);

    // Past the schema: a zero span, an impossible date, the same plate twice.
    const subtle = writeJson(dir, 'subtle.json', {
      plates: [
        good,
        { ...good, plate: '1.1.2', countsPerGram: 0 },
        { ...good, plate: '1.1.5', calibratedAt: '2025-13-01T08:00:00Z' },
        { ...good, countsPerGram: 3 },
        { ...good, plate: '1.1.6', calibratedAt: '2025-02-30T08:00:00Z' },
        { ...good, plate: '1.1.7', calibratedAt: '2024-02-29T23:30:00-01:00' },
      ],
    });
    expect(await issuesOf(subtle)).toEqual([
      { path: '/plates/1/countsPerGram', message: 'must be a non-zero number' },
      { path: '/plates/2/calibratedAt', message: '"2025-13-01T08:00:00Z" is not a real date' },
      { path: '/plates/3/plate', message: 'plate 1.1.1 is already calibrated at /plates/0' },
      { path: '/plates/4/calibratedAt', message: '"2025-02-30T08:00:00Z" is not a real date' },
    ]);

    const notJson = join(dir, 'broken.json');
    writeFileSync(notJson, '{ "plates": [ ');
    expect(await issuesOf(notJson)).toEqual([{ path: '', message: expect.stringMatching(/^invalid JSON/) }]);
    expect(await issuesOf(join(dir, 'absent.json'))).toEqual([{ path: '', message: 'no such file' }]);
    expect(await issuesOf(writeJson(dir, 'empty.json', { plates: [] }))).toEqual([{ path: '/plates', message: expect.stringMatching(/fewer than 1/) }]);
  });
});
