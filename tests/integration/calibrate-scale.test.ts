import { spawn } from 'node:child_process';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { encodeSampleLine } from '../../edge-agent/src/devices/scale/scale-line-protocol.js';
import { Random } from '../../edge-agent/src/sim/random.js';
import { CLI, lastJsonLine } from '../support/cli.js';
import { demoRaw, writeJson } from '../support/demo-config.js';
import { DeviceEnd, PtyPair, waitFor } from '../support/devices.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

const ZERO = 123_456;
const COUNTS_PER_GRAM = -211.7;

/**
 * A shelf controller on a pty whose plate 3 reads `load()` grams with 1 g of noise; the calibration
 * command is answered at its prompts as an operator would.
 */
async function calibrate(load: (step: 'empty' | 'loaded') => number, known: number) {
  const dir = tempDir();
  const pty = new PtyPair(dir);
  await pty.plugIn();
  const device = await DeviceEnd.open(pty.b);
  const raw = demoRaw();
  raw['gondolas'][0]['shelves'][1]['device'] = `serial://${pty.a}`;
  const config = writeJson(dir, 'store.json', raw);
  const random = new Random(3);
  let step: 'empty' | 'loaded' = 'empty';
  let seq = 0;
  const timer = setInterval(() => {
    const grams = load(step) + random.normal(0, 1);
    const values = [1000, 2000, Math.round(ZERO + grams * COUNTS_PER_GRAM), 4000, 5000, 6000];
    // A write still in flight when the test closes the device fails; the controller just goes quiet.
    device.write(encodeSampleLine({ deviceTs: seq * 17, seq: seq++ & 0xffff, raw: values })).catch(() => undefined);
  }, 1000 / 60);
  const child = spawn(process.execPath, [CLI, 'calibrate', 'scale', '--config', config, '--plate', '1.2.3', '--known', String(known), '--operator', 'alice', '--data-dir', join(dir, 'data'), '--seconds', '1'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    await waitFor(() => stderr.includes('Remove everything from plate 1.2.3'), 15_000, 'the first prompt');
    child.stdin.write('\n');
    await waitFor(() => stderr.includes(`Put the ${known} g reference mass`), 15_000, 'the second prompt');
    // The operator puts the mass down, then presses Enter.
    step = 'loaded';
    await new Promise((r) => setTimeout(r, 300));
    child.stdin.write('\n');
    const code = await exited;
    return { code, stdout, stderr, dataDir: join(dir, 'data') };
  } finally {
    clearInterval(timer);
    await device.close();
    await pty.unplug();
  }
}

describe('edge-agent calibrate scale', () => {
  it('measures tare and span from a known mass and records them with the operator', async () => {
    const result = await calibrate((step) => (step === 'empty' ? 0 : 500), 500);
    expect(result.code).toBe(0);
    const json = lastJsonLine(result.stdout);
    expect(json).toMatchObject({ ok: true, plate: '1.2.3', operator: 'alice', knownMassGrams: 500 });
    // One second at 60 Hz with 1 g of noise: the mean is good to about a tenth of a gram.
    expect(Math.abs((json['zeroCounts'] as number) - ZERO) / Math.abs(COUNTS_PER_GRAM)).toBeLessThan(0.6);
    expect(json['countsPerGram']).toBeCloseTo(COUNTS_PER_GRAM, 0);
    const db = new BetterSqlite3(join(result.dataDir, 'store.db'), { readonly: true });
    const rows = db.prepare('SELECT plate, operator, known_mass_grams, source FROM plate_calibrations').all();
    db.close();
    expect(rows).toEqual([{ plate: '1.2.3', operator: 'alice', known_mass_grams: 500, source: expect.stringMatching(/^calibrate-cli@/) }]);
  });

  it('refuses when the reference mass did not change the reading', async () => {
    const result = await calibrate(() => 0, 500);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the reading hardly changed with 500 g on the plate');
    expect(lastJsonLine(result.stdout)).toMatchObject({ ok: false, plate: '1.2.3' });
  });
});
