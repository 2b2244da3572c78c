/**
 * `edge-agent bench facts`: how many facts per second the store database takes the way the agent
 * writes them — each weight event and gate event in its own transaction through its repository
 * (WAL, synchronous=NORMAL) — against a bare better-sqlite3 insert of the same columns in the same
 * database settings, in the same run. The ratio is the repositories' overhead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StoreDatabase } from '../db/database.js';
import { GateEventRepository } from '../db/repositories/gate-events.js';
import { WeightEventRepository } from '../db/repositories/weight-events.js';
import { silentLogger } from '../log.js';
import type { NewWeightEvent } from '../shelf/weight-event.js';

export interface FactsBenchResult {
  writes: number;
  weightEventsPerSecond: number;
  gateEventsPerSecond: number;
  bareInsertsPerSecond: number;
  /** Weight events per second over bare inserts per second. */
  ratio: number;
}

const N = 20_000;

function event(i: number): NewWeightEvent {
  return {
    shelf: '1.2',
    plates: ['1.2.3'],
    tStart: 1_700_000_000_000 + i * 1000,
    tEnd: 1_700_000_000_600 + i * 1000,
    deltaGrams: -512.4,
    perPlate: { '1.2.3': -512.4 },
    noiseSigma: 1.1,
    kind: i % 5 === 0 ? 'return' : 'pick',
    candidates: [{ product: 'cola-can-330', count: 1, probability: 0.97, misplaced: false }],
    flags: [],
  };
}

function rate(n: number, work: () => void): number {
  const t0 = performance.now();
  work();
  return Math.round(n / ((performance.now() - t0) / 1000));
}

export async function benchFacts(): Promise<FactsBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-facts-'));
  const database = new StoreDatabase(dir, silentLogger());
  await database.start();
  try {
    const db = database.handle;
    const weights = new WeightEventRepository(db);
    const gates = new GateEventRepository(db);
    const bare = db.prepare(
      'INSERT INTO weight_events (shelf, plates, t_start, t_end, delta_grams, per_plate, noise_sigma, kind, candidates, top_product, top_count, confidence, flags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const candidates = JSON.stringify(event(0).candidates);
    // Warm both paths, then alternate so neither gets the warmer cache.
    for (let i = 0; i < 500; i++) weights.record(event(i));
    let weightRate = 0;
    let bareRate = 0;
    for (let round = 0; round < 2; round++) {
      weightRate = Math.max(weightRate, rate(N, () => {
        for (let i = 0; i < N; i++) weights.record(event(i));
      }));
      bareRate = Math.max(bareRate, rate(N, () => {
        for (let i = 0; i < N; i++) bare.run('1.2', '["1.2.3"]', 1_700_000_000_000 + i, 1_700_000_000_600 + i, -512.4, '{"1.2.3":-512.4}', 1.1, 'pick', candidates, 'cola-can-330', 1, 0.97, '[]');
      }));
    }
    const gateRate = rate(N, () => {
      for (let i = 0; i < N; i++) gates.record({ gate: 'gate-entry', kind: i % 2 ? 'scan' : 'pass', ...(i % 2 ? { token: `tok-${i}` } : { direction: 'in' as const }), at: 1_700_000_000_000 + i * 100 });
    });
    return { writes: N, weightEventsPerSecond: weightRate, gateEventsPerSecond: gateRate, bareInsertsPerSecond: bareRate, ratio: Math.round((weightRate / bareRate) * 100) / 100 };
  } finally {
    await database.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
