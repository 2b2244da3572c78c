/**
 * `edge-agent bench sync`: how fast the outbox drains to a real broker, against the fastest a
 * bare mqtt.js client gets through the same broker with the same messages. One local Mosquitto;
 * in each round a bare QoS 1 publisher loop (at most `window` unacknowledged, the next published
 * on each PUBACK) sends N receipt payloads, then N rows are written to the outbox of a fresh
 * store database (each in its own transaction, as the checkout writes them) and the real
 * `OutboxPublisher` drains them. Two rounds, alternating, and the better figure of each kept. The
 * cost of writing an outbox row is measured on the way: in its own transaction and batched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { StoreConfig } from '../../../device-config/schema.js';
import { validateConfig } from '../../../device-config/validate.js';
import { OutboxPublisher } from '../../../sync/outbox-publisher.js';
import type { ReceiptCreatedPayload } from '../../../sync/receipt-payloads.js';
import { topicOf } from '../../../sync/topics.js';
import { EventBus } from '../bus.js';
import { StoreDatabase } from '../db/database.js';
import { OutboxRepository } from '../db/repositories/outbox.js';
import { silentLogger } from '../log.js';
import { DEMO_CONFIG } from '../paths.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
/** The publisher's default in-flight window; the baseline uses the same. */
const WINDOW = 32;
const ROUNDS = 2;

export interface SyncBenchRound {
  baselinePerSecond: number;
  outboxPerSecond: number;
  /** Wall time of the outbox drain, from `start()` (connecting included) to an empty backlog. */
  outboxDrainMs: number;
  rowWriteMicros: { ownTransaction: number; batched: number };
}

export interface SyncBenchResult {
  rows: number;
  /** Bare mqtt.js loop, QoS 1, first publish to last PUBACK (better of the rounds). */
  baselinePerSecond: number;
  /** OutboxPublisher, rows acknowledged and deleted per second (better of the rounds). */
  outboxPerSecond: number;
  /** outbox / baseline; the target is ≥ 0.8. */
  ratio: number;
  /** µs to write one outbox row (better of the rounds). */
  rowWriteMicros: { ownTransaction: number; batched: number };
  broker: string;
  payloadBytes: number;
  window: number;
  /** Time the bare client took to connect (not in its figure; it is in the outbox's). */
  connectMs: number;
  runs: SyncBenchRound[];
}

export async function benchSync(options: { rows?: number } = {}): Promise<SyncBenchResult> {
  const rows = options.rows ?? 20_000;
  if (!Number.isInteger(rows) || rows <= 0) throw new Error(`rows must be a positive integer, not ${rows}`);
  const parsed = validateConfig(JSON.parse(readFileSync(DEMO_CONFIG(), 'utf8')));
  if (!parsed.ok) throw new Error(`demo store configuration is invalid: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  const base = parsed.config;
  const payloads = receipts(base, rows);
  const strings = payloads.map((p) => JSON.stringify(p));
  const topic = topicOf(base.mqtt.topicPrefix, base.store.id, 'receipt.created');

  const cleanups: (() => Promise<void> | void)[] = [];
  const temp = (name: string): string => {
    const dir = mkdtempSync(join(tmpdir(), `edge-bench-sync-${name}-`));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  try {
    const broker = await startBroker(temp('broker'));
    cleanups.push(() => broker.stop());
    const runs: SyncBenchRound[] = [];
    let connectMs = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      const bare = await baselineLoop(broker.url, `bench-bare-${process.pid}-${round}`, topic, strings, payloads, WINDOW);
      connectMs = Math.min(connectMs, bare.connectMs);
      const out = await outboxRound(base, broker.url, round, payloads, temp);
      runs.push({ baselinePerSecond: Math.round((rows / bare.ms) * 1000), outboxPerSecond: Math.round((rows / out.drainMs) * 1000), outboxDrainMs: round1(out.drainMs), rowWriteMicros: out.rowWriteMicros });
    }
    const baselinePerSecond = Math.max(...runs.map((r) => r.baselinePerSecond));
    const outboxPerSecond = Math.max(...runs.map((r) => r.outboxPerSecond));
    return {
      rows,
      baselinePerSecond,
      outboxPerSecond,
      ratio: Math.round((outboxPerSecond / baselinePerSecond) * 1000) / 1000,
      rowWriteMicros: {
        ownTransaction: Math.min(...runs.map((r) => r.rowWriteMicros.ownTransaction)),
        batched: Math.min(...runs.map((r) => r.rowWriteMicros.batched)),
      },
      broker: broker.version,
      payloadBytes: Math.round(strings.reduce((s, p) => s + Buffer.byteLength(p), 0) / rows),
      window: WINDOW,
      connectMs: round1(connectMs),
      runs,
    };
  } finally {
    // Whatever failed, everything started here goes: clients and databases first, the broker, then the folders.
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        // keep tearing down
      }
    }
  }
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const round2 = (v: number) => Math.round(v * 100) / 100;

/** Receipts of three lines from the demo planogram, as the checkout writes them. */
function receipts(config: StoreConfig, n: number): ReceiptCreatedPayload[] {
  const products = config.planogram.products;
  const start = Date.UTC(2026, 10, 2, 9);
  const out: ReceiptCreatedPayload[] = [];
  for (let i = 1; i <= n; i++) {
    const lines = [0, 1, 2].map((k) => {
      const p = products[(i * 3 + k * 7) % products.length]!;
      const quantity = 1 + ((i + k) % 3);
      return { product: p.id, name: p.name, quantity, unitPrice: p.price, total: quantity * p.price, confidence: Math.round((0.9 + ((i * 7 + k) % 100) / 1000) * 1000) / 1000 };
    });
    out.push({
      v: 1,
      idempotencyKey: `${config.store.id}:receipt:${i}:r0`,
      storeId: config.store.id,
      receiptId: i,
      revision: 0,
      sessionId: 1_000 + i,
      token: `acct_${(i * 2_654_435_761).toString(16).padStart(12, '0').slice(-12)}${i.toString(36).padStart(8, '0')}`,
      closedAt: new Date(start + i * 37_000).toISOString(),
      currency: config.store.currency,
      lines,
      total: lines.reduce((s, l) => s + l.total, 0),
      pendingReview: 0,
    });
  }
  return out;
}

// --- the bare mqtt.js loop -----------------------------------------------------------------------

async function connectClient(url: string, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, clean: true, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10_000, keepalive: 30 });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error(`connection to ${url} closed before CONNACK`)));
    });
  } catch (err) {
    client.end(true);
    throw err;
  }
  return client;
}

/**
 * N messages with QoS 1 and at most `window` unacknowledged, the next sent from each PUBACK's
 * callback; the same bytes, topic, MQTT 5 and idempotency user property as the publisher sends.
 */
async function baselineLoop(url: string, clientId: string, topic: string, strings: string[], payloads: ReceiptCreatedPayload[], window: number): Promise<{ ms: number; connectMs: number }> {
  const c0 = performance.now();
  const client = await connectClient(url, clientId);
  const connectMs = performance.now() - c0;
  try {
    const n = strings.length;
    const ms = await new Promise<number>((resolve, reject) => {
      let sent = 0;
      let acked = 0;
      let failed = false;
      client.on('error', (err) => {
        failed = true;
        reject(err);
      });
      client.on('close', () => {
        if (acked < n && !failed) {
          failed = true;
          reject(new Error(`connection closed after ${acked}/${n} acknowledgements`));
        }
      });
      const t0 = performance.now();
      const next = (): void => {
        while (!failed && sent < n && sent - acked < window) {
          const i = sent++;
          client.publish(topic, strings[i]!, { qos: 1, properties: { userProperties: { idempotencyKey: payloads[i]!.idempotencyKey } } }, (err) => {
            if (failed) return;
            if (err) {
              failed = true;
              reject(err);
              return;
            }
            acked += 1;
            if (acked === n) resolve(performance.now() - t0);
            else next();
          });
        }
      };
      next();
    });
    return { ms, connectMs };
  } finally {
    await client.endAsync(false).catch(() => client.end(true));
  }
}

// --- the outbox -----------------------------------------------------------------------------------

async function outboxRound(
  base: StoreConfig,
  url: string,
  round: number,
  payloads: ReceiptCreatedPayload[],
  temp: (name: string) => string,
): Promise<{ drainMs: number; rowWriteMicros: { ownTransaction: number; batched: number } }> {
  const n = payloads.length;
  const at = Date.UTC(2026, 10, 2, 9);
  const log = silentLogger();
  const stack: (() => Promise<void>)[] = [];
  try {
    // Batched: one transaction for all rows, in a scratch database of its own.
    const scratch = new StoreDatabase(temp(`scratch${round}`), log);
    await scratch.start();
    stack.push(() => scratch.stop());
    const scratchOutbox = new OutboxRepository(scratch.handle);
    let t = performance.now();
    scratch.handle.transaction(() => {
      for (const p of payloads) scratchOutbox.add('receipt.created', p, at);
    })();
    const batched = ((performance.now() - t) * 1000) / n;
    await stack.pop()!();

    // Own transaction per row, as the checkout writes a receipt: these are the rows drained.
    const dataDir = temp(`store${round}`);
    const database = new StoreDatabase(dataDir, log);
    await database.start();
    stack.push(() => database.stop());
    const outbox = new OutboxRepository(database.handle);
    const addOne = database.handle.transaction((p: ReceiptCreatedPayload) => outbox.add('receipt.created', p, at));
    t = performance.now();
    for (const p of payloads) addOne(p);
    const ownTransaction = ((performance.now() - t) * 1000) / n;
    if (outbox.backlog().rows !== n) throw new Error(`outbox holds ${outbox.backlog().rows} rows, expected ${n}`);

    const config: StoreConfig = { ...base, dataDir, mqtt: { ...base.mqtt, url, clientId: `edge-bench-${process.pid}-${round}` } };
    const publisher = new OutboxPublisher({ config, database, bus: new EventBus(log), log, version: 'bench' });
    const t0 = performance.now();
    await publisher.start();
    stack.push(() => publisher.stop());
    const drainMs = await new Promise<number>((resolve, reject) => {
      const deadline = t0 + Math.max(60_000, n * 2);
      // Cheap check first (a counter); the COUNT(*) only once the counter says everything went.
      const check = (): void => {
        const now = performance.now();
        if (publisher.counts.published >= n && outbox.backlog().rows === 0) return resolve(now - t0);
        if (publisher.counts.publishErrors > 0) return reject(new Error(`publisher: ${publisher.counts.publishErrors} publish errors (${publisher.health().detail ?? ''})`));
        if (now > deadline) return reject(new Error(`outbox not drained in ${Math.round(now - t0)} ms: ${publisher.counts.published}/${n} published, ${outbox.backlog().rows} rows left`));
        setTimeout(check, 1);
      };
      setTimeout(check, 1);
    });
    return { drainMs, rowWriteMicros: { ownTransaction: round2(ownTransaction), batched: round2(batched) } };
  } finally {
    for (const s of stack.reverse()) await s().catch(() => undefined);
  }
}

// --- a local Mosquitto ----------------------------------------------------------------------------

interface LocalBroker {
  url: string;
  version: string;
  stop(): Promise<void>;
}

function brokerVersion(): string {
  const r = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8', timeout: 5_000 });
  const m = /mosquitto version (\S+)/i.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  return `mosquitto ${m?.[1] ?? 'unknown version'}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** A Mosquitto of its own in `dir`: anonymous, loopback only, no persistence, errors only. */
async function startBroker(dir: string): Promise<LocalBroker> {
  if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} not found: the sync bench needs Mosquitto (apt install mosquitto, or npm run setup)`);
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_type error', ''].join('\n'));
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => void (stderr += d.toString()));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  };
  try {
    const until = Date.now() + 5_000;
    for (;;) {
      if (spawnError) throw spawnError;
      if (child.exitCode !== null) throw new Error(`mosquitto exited with code ${child.exitCode}: ${stderr.trim()}`);
      if (await canConnect(port)) break;
      if (Date.now() > until) throw new Error(`mosquitto did not listen on ${port} within 5 s: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `mqtt://127.0.0.1:${port}`, version: brokerVersion(), stop };
}
