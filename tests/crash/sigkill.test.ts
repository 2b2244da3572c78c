/**
 * Crash safety: the agent replays a busy simulated store (speeded up, publishing to a real
 * Mosquitto) and is killed with SIGKILL at random, seeded moments; each time it is started again
 * where the store has got to (what the devices sent while it was down is lost, as in a store).
 * Then: the database passes `PRAGMA integrity_check`; every receipt in SQLite reached the broker
 * exactly once per idempotency key (a de-duplicating subscriber), none missing, none unknown; no
 * cart line or gate event was stored twice; and every shopper whose visit no crash interrupted
 * got the same receipt as in a replay without crashes. CI runs 12 kills; CRASH_LONG=1 runs 60.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { openRecording } from '../../edge-agent/src/recording/recording-reader.js';
import { readTruth } from '../../edge-agent/src/recording/truth-file.js';
import { recordSimulation } from '../../edge-agent/src/sim/record-simulation.js';
import { Random } from '../../edge-agent/src/sim/random.js';
import { resolveScenario } from '../../edge-agent/src/sim/scenario.js';
import { CLI, startAgent, waitUntil } from '../support/cli.js';
import { bareConfig, demoConfig, writeJson } from '../support/demo-config.js';
import { startMosquitto } from '../support/mosquitto.js';
import { useTempDirs } from '../support/temp-dir.js';

const LONG = process.env['CRASH_LONG'] === '1';
const KILLS = LONG ? 60 : 12;
const SPEED = 12;
const TICK_MS = 250;
const tempDir = useTempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Run {
  code: number | null;
  lastAt: number | null;
}

/** One replay child; killed `killAfterMs` after its first progress line (or left to finish). */
function replayChild(args: string[], killAfterMs: number | null): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'replay', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'error' } });
    let lastAt: number | null = null;
    let buffer = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        const m = /^\{"at":(\d+)\}$/.exec(line);
        if (!m) continue;
        lastAt = Number(m[1]);
        if (killAfterMs !== null && !timer) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.resume();
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, lastAt });
    });
  });
}

type Lines = Map<string, Map<string, number>>;

/** Per token: the products and units on its receipts (lines struck off by staff aside). */
function receiptsByToken(file: string): { lines: Lines; keys: string[]; storeId: string } {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const lines: Lines = new Map();
    for (const r of db.prepare("SELECT r.token, l.product, l.quantity FROM receipts r JOIN receipt_lines l ON l.receipt_id = r.id WHERE l.status != 'rejected'").all() as { token: string; product: string; quantity: number }[]) {
      const m = lines.get(r.token) ?? new Map<string, number>();
      m.set(r.product, (m.get(r.product) ?? 0) + r.quantity);
      lines.set(r.token, m);
    }
    const keys = (db.prepare('SELECT id FROM receipts').all() as { id: number }[]).map((r) => r.id);
    return { lines, keys: keys.map(String), storeId: '' };
  } finally {
    db.close();
  }
}

describe(`crash safety: ${KILLS} SIGKILLs of the agent on a busy store`, { timeout: LONG ? 3_600_000 : 900_000 }, () => {
  it('loses no committed fact, doubles none, and delivers every receipt exactly once', async () => {
    const config = demoConfig(join(tempDir(), 'unused'));
    const recording = join(tempDir(), 'recording');
    const scenario = resolveScenario({ seed: 23, minutes: LONG ? 40 : 10, shoppers: LONG ? 100 : 30, profile: 'busy' });
    await recordSimulation({ config, scenario, out: recording, video: false, createdBy: 'crash test' });
    const truth = openRecording(recording);
    const truthReceipts = readTruth(truth, 'receipts')!;
    const tracks = readTruth(truth, 'tracks')!;

    const broker = await startMosquitto(tempDir());
    cleanups.push(() => broker.stop());
    const store = `retail/${config.store.id}`;
    const received = new Map<string, number>();
    const cloud = mqtt.connect(broker.url, { clientId: 'crash-cloud', clean: false, protocolVersion: 5 });
    cleanups.push(async () => void (await cloud.endAsync(true)));
    cloud.on('message', (_topic, payload) => {
      const key = (JSON.parse(payload.toString()) as { idempotencyKey: string }).idempotencyKey;
      received.set(key, (received.get(key) ?? 0) + 1);
    });
    await new Promise<void>((resolve) => cloud.once('connect', () => resolve()));
    await cloud.subscribeAsync(`${store}/receipts/created`, { qos: 1 });

    const floor = ['--truth-floor', '--floor-noise', '0', '--floor-miss', '0'];
    // The same day without crashes: what each shopper's receipt should be.
    const baselineDir = join(tempDir(), 'baseline');
    expect((await replayChild([recording, '--speed', 'max', '--data-dir', baselineDir, ...floor], null)).code).toBe(0);
    const baseline = receiptsByToken(join(baselineDir, 'store.db'));

    const dataDir = join(tempDir(), 'crashed');
    const rng = new Random(2026);
    const gaps: [number, number][] = [];
    let resumeFrom: number | null = null;
    let kills = 0;
    for (;;) {
      const killAfter = kills < KILLS ? Math.round(rng.between(300, 2_500)) : null;
      const run = await replayChild(
        [recording, '--speed', String(SPEED), '--data-dir', dataDir, '--progress', '--sync-url', broker.url, ...floor, ...(resumeFrom !== null ? ['--resume-from', String(resumeFrom)] : [])],
        killAfter,
      );
      if (run.code === 0) break;
      expect(run.code, 'the replay was killed, not failed').toBeNull();
      kills += 1;
      // Devices went on while the agent was down: resume past anything it may have been handed.
      const killedAt = run.lastAt ?? resumeFrom ?? truth.manifest.startedAt;
      resumeFrom = Math.ceil(killedAt + TICK_MS * SPEED * 2);
      gaps.push([killedAt, resumeFrom]);
    }
    expect(kills).toBe(KILLS);

    // Whatever the last replay left in the outbox goes out from an agent run on the same data.
    const base = bareConfig(dataDir);
    const drainConfig = { ...base, mqtt: { ...base.mqtt, url: broker.url, clientId: `replay-${base.store.id}` } };
    const drainer = await startAgent(['run', '--config', writeJson(tempDir(), 'store.json', drainConfig), '--port', '0'], { timeoutMs: 60_000 });
    cleanups.push(async () => {
      if (drainer.child.exitCode === null) {
        drainer.child.kill('SIGTERM');
        await drainer.exited;
      }
    });

    const db = new BetterSqlite3(join(dataDir, 'store.db'), { readonly: true });
    cleanups.push(async () => void db.close());
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const receiptIds = (db.prepare('SELECT id FROM receipts ORDER BY id').all() as { id: number }[]).map((r) => `${config.store.id}:receipt:${r.id}:r0`);
    await waitUntil(async () => receiptIds.every((k) => received.has(k)), 60_000, 'every stored receipt at the broker');
    expect([...received.keys()].sort()).toEqual([...receiptIds].sort());
    const repeats = [...received.values()].filter((n) => n > 1).length;

    // Nothing stored twice: a cart line per weight event and session, a gate event per moment.
    expect(db.prepare('SELECT weight_event_id, session_id, product, COUNT(*) AS n FROM cart_lines WHERE weight_event_id IS NOT NULL GROUP BY weight_event_id, session_id, product HAVING n > 1').all()).toEqual([]);
    expect(db.prepare('SELECT gate, kind, at, COUNT(*) AS n FROM gate_events GROUP BY gate, kind, at, token, direction HAVING n > 1').all()).toEqual([]);
    expect(db.prepare('SELECT session_id, COUNT(*) AS n FROM receipts GROUP BY session_id HAVING n > 1').all()).toEqual([]);

    // Shoppers no crash interrupted: the same receipt as without crashes.
    const firstSeen = new Map<string, number>();
    for (const p of tracks) if (!firstSeen.has(p.shopper) || p.at < firstSeen.get(p.shopper)!) firstSeen.set(p.shopper, p.at);
    const crashed = receiptsByToken(join(dataDir, 'store.db'));
    const MARGIN = 10_000;
    let unaffected = 0;
    const differing: string[] = [];
    for (const r of truthReceipts) {
      const from = Math.min(...r.shoppers.map((s) => firstSeen.get(s) ?? r.closedAt)) - MARGIN;
      const to = r.closedAt + MARGIN;
      if (gaps.some(([a, b]) => a < to && b > from)) continue;
      unaffected += 1;
      const want = JSON.stringify([...(baseline.lines.get(r.token) ?? new Map()).entries()].sort());
      const got = JSON.stringify([...(crashed.lines.get(r.token) ?? new Map()).entries()].sort());
      if (want !== got) differing.push(`${r.token}: ${got} instead of ${want}`);
    }
    console.log(
      `crash test: ${kills} kills over ${scenario.minutes} simulated minutes; ${receiptIds.length} receipts stored and delivered (${repeats} sent more than once, de-duplicated by key); ${unaffected} of ${truthReceipts.length} shoppers' visits untouched by a crash, ${differing.length} of them differing from the crash-free replay`,
    );
    expect(unaffected).toBeGreaterThan(0);
    expect(differing).toEqual([]);
  });
});
