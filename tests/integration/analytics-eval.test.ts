import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { lastJsonLine, runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

const truthLines = (rec: string, stream: string): Record<string, unknown>[] =>
  readFileSync(join(rec, 'truth', `${stream}.jsonl`), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('shopper analytics on simulator ground truth', { timeout: 180_000 }, () => {
  it('measures dwell, heat, picks and footfall from true positions with missed detections and noise, and staff tools change what counts', async () => {
    const rec = join(tempDir(), 'rec');
    // Busy, with members of staff walking out of the back room to the shelves and back.
    const knobs = JSON.stringify({ staffWalks: 4 });
    expect((await runCli(['sim', '--seed', '41', '--minutes', '20', '--shoppers', '60', '--profile', 'busy', '--no-video', '--knobs', knobs, '--out', rec])).code).toBe(0);

    // 10 % of observations missed (each on its own) and 0.1 m of position noise: what the vision
    // pipeline measured on real video (floor error median 0.10 m).
    const dataDir = join(tempDir(), 'eval');
    const res = await runCli(['eval', 'analytics', '--recording', rec, '--data-dir', dataDir]);
    expect(res.code).toBe(0);
    const score = lastJsonLine(res.stdout) as Record<string, any>;
    expect(res.stderr).toMatch(/dwell: \d+\.\d+ % of \d+ visits within ±1 s/);
    expect(score['dropped']).toBeGreaterThan(0.08 * score['observations']);
    expect(score['dwell'].scored).toBeGreaterThan(200);
    expect(score['dwell'].shareWithinOneSecond).toBeGreaterThanOrEqual(0.95);
    expect(score['dwell'].split).toBe(0);
    expect(score['dwell'].phantom).toBeLessThanOrEqual(0.01 * score['dwell'].scored);
    expect(Math.abs(score['heatmap'].relativeError)).toBeLessThanOrEqual(0.02);
    expect(score['picks'].creditedToTheRightShopper).toBeGreaterThanOrEqual(0.75 * score['picks'].truth);
    expect(Math.abs(score['conversion'].measured - score['conversion'].truth)).toBeLessThanOrEqual(0.1);
    // Staff are on camera all along and never counted, and no shopper is taken for staff.
    expect(score['staff']).toEqual({ truth: 4, leftOut: 4, countedVisits: 0, shoppersTakenForStaff: 0 });

    // Footfall counts the gates' passes; every shopper on the floor is one store visit.
    const passes = truthLines(rec, 'gate-events').filter((g) => g['kind'] === 'pass');
    const shoppers = new Set(truthLines(rec, 'tracks').filter((p) => !p['staff']).map((p) => p['shopper']));
    const footfall = score['report'].footfall;
    expect(footfall.countedBy).toBe('gates');
    expect(footfall.entries).toBe(passes.filter((g) => g['direction'] === 'in').length);
    expect(footfall.exits).toBe(passes.filter((g) => g['direction'] === 'out').length);
    expect(footfall.visits).toBe(shoppers.size);
    expect(score['report'].topDwellZones[0].type).toBe('shelf-front');

    // Many more misses, still each on its own: still not a single split visit.
    const heavy = await runCli(['eval', 'analytics', '--recording', rec, '--miss-rate', '0.4', '--seed', '2']);
    expect(heavy.code).toBe(0);
    expect((lastJsonLine(heavy.stdout) as Record<string, any>)['dwell'].split).toBe(0);

    // The heatmap of the evaluated day, as a PNG of the 12 m × 8 m floor.
    const png = join(tempDir(), 'heat.png');
    const range = ['--from', '2026-11-01T00:00Z', '--to', '2026-11-03T00:00Z'];
    const heat = await runCli(['analytics', 'heatmap', '--data-dir', dataDir, ...range, '--out', png]);
    expect(heat.code).toBe(0);
    expect(existsSync(png)).toBe(true);
    expect(await sharp(png).metadata()).toMatchObject({ width: 480, height: 320, format: 'png' });
    expect((lastJsonLine(heat.stdout) as Record<string, any>)['occupancySeconds']).toBeCloseTo(score['heatmap'].measuredSeconds, 3);

    // A shopper marked as staff leaves the counts at once, stored facts and hourly tables alike.
    const someone = [...shoppers][0] as string;
    const marked = await runCli(['analytics', 'mark-staff', someone, '--data-dir', dataDir, '--by', 'test']);
    expect(marked.code).toBe(0);
    expect((lastJsonLine(marked.stdout) as Record<string, any>)['storedFactsWithdrawn']).toBeGreaterThan(0);
    const after = await runCli(['analytics', 'report', '--data-dir', dataDir, ...range]);
    expect(after.code).toBe(0);
    expect((lastJsonLine(after.stdout) as Record<string, any>)['footfall'].visits).toBe(shoppers.size - 1);

    // Bad input: a clear error, exit 2.
    const bad = await runCli(['eval', 'analytics', '--recording', rec, '--miss-rate', '1.5']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--miss-rate/);
  });

  it('replay prints footfall and the top dwell zones (no shoppers on the floor without a detector; gates still count)', async () => {
    const rec = join(tempDir(), 'rec');
    expect((await runCli(['sim', '--seed', '42', '--minutes', '3', '--shoppers', '8', '--no-video', '--out', rec])).code).toBe(0);
    const res = await runCli(['replay', rec]);
    expect(res.code).toBe(0);
    const summary = lastJsonLine(res.stdout) as Record<string, any>;
    const passes = truthLines(rec, 'gate-events').filter((g) => g['kind'] === 'pass' && g['direction'] === 'in');
    expect(summary['analytics'].footfall).toMatchObject({ countedBy: 'gates', entries: passes.length, visits: 0 });
    expect(summary['analytics'].topDwellZones).toEqual([]);
    expect(res.stderr).toContain(`footfall: ${passes.length} in`);
    expect(res.stderr).toMatch(/top dwell: none/);
  });
});
