import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { CAMERA_CALIBRATION_VERSION, solveFloorHomography, writeCameraCalibration } from '../../calibration/camera-homography.js';
import { CLI, lastJsonLine, runCli } from '../support/cli.js';
import { demoRaw } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();

describe('edge-agent record', { timeout: 120_000 }, () => {
  it('captures a live store (the simulator on ptys and MJPEG streams) into a recording that replays', async () => {
    const dir = tempDir();
    const sim = spawn(process.execPath, [CLI, 'sim', '--live', '--seed', '2', '--shoppers-per-hour', '1200'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const map = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('simulator did not start')), 20_000);
        createInterface({ input: sim.stdout! }).on('line', (line) => {
          if (line.includes('"event":"ready"')) {
            clearTimeout(timer);
            resolve(line);
          }
        });
      });
      const mapFile = join(dir, 'devices.json');
      writeFileSync(mapFile, map);
      // The west overhead camera has a floor calibration on this box; the recording must carry it.
      const calibrationFile = join(dir, 'cam-overhead-1.json');
      const marks: [number, number, number, number][] = [[40, 40, 1, 1], [600, 40, 8, 1], [600, 320, 8, 6], [40, 320, 1, 6], [320, 180, 4.5, 3.5]];
      writeCameraCalibration(calibrationFile, {
        ...solveFloorHomography(marks.map(([u, v, x, y]) => ({ image: [u, v], floor: [x, y] }))),
        version: CAMERA_CALIBRATION_VERSION,
        camera: 'cam-overhead-1',
        imageSize: { width: 640, height: 360 },
        createdAt: new Date().toISOString(),
        operator: 'test',
      });
      const store = demoRaw();
      store['cameras'][0]['calibration'] = calibrationFile;
      const configFile = join(dir, 'store.json');
      writeFileSync(configFile, JSON.stringify(store));
      const rec = join(dir, 'rec');
      const recorded = await runCli(['record', '--config', configFile, '--sim-map', mapFile, '--minutes', '0.4', '--out', rec]);
      expect(recorded.code).toBe(0);
      const summary = lastJsonLine(recorded.stdout);
      // Shelf controllers and the shelf RFID readers (told to poll) stream all the time, and the
      // entry gate has let shoppers in. (The exit reader may have caught a reflection or two.)
      expect(Object.keys(summary['serialBytes'] as object)).toEqual(expect.arrayContaining([
        'gate-entry',
        'rfid-shelf-2.3',
        'rfid-shelf-2.4',
        'shelf-1.1',
        'shelf-1.2',
        'shelf-1.3',
        'shelf-1.4',
        'shelf-2.1',
        'shelf-2.2',
        'shelf-2.3',
        'shelf-2.4',
      ]));
      // About 24 s of 5 fps cameras, minus ffmpeg's start.
      expect((summary['frames'] as Record<string, number>)['cam-overhead-1']).toBeGreaterThan(60);
      const manifest = JSON.parse(readFileSync(join(rec, 'manifest.json'), 'utf8')) as Record<string, any>;
      expect(manifest['createdBy']).toMatch(/^edge-agent record /);
      expect(manifest['endedAt']).toBeGreaterThan(manifest['startedAt']);
      const recordedCalibration = manifest['calibration']['cameras']['cam-overhead-1'] as string;
      expect(JSON.parse(readFileSync(join(rec, recordedCalibration), 'utf8'))).toEqual(JSON.parse(readFileSync(calibrationFile, 'utf8')));

      // The recording replays through the same adapters; the simulator's calibration is not in it,
      // so the plates are uncalibrated and reported, but gates and cameras are all there.
      const replay = await runCli(['replay', rec, '--data-dir', join(dir, 'data')]);
      expect(replay.code).toBe(0);
      const replayed = lastJsonLine(replay.stdout);
      expect(replayed['facts']['tables']['gate_events']['rows']).toBeGreaterThan(0);
      // The shelf readers' tags were seen on their shelves.
      expect(replayed['facts']['tables']['tag_events']['rows']).toBeGreaterThan(20);
      expect((replayed['devices'] as Record<string, Record<string, number>>)['shelf-1.1']!['samples']).toBeGreaterThan(1_000);
      expect((replayed['devices'] as Record<string, Record<string, number>>)['camera:cam-overhead-1']!['delivered']).toBe(
        (summary['frames'] as Record<string, number>)['cam-overhead-1'],
      );
    } finally {
      sim.stdin?.end();
      sim.kill('SIGTERM');
    }
  });
});
