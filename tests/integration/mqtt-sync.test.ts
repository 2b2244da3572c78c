/**
 * Cloud sync against a real Mosquitto started by the test: the agent's state with its last will,
 * and the outbox drained in order with QoS 1 through a broker outage and a kill -9 of the agent —
 * every row arrives at a de-duplicating subscriber, in order, none lost.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../edge-agent/src/bus.js';
import { StoreDatabase } from '../../edge-agent/src/db/database.js';
import { OutboxRepository } from '../../edge-agent/src/db/repositories/outbox.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { OutboxPublisher } from '../../sync/outbox-publisher.js';
import type { ReceiptCreatedPayload } from '../../sync/receipt-payloads.js';
import { startAgent, waitUntil } from '../support/cli.js';
import { bareConfig, writeJson } from '../support/demo-config.js';
import { startMosquitto, type Broker } from '../support/mosquitto.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function receipt(storeId: string, n: number): ReceiptCreatedPayload {
  return {
    v: 1, idempotencyKey: `${storeId}:receipt:${n}:r0`, storeId, receiptId: n, revision: 0, sessionId: n, token: `tok-${n}`,
    closedAt: new Date(Date.UTC(2026, 10, 2, 9) + n * 1000).toISOString(), currency: 'EUR', lines: [], total: n, pendingReview: 0,
  };
}

/** A cloud-side subscriber with a persistent session: it drops repeats by idempotency key. */
async function cloud(broker: Broker, topics: string[]): Promise<{ client: MqttClient; keys: string[]; repeats: number; states: string[] }> {
  const seen = { client: undefined as unknown as MqttClient, keys: [] as string[], repeats: 0, states: [] as string[] };
  const unique = new Set<string>();
  const client = mqtt.connect(broker.url, { clientId: `cloud-${Math.random().toString(36).slice(2)}`, clean: false, protocolVersion: 5, reconnectPeriod: 200 });
  client.on('message', (topic, payload) => {
    const body = JSON.parse(payload.toString()) as { idempotencyKey?: string; state?: string };
    if (topic.endsWith('/agent/state')) return void seen.states.push(body.state!);
    if (unique.has(body.idempotencyKey!)) seen.repeats += 1;
    else {
      unique.add(body.idempotencyKey!);
      seen.keys.push(body.idempotencyKey!);
    }
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe(topics, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  });
  seen.client = client;
  cleanups.push(async () => void (await client.endAsync(true)));
  return seen;
}

const inOrder = (keys: string[]) => keys.map((k) => Number(k.split(':')[2]));

describe('cloud sync over MQTT', { timeout: 120_000 }, () => {
  it('drains the outbox in order through a broker outage, nothing lost', async () => {
    const dir = tempDir();
    const broker = await startMosquitto(tempDir());
    cleanups.push(() => broker.stop());
    const config = { ...bareConfig(dir), mqtt: { ...bareConfig(dir).mqtt, url: broker.url, clientId: 'edge-outage' } };
    const database = new StoreDatabase(dir, silentLogger());
    await database.start();
    cleanups.push(() => database.stop());
    const outbox = new OutboxRepository(database.handle);
    const received = await cloud(broker, [`retail/${config.store.id}/receipts/#`, `retail/${config.store.id}/agent/state`]);
    const publisher = new OutboxPublisher({ config, database, bus: new EventBus(silentLogger()), log: silentLogger(), version: 'test', window: 16, pollMs: 50 });
    await publisher.start();
    cleanups.push(() => publisher.stop());

    for (let n = 1; n <= 200; n++) outbox.add('receipt.created', receipt(config.store.id, n), n);
    await waitUntil(async () => received.keys.length >= 200, 20_000, '200 receipts');
    expect(received.states).toContain('online');

    // The broker goes away while receipts keep coming; they wait in SQLite.
    await broker.stop();
    for (let n = 201; n <= 500; n++) outbox.add('receipt.created', receipt(config.store.id, n), n);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(outbox.backlog().rows).toBe(300);
    expect(publisher.health().status).toBe('degraded');
    await broker.start();

    await waitUntil(async () => received.keys.length >= 500 && outbox.backlog().rows === 0, 30_000, 'all 500 receipts');
    expect(inOrder(received.keys)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(publisher.counts.disconnects).toBeGreaterThanOrEqual(1);
    // Offering a row twice stores it once: the same key is never published twice from the outbox.
    expect(outbox.add('receipt.created', receipt(config.store.id, 7), 7)).toBe(true);
    expect(outbox.add('receipt.created', receipt(config.store.id, 7), 7)).toBe(false);
  });

  it('announces the agent online, its last will when killed, and delivers the backlog after a kill -9', async () => {
    const dir = tempDir();
    const broker = await startMosquitto(tempDir());
    cleanups.push(() => broker.stop());
    const base = bareConfig(join(dir, 'data'));
    const config = { ...base, mqtt: { ...base.mqtt, url: broker.url, clientId: 'edge-kill' } };
    const file = writeJson(dir, 'store.json', { ...config, dataDir: join(dir, 'data') });
    // A backlog written before the agent starts, as if the cloud had been unreachable for a while.
    const database = new StoreDatabase(join(dir, 'data'), silentLogger());
    await database.start();
    const outbox = new OutboxRepository(database.handle);
    const total = 3_000;
    for (let n = 1; n <= total; n++) outbox.add('receipt.created', receipt(config.store.id, n), n);
    await database.stop();

    const received = await cloud(broker, [`retail/${config.store.id}/receipts/#`, `retail/${config.store.id}/agent/state`]);
    const first = await startAgent(['run', '--config', file, '--port', '0', '--log-level', 'warn']);
    await waitUntil(async () => received.keys.length > 0, 20_000, 'the first receipts');
    first.child.kill('SIGKILL');
    await first.exited;
    await waitUntil(async () => received.states.at(-1) === 'offline', 20_000, 'the last will');

    const second = await startAgent(['run', '--config', file, '--port', '0', '--log-level', 'warn']);
    cleanups.push(async () => {
      if (second.child.exitCode === null) second.child.kill('SIGKILL');
    });
    await waitUntil(async () => received.keys.length >= total, 60_000, `all ${total} receipts`);
    expect(inOrder(received.keys)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(received.states.at(-1)).toBe('online');
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    await waitUntil(async () => received.states.at(-1) === 'offline', 10_000, 'offline on a clean stop');
    const after = new StoreDatabase(join(dir, 'data'), silentLogger());
    await after.start();
    expect(new OutboxRepository(after.handle).backlog().rows).toBe(0);
    await after.stop();
  });
});
