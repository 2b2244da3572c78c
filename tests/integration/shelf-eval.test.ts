import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lastJsonLine, runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const NOISY = JSON.stringify({ noiseMedianG: 2, noiseP90G: 3, noiseMaxG: 3, driftMaxGPerHour: 8 });

describe('edge-agent eval shelf', { timeout: 120_000 }, () => {
  it('scores a busy simulated day: two shoppers at one shelf, put-backs, misplaced returns, 3 g of noise and drift', async () => {
    const rec = join(tempDir(), 'rec');
    expect((await runCli(['sim', '--seed', '21', '--minutes', '10', '--shoppers', '30', '--profile', 'busy', '--no-video', '--knobs', NOISY, '--out', rec])).code).toBe(0);
    const res = await runCli(['eval', 'shelf', '--recording', rec]);
    expect(res.code).toBe(0);
    const score = lastJsonLine(res.stdout);
    expect(score['truthEvents']).toBeGreaterThan(80);
    expect(score['recall']).toBeGreaterThanOrEqual(0.995);
    expect(score['precision']).toBeGreaterThanOrEqual(0.995);
    expect(score['itemAccuracyDistinguishable']).toBeGreaterThanOrEqual(0.99);
    expect(score['deltaErrorP95Grams']).toBeLessThan(3);
    expect(res.stderr).toMatch(/weight events: recall \d+\.\d+ %, precision \d+\.\d+ %/);
  });

  it('finds no event in an hour of idle shelves with 3 g of noise and drift', async () => {
    const rec = join(tempDir(), 'rec');
    const knobs = JSON.stringify({ noiseMedianG: 3, noiseP90G: 3, noiseMaxG: 3, driftMaxGPerHour: 10 });
    expect((await runCli(['sim', '--seed', '40', '--minutes', '60', '--shoppers', '0', '--no-video', '--knobs', knobs, '--out', rec])).code).toBe(0);
    const score = lastJsonLine((await runCli(['eval', 'shelf', '--recording', rec])).stdout);
    expect(score).toMatchObject({ truthEvents: 0, detectedEvents: 0 });
    expect(score['recordedSeconds']).toBeGreaterThanOrEqual(3600);
  });

  it('refuses a recording without ground truth', async () => {
    const res = await runCli(['eval', 'shelf', '--recording', tempDir()]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/manifest\.json: missing/);
  });
});
