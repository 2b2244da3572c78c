/**
 * The simulator as the test bench: a simulated store day is written as a recording (serial bytes,
 * encoded video, ground truth), replayed through the agent's real adapters, and what the agent
 * found is held against what the simulator says happened.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, truncateSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoConfig } from '../support/demo-config.js';
import { lastJsonLine, runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dir.js';
import { scoreWeightEvents } from '../../edge-agent/src/shelf/weight-event-scoring.js';
import type { TruthGateEvent, TruthWeightEvent } from '../../edge-agent/src/sim/ground-truth.js';
import type { WeightEvent } from '../../edge-agent/src/shelf/weight-event.js';
import BetterSqlite3 from 'better-sqlite3';

const tempDir = useTempDirs();

function truth<T>(dir: string, stream: string): T[] {
  return readFileSync(join(dir, 'truth', `${stream}.jsonl`), 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

function storedWeightEvents(dataDir: string): WeightEvent[] {
  const db = new BetterSqlite3(join(dataDir, 'store.db'), { readonly: true });
  try {
    return (db.prepare('SELECT * FROM weight_events ORDER BY id').all() as Record<string, unknown>[]).map((r) => ({
      id: r['id'] as number,
      shelf: r['shelf'] as string,
      plates: JSON.parse(r['plates'] as string) as string[],
      tStart: r['t_start'] as number,
      tEnd: r['t_end'] as number,
      deltaGrams: r['delta_grams'] as number,
      perPlate: JSON.parse(r['per_plate'] as string) as Record<string, number>,
      noiseSigma: r['noise_sigma'] as number,
      kind: r['kind'] as 'pick' | 'return',
      candidates: JSON.parse(r['candidates'] as string) as WeightEvent['candidates'],
      flags: JSON.parse(r['flags'] as string) as string[],
    }));
  } finally {
    db.close();
  }
}

describe('simulated store day → recording → replay', { timeout: 120_000 }, () => {
  it('runs a busy 2-minute day through the real adapters and finds what the simulator did', async () => {
    const rec = join(tempDir(), 'rec');
    const data = join(tempDir(), 'data');
    const t0 = performance.now();
    const sim = await runCli(['sim', '--seed', '4', '--minutes', '2', '--shoppers', '6', '--profile', 'busy', '--out', rec]);
    expect(sim.code).toBe(0);
    const replay = await runCli(['replay', rec, '--data-dir', data]);
    const wallSeconds = (performance.now() - t0) / 1000;
    expect(replay.code).toBe(0);
    // A figure, not a bound: a loaded test box is no place for timing (the benches measure speed).
    console.log(`busy 2-minute day: simulated with video and replayed in ${wallSeconds.toFixed(1)} s`);

    const simulated = lastJsonLine(sim.stdout);
    const summary = lastJsonLine(replay.stdout);
    expect(simulated['durationSeconds']).toBeGreaterThanOrEqual(120);
    expect(summary['recordedSeconds']).toBeGreaterThanOrEqual(119.9);
    expect(summary['problems']).toEqual([]);

    // Every byte went through the real parsers: the only bad lines are the ones the busy profile corrupts.
    const devices = summary['devices'] as Record<string, Record<string, number>>;
    for (const shelf of ['shelf-1.1', 'shelf-2.4']) {
      expect(devices[shelf]!['samples']).toBeGreaterThan(7_000);
      expect(devices[shelf]!['internalErrors']).toBe(0);
    }
    // Every recorded camera frame was delivered to the agent.
    for (const [camera, frames] of Object.entries(simulated['frames'] as Record<string, number>)) {
      expect(devices[`camera:${camera}`]).toMatchObject({ delivered: frames, problems: 0 });
    }

    // Weight events found through the adapters match the ground truth.
    const config = demoConfig(data);
    const score = scoreWeightEvents(truth<TruthWeightEvent>(rec, 'weight-events'), storedWeightEvents(data), config.planogram.products);
    expect(score.truthEvents).toBeGreaterThan(15);
    expect(score.recall).toBe(1);
    expect(score.precision).toBe(1);
    expect(score.itemAccuracyDistinguishable).toBe(1);

    // So do the gate events: every scan and pass the simulator made was parsed and stored.
    const gates = truth<TruthGateEvent>(rec, 'gate-events');
    const db = new BetterSqlite3(join(data, 'store.db'), { readonly: true });
    const stored = db.prepare('SELECT gate, kind, token, direction FROM gate_events ORDER BY id').all();
    db.close();
    expect(stored).toEqual(gates.map((g) => ({ gate: g.gate, kind: g.kind, token: g.token ?? null, direction: g.direction ?? null })));
  });

  it('gives the same bytes for the same seed and another day for another seed', async () => {
    const a = join(tempDir(), 'a');
    const b = join(tempDir(), 'b');
    const c = join(tempDir(), 'c');
    for (const [dir, seed] of [[a, '9'], [b, '9'], [c, '10']] as const) {
      expect((await runCli(['sim', '--seed', seed, '--minutes', '0.5', '--shoppers', '3', '--profile', 'busy', '--out', dir])).code).toBe(0);
    }
    const fa = fingerprint(a);
    expect(Object.keys(fa)).toContain('video/cam-shelf-1.mkv');
    expect(fingerprint(b)).toEqual(fa);
    const fc = fingerprint(c);
    expect(fc['truth/weight-events.jsonl']).not.toEqual(fa['truth/weight-events.jsonl']);
    expect(fc['serial/shelf-1.1.cap']).not.toEqual(fa['serial/shelf-1.1.cap']);
  });

  it('replays a recording twice into byte-identical facts', async () => {
    const rec = join(tempDir(), 'rec');
    expect((await runCli(['sim', '--seed', '12', '--minutes', '1', '--shoppers', '4', '--profile', 'busy', '--no-video', '--out', rec])).code).toBe(0);
    const first = lastJsonLine((await runCli(['replay', rec, '--data-dir', join(tempDir(), 'one')])).stdout);
    const second = lastJsonLine((await runCli(['replay', rec, '--data-dir', join(tempDir(), 'two')])).stdout);
    expect(first['facts']['tables']['weight_events']['rows']).toBeGreaterThan(3);
    expect(first['facts']['tables']['gate_events']['rows']).toBeGreaterThan(3);
    expect(second['facts']).toEqual(first['facts']);
  });

  it('replays what it can of a damaged recording and names what is wrong', async () => {
    const rec = join(tempDir(), 'rec');
    expect((await runCli(['sim', '--seed', '5', '--minutes', '0.5', '--shoppers', '2', '--out', rec])).code).toBe(0);
    // A recorder killed mid-write: the last record of one capture is cut short.
    const cap = join(rec, 'serial', 'shelf-1.2.cap');
    truncateSync(cap, statSync(cap).size - 7);
    // A video that went missing.
    rmSync(join(rec, 'video', 'cam-overhead-2.mkv'));
    const res = await runCli(['replay', rec, '--data-dir', join(tempDir(), 'data')]);
    expect(res.code).toBe(0);
    const summary = lastJsonLine(res.stdout);
    const problems = summary['problems'] as string[];
    expect(problems).toContainEqual(expect.stringMatching(/cam-overhead-2\.mkv.*: missing \(manifest\.json \/video\/1\); camera cam-overhead-2 is skipped/));
    expect(problems).toContainEqual(expect.stringMatching(/shelf-1\.2\.cap: truncated record \d+ at byte \d+; replaying the \d+ records before it/));
    // The rest still replayed.
    expect((summary['devices'] as Record<string, Record<string, number>>)['shelf-1.2']!['samples']).toBeGreaterThan(1_700);
    expect(summary['devices']).toHaveProperty('camera:cam-overhead-1');
  });

  it('refuses a folder that is not a recording, naming the file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'manifest.json'), '{ not json');
    const res = await runCli(['replay', dir]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/manifest\.json: invalid JSON/);
    const empty = await runCli(['replay', tempDir()]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/manifest\.json: missing — not a recording folder/);
  });
});
