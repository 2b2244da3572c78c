/**
 * Soak: a simulated store day replayed through the whole agent at full speed (scales, gates and
 * RFID from the recording, the shoppers' floor positions from the simulator's truth), with the
 * heap and RSS sampled as the day goes on and the event loop's delay measured. After warm-up the
 * memory must show no growth trend. CI replays 2 hours of a busy store; SOAK_LONG=1 a 12-hour day.
 */
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../edge-agent/src/log.js';
import { replay } from '../../edge-agent/src/recording/replay-session.js';
import { recordSimulation } from '../../edge-agent/src/sim/record-simulation.js';
import { resolveScenario } from '../../edge-agent/src/sim/scenario.js';
import { demoConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const LONG = process.env['SOAK_LONG'] === '1';
const HOURS = LONG ? 12 : 2;
const tempDir = useTempDirs();
// A collection before each sample, so the heap measured is what is still referenced.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Least-squares slope of y over x. */
function slope(points: readonly [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxy = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

describe(`soak: a ${HOURS}-hour busy store day at full speed`, { timeout: LONG ? 3_600_000 : 600_000 }, () => {
  it('keeps memory flat after warm-up and finishes the day', async () => {
    const config = demoConfig(join(tempDir(), 'data'));
    const dir = join(tempDir(), 'recording');
    const scenario = resolveScenario({ seed: 17, minutes: HOURS * 60, shoppers: HOURS * 60, profile: 'busy' });
    await recordSimulation({ config, scenario, out: dir, video: false, createdBy: 'soak test' });
    const samples: { storeHour: number; heapMb: number; rssMb: number }[] = [];
    let start = 0;
    let lastSampleAt = -Infinity;
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const summary = await replay({
      dir,
      speed: Infinity,
      dataDir: join(tempDir(), 'replay'),
      log: silentLogger(),
      version: 'soak',
      onAgent: (a) => {
        // Sampled on the store's own time: every 2 simulated minutes of traffic.
        a.bus.on('vision.shoppers', 'soak', (u) => {
          if (start === 0) start = u.at;
          if (u.at - lastSampleAt < 120_000) return;
          lastSampleAt = u.at;
          collect();
          const m = process.memoryUsage();
          samples.push({ storeHour: (u.at - start) / 3_600_000, heapMb: m.heapUsed / 1_048_576, rssMb: m.rss / 1_048_576 });
        });
      },
      truthFloor: { seed: 17, noiseM: 0.1, missRate: 0.05 },
    });
    delay.disable();
    expect(summary.problems).toEqual([]);
    const db = new BetterSqlite3(join(summary.dataDir, 'store.db'), { readonly: true });
    const receipts = (db.prepare('SELECT COUNT(*) AS n FROM receipts').get() as { n: number }).n;
    expect((db.pragma('integrity_check', { simple: true }) as string)).toBe('ok');
    db.close();
    expect(receipts).toBeGreaterThan(HOURS * 20);
    const warm = samples.filter((s) => s.storeHour >= HOURS * 0.25);
    expect(warm.length).toBeGreaterThan(20);
    const heapSlope = slope(warm.map((s) => [s.storeHour, s.heapMb]));
    const rssSlope = slope(warm.map((s) => [s.storeHour, s.rssMb]));
    const first = warm.slice(0, 10).reduce((s, x) => s + x.heapMb, 0) / 10;
    const last = warm.slice(-10).reduce((s, x) => s + x.heapMb, 0) / 10;
    console.log(
      `soak ${HOURS} h (${summary.recordedSeconds} s recorded, ${receipts} receipts) in ${summary.wallSeconds} s wall: heap ${first.toFixed(1)} → ${last.toFixed(1)} MB (slope ${heapSlope.toFixed(2)} MB/h), RSS slope ${rssSlope.toFixed(2)} MB/h, max RSS ${Math.max(...samples.map((s) => s.rssMb)).toFixed(0)} MB; event loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`,
    );
    // A leak of a few hundred bytes per shopper would show as MBs per hour here.
    expect(heapSlope).toBeLessThan(1);
    expect(last - first).toBeLessThan(10);
  });
});
