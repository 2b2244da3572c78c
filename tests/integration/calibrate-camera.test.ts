import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCameraCalibration } from '../../calibration/camera-homography.js';
import { calibrateCamera, type CalibrateCameraOptions } from '../../edge-agent/src/cli/calibrate-camera.js';
import type { CliIo } from '../../edge-agent/src/cli/output.js';
import { calibrationTruth, simCameraRig } from '../../edge-agent/src/sim/cameras/sim-camera.js';
import { StoreLayout } from '../../edge-agent/src/sim/store-layout.js';
import { demoConfig, demoRaw, writeJson } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const startDir = process.cwd();
afterEach(() => process.chdir(startDir));

const layout = new StoreLayout(demoConfig('/tmp/unused'));
const truth = calibrationTruth(simCameraRig(layout).find((c) => c.id === 'cam-overhead-1')!, layout)!;

async function run(opts: CalibrateCameraOptions) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await calibrateCamera(opts, io);
  return { code, out, err, result: JSON.parse(out[out.length - 1]!) as Record<string, any> };
}

/** The demo store with cam-overhead-1's calibration file in `dir`. */
function storeFile(dir: string): { config: string; calibration: string } {
  const raw = demoRaw();
  const calibration = join(dir, 'cal', 'west.json');
  raw['cameras'][0]['calibration'] = calibration;
  return { config: writeJson(dir, 'store.json', raw), calibration };
}

/** The installer's marks as CSV: the simulator's ground truth, one mark put on the wrong cross. */
function marksCsv(dir: string): string {
  const lines = ['# cam-overhead-1, tape crosses every metre', 'u,v,x,y'];
  truth.pairs.forEach((p, i) => lines.push([p.image[0], p.image[1], i === 4 ? p.floor[0] + 1 : p.floor[0], p.floor[1]].join(',')));
  const file = join(dir, 'marks.csv');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

describe('edge-agent calibrate camera', () => {
  it('solves good marks, shows each pair’s error, writes the configured calibration file and prints the result', async () => {
    const dir = tempDir();
    const { config, calibration } = storeFile(dir);
    const r = await run({ camera: 'cam-overhead-1', points: marksCsv(dir), config, operator: 'alice', mountHeightM: 3.2 });
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.result).toMatchObject({ ok: true, camera: 'cam-overhead-1', pairs: truth.pairs.length, inliers: truth.pairs.length - 1, file: calibration });
    expect(r.result['rmsErrorM']).toBeLessThan(0.001);
    expect(r.result['maxErrorM']).toBeLessThan(0.002);
    expect(r.result['rmsErrorPx']).toBeLessThan(0.05);
    // One table row per pair; the wrong mark is pointed out.
    const rows = r.err.filter((l) => /^\s+\d+\s/.test(l));
    expect(rows).toHaveLength(truth.pairs.length);
    expect(rows[4]).toMatch(/1\.000\s+\S+\s+outlier: check this mark$/);
    expect(rows.filter((l) => l.includes('outlier'))).toHaveLength(1);

    const saved = readCameraCalibration(calibration);
    expect(saved).toMatchObject({ version: 1, camera: 'cam-overhead-1', imageSize: { width: 640, height: 360 }, operator: 'alice', mount: { heightM: 3.2 } });
    expect(saved.pairs[4]!.inlier).toBe(false);
    expect(Date.parse(saved.createdAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('writes calibration/<camera>.json in the working directory when nothing else says where', async () => {
    const dir = tempDir();
    const points = writeJson(dir, 'truth.json', truth);
    process.chdir(dir);
    const r = await run({ camera: 'cam-overhead-1', points, operator: 'bob' });
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.result['file']).toBe(join(process.cwd(), 'calibration', 'cam-overhead-1.json'));
    expect(readCameraCalibration(r.result['file'] as string).operator).toBe('bob');
  });

  it('exits 2 naming the file and line of a bad mark, and writes nothing', async () => {
    const dir = tempDir();
    const { config, calibration } = storeFile(dir);
    const points = join(dir, 'marks.csv');
    writeFileSync(points, 'u,v,x,y\n100,80,1,1\n# the next one was typed in a hurry\n200,80,2,1O\n300,200,3,2\n120,300,1,3\n');
    const r = await run({ camera: 'cam-overhead-1', points, config });
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`error: ${points}:4: y is not a number ("1O")`]);
    expect(r.result).toMatchObject({ ok: false, camera: 'cam-overhead-1' });
    expect(existsSync(calibration)).toBe(false);
  });

  it('exits 2 with one line for marks it cannot use', async () => {
    const dir = tempDir();
    const { config } = storeFile(dir);
    const csv = marksCsv(dir);
    const collinear = join(dir, 'line.csv');
    writeFileSync(collinear, '10,10,1,1\n20,20,2,2\n30,30,3,3\n40,40,4,4\n50,50,5,5\n');
    const cases: [CalibrateCameraOptions, RegExp][] = [
      [{ camera: 'cam-overhead-1', points: csv }, /does not say which image size the points were measured in/],
      [{ camera: 'cam-nowhere', points: csv, config }, /no camera cam-nowhere in .*store\.json \(cameras: cam-overhead-1, cam-overhead-2, cam-shelf-1\)/],
      [{ camera: 'cam-shelf-1', points: csv, config }, /is a shelf camera/],
      [{ camera: 'cam-overhead-2', points: writeJson(dir, 'truth.json', truth) }, /holds the points of camera cam-overhead-1, not cam-overhead-2/],
      [{ camera: 'cam-overhead-1', points: collinear, config }, /lie on \(nearly\) one line/],
      [{ camera: 'cam-overhead-1', points: join(dir, 'absent.csv'), config }, /absent\.csv: cannot read \(ENOENT\)/],
      [{ camera: 'cam-overhead-1', points: csv, config, ransacThresholdM: 0 }, /--ransac-threshold/],
    ];
    for (const [opts, message] of cases) {
      const r = await run(opts);
      expect(r.code, JSON.stringify(opts)).toBe(2);
      expect(r.err, JSON.stringify(opts)).toHaveLength(1);
      expect(r.err[0]).toMatch(message);
      expect(r.result['ok']).toBe(false);
    }
  });
});
