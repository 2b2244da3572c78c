/**
 * Cloud sync against a real Mosquitto started by the test: the agent's state with its last will,
 * and the outbox drained in order with QoS 1 through a broker outage and a kill -9 of the agent —
 * every row arrives at a de-duplicating subscriber, in order, none lost.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { Aedes } from 'aedes';
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../edge-agent/src/bus.js';
import { StoreDatabase } from '../../edge-agent/src/db/database.js';
import { OutboxRepository } from '../../edge-agent/src/db/repositories/outbox.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { OutboxPublisher } from '../../sync/outbox-publisher.js';
import type { ReceiptCreatedPayload } from '../../sync/receipt-payloads.js';
import { spawn } from 'node:child_process';
import { CLI, lastJsonLine, startAgent, waitUntil } from '../support/cli.js';
import { AlertRepository } from '../../edge-agent/src/db/repositories/alerts.js';
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
async function cloud(broker: Pick<Broker, 'url'>, topics: string[], protocolVersion: 4 | 5 = 5): Promise<{ client: MqttClient; keys: string[]; repeats: number; states: string[] }> {
  const seen = { client: undefined as unknown as MqttClient, keys: [] as string[], repeats: 0, states: [] as string[] };
  const unique = new Set<string>();
  const client = mqtt.connect(broker.url, { clientId: `cloud-${Math.random().toString(36).slice(2)}`, clean: false, protocolVersion, reconnectPeriod: 200 });
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
    const config = { ...bareConfig(dir), mqtt: { ...bareConfig(dir).mqtt, url: broker.url, clientId: 'edge-outage', backlogAlertRows: 250 } };
    const database = new StoreDatabase(dir, silentLogger());
    await database.start();
    cleanups.push(() => database.stop());
    const outbox = new OutboxRepository(database.handle);
    const received = await cloud(broker, [`retail/${config.store.id}/receipts/#`, `retail/${config.store.id}/alerts`, `retail/${config.store.id}/agent/state`]);
    const bus = new EventBus(silentLogger());
    const alerts: string[] = [];
    bus.on('alert.raised', 'test', (a) => void alerts.push(`${a.kind} ${JSON.stringify(a.detail['rows'])}`));
    const publisher = new OutboxPublisher({ config, database, bus, log: silentLogger(), version: 'test', window: 16, pollMs: 50, backlogCheckMs: 200 });
    await publisher.start();
    cleanups.push(() => publisher.stop());

    for (let n = 1; n <= 200; n++) outbox.add('receipt.created', receipt(config.store.id, n), n);
    await waitUntil(async () => received.keys.length >= 200, 20_000, '200 receipts');
    expect(received.states).toContain('online');

    // The broker goes away while receipts keep coming; they wait in SQLite.
    await broker.stop();
    for (let n = 201; n <= 500; n++) outbox.add('receipt.created', receipt(config.store.id, n), n);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(publisher.health().status).toBe('degraded');
    // 300 waiting passes the 250-row threshold: one alert for staff, itself a message for later.
    expect(alerts).toEqual(['sync-backlog 300']);
    expect(outbox.backlog().rows).toBe(301);
    await broker.start();

    await waitUntil(async () => received.keys.length >= 501 && outbox.backlog().rows === 0, 30_000, 'all 500 receipts and the alert');
    expect(inOrder(received.keys.filter((k) => k.includes(':receipt:')))).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(received.keys.filter((k) => k.includes(':alert:'))).toHaveLength(1);
    expect(publisher.counts.disconnects).toBeGreaterThanOrEqual(1);
    // A drained outbox does not hand its next message an id the publisher already passed.
    expect(outbox.backlog().rows).toBe(0);
    outbox.add('receipt.created', receipt(config.store.id, 501), 501);
    await waitUntil(async () => received.keys.includes(`${config.store.id}:receipt:501:r0`), 5_000, 'a receipt written after the outbox drained');
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
    // Written now: the agent's retention drops outbox rows older than receipts are kept.
    const now = Date.now();
    for (let n = 1; n <= total; n++) outbox.add('receipt.created', receipt(config.store.id, n), now + n);
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
    await waitUntil(async () => received.states.at(-1) === 'offline', 30_000, 'offline on a clean stop');
    const after = new StoreDatabase(join(dir, 'data'), silentLogger());
    await after.start();
    expect(new OutboxRepository(after.handle).backlog().rows).toBe(0);
    await after.stop();
  });

  it('answers commands on response topics, publishes alerts from the outbox, and sync tail shows the traffic', async () => {
    const dir = tempDir();
    const broker = await startMosquitto(tempDir());
    cleanups.push(() => broker.stop());
    const config = { ...bareConfig(dir), mqtt: { ...bareConfig(dir).mqtt, url: broker.url, clientId: 'edge-commands' } };
    const database = new StoreDatabase(dir, silentLogger());
    await database.start();
    cleanups.push(() => database.stop());
    const publisher = new OutboxPublisher({
      config, database, bus: new EventBus(silentLogger()), log: silentLogger(), version: '9.9.9', pollMs: 50,
      commands: { health: () => ({ status: 'ok' }), fail: () => { throw new Error('the planogram file is locked'); } },
    });
    await publisher.start();
    cleanups.push(() => publisher.stop());
    await waitUntil(async () => publisher.health().connected === true, 30_000, 'the publisher to connect');

    const store = `retail/${config.store.id}`;
    const caller = mqtt.connect(broker.url, { clientId: 'cloud-caller', protocolVersion: 5 });
    cleanups.push(async () => void (await caller.endAsync(true)));
    const answers: { topic: string; body: Record<string, unknown>; correlation?: string }[] = [];
    caller.on('message', (topic, payload, packet) => {
      answers.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown>, ...(packet.properties?.correlationData ? { correlation: packet.properties.correlationData.toString() } : {}) });
    });
    await new Promise<void>((resolve) => caller.once('connect', () => resolve()));
    await caller.subscribeAsync([`${store}/response/#`, 'cloud/replies'], { qos: 1 });
    // Give the publisher's own subscription a moment to be in place at the broker.
    await new Promise((r) => setTimeout(r, 300));
    await caller.publishAsync(`${store}/request/ping`, JSON.stringify({ v: 1, transaction: 't-1' }), { qos: 1 });
    await caller.publishAsync(`${store}/request/health`, JSON.stringify({ v: 1, transaction: 't-2' }), { qos: 1, properties: { responseTopic: 'cloud/replies', correlationData: Buffer.from('c-2') } });
    await caller.publishAsync(`${store}/request/fail`, JSON.stringify({ v: 1, transaction: 't-3' }), { qos: 1 });
    await caller.publishAsync(`${store}/request/reboot`, JSON.stringify({ v: 1, transaction: 't-4' }), { qos: 1 });
    await caller.publishAsync(`${store}/request/ping`, 'not json', { qos: 1 });
    await waitUntil(async () => answers.length >= 6, 30_000, 'six answers');
    const by = (topic: string, transaction: string) => answers.find((a) => a.topic === topic && a.body['transaction'] === transaction)?.body;
    expect(by(`${store}/response/ping`, 't-1')).toMatchObject({ v: 1, ok: true, result: { pong: true, version: '9.9.9' } });
    expect(by(`${store}/response/health`, 't-2')).toEqual({ v: 1, transaction: 't-2', ok: true, result: { status: 'ok' } });
    expect(answers.find((a) => a.topic === 'cloud/replies')).toMatchObject({ correlation: 'c-2', body: { transaction: 't-2', ok: true } });
    expect(by(`${store}/response/fail`, 't-3')).toEqual({ v: 1, transaction: 't-3', ok: false, error: 'the planogram file is locked' });
    expect(by(`${store}/response/reboot`, 't-4')).toMatchObject({ ok: false, error: expect.stringMatching(/unknown command reboot; known: ping, health, fail/) });
    expect(by(`${store}/response/ping`, '')).toMatchObject({ ok: false, error: expect.stringMatching(/not \{"v":1/) });

    // An alert raised with the store id goes out through the outbox, once.
    const tail = spawn(process.execPath, [CLI, 'sync', 'tail', '--config', writeJson(dir, 'store.json', config), '--count', '2', '--idle-seconds', '30']);
    let tailOut = '';
    tail.stdout.on('data', (d: Buffer) => (tailOut += d.toString()));
    const tailed = new Promise<number | null>((resolve) => tail.on('close', (code) => resolve(code)));
    // The tail is listening once it has printed the retained state; the alert comes after.
    await waitUntil(async () => tailOut.includes('/agent/state'), 30_000, 'sync tail to print the retained state');
    const alerts = new AlertRepository(database.handle, config.store.id);
    expect(alerts.raise('rfid-exit-unowned', 'EPC-1', { gate: 'gate-exit' }, 5_000).created).toBe(true);
    expect(alerts.raise('rfid-exit-unowned', 'EPC-1', { gate: 'gate-exit' }, 6_000).created).toBe(false);
    expect(await tailed).toBe(0);
    const lines = tailOut.trim().split('\n').map((l) => JSON.parse(l) as { topic: string; retained: boolean; payload: Record<string, unknown> });
    expect(lines[0]).toMatchObject({ topic: `${store}/agent/state`, retained: true, payload: { state: 'online' } });
    expect(lines[1]).toMatchObject({ topic: `${store}/alerts`, retained: false, payload: { kind: 'rfid-exit-unowned', subject: 'EPC-1', idempotencyKey: `${config.store.id}:alert:1` } });
    expect(lastJsonLine(tailOut)).toMatchObject({ topic: `${store}/alerts` });
  });

  it('runs an embedded broker on loopback when none is configured, and syncs through it', async () => {
    const dir = tempDir();
    const config = bareConfig(join(dir, 'data'));
    const file = writeJson(dir, 'store.json', config);
    const agent = await startAgent(['run', '--config', file, '--port', '0', '--log-level', 'warn']);
    cleanups.push(async () => {
      if (agent.child.exitCode === null) {
        agent.child.kill('SIGTERM');
        await agent.exited;
      }
    });
    const health = (await (await fetch(`${agent.adminUrl}/healthz`)).json()) as { components: Record<string, { url?: string; status: string }> };
    const url = health.components['broker']!.url!;
    expect(url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    // aedes speaks MQTT 3.1.1.
    const received = await cloud({ url }, [`retail/${config.store.id}/#`], 4);
    await waitUntil(async () => received.states.includes('online'), 30_000, 'the agent online on the embedded broker');
    const database = new StoreDatabase(join(dir, 'data'), silentLogger());
    await database.start();
    new OutboxRepository(database.handle).add('receipt.created', receipt(config.store.id, 1), Date.now());
    await database.stop();
    await waitUntil(async () => received.keys.length === 1, 30_000, 'the receipt through the embedded broker');
  });
});

describe('cloud sync when the broker refuses', { timeout: 60_000 }, () => {
  it('offers a message the broker refused again on the same connection, while later ones go on', async () => {
    const brokerDir = tempDir();
    // Mosquitto reads the access list as its own user after dropping root.
    chmodSync(brokerDir, 0o755);
    const acl = join(brokerDir, 'acl');
    // Alerts may be read (by the cloud) but not written (by the store) for now.
    writeFileSync(acl, 'topic readwrite retail/+/receipts/#\ntopic readwrite retail/+/agent/#\ntopic readwrite retail/+/request/#\ntopic read retail/+/alerts\n', { mode: 0o644 });
    const broker = await startMosquitto(brokerDir, [`acl_file ${acl}`]);
    cleanups.push(() => broker.stop());
    const { config, database } = await storeWith(broker.url, 'edge-refused');
    const outbox = new OutboxRepository(database.handle);
    const store = config.store.id;
    const alert = { v: 1 as const, idempotencyKey: `${store}:alert:1`, storeId: store, alertId: 1, kind: 'device-down', subject: 'scale-1', detail: {}, at: new Date().toISOString() };
    outbox.add('alert.raised', alert, 1);
    for (let n = 1; n <= 3; n++) outbox.add('receipt.created', receipt(store, n), n + 1);
    const publisher = new OutboxPublisher({ config, database, bus: new EventBus(silentLogger()), log: silentLogger(), version: 'test', pollMs: 50 });
    await publisher.start();
    cleanups.push(() => publisher.stop());
    // The alerts topic is not allowed yet: the receipts behind it go through, the alert waits.
    await waitUntil(async () => outbox.backlog().rows === 1 && publisher.counts.publishErrors > 0, 15_000, 'the receipts through and the alert refused');
    expect(outbox.oldest(5).map((r) => r.idempotencyKey)).toEqual([`${store}:alert:1`]);
    expect(publisher.health()).toMatchObject({ status: 'degraded', connected: true, detail: expect.stringMatching(/refused by the broker/) });
    const connects = publisher.counts.connects;
    const received = await cloud(broker, [`retail/${store}/alerts`]);
    writeFileSync(acl, 'topic readwrite #\n');
    broker.reload();
    await waitUntil(async () => received.keys.includes(`${store}:alert:1`) && outbox.backlog().rows === 0, 15_000, 'the refused alert delivered once allowed');
    expect(publisher.counts.connects).toBe(connects);
    expect(publisher.health().status).toBe('up');
  });

  it('connects again after the broker refused a connection, and falls back to MQTT 3.1.1 for a broker without MQTT 5', async () => {
    // The agent's own embedded broker (aedes) speaks 3.1.1 only; here it refuses the first attempt too.
    const aedes = await Aedes.createBroker();
    let attempts = 0;
    aedes.authenticate = (_client, _user, _password, done) => {
      attempts += 1;
      if (attempts === 1) return done(Object.assign(new Error('server unavailable'), { returnCode: 3 }) as never, false);
      done(null, true);
    };
    const server = createServer(aedes.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const { config, database } = await storeWith(`mqtt://127.0.0.1:${(server.address() as { port: number }).port}`, 'edge-fallback');
    const publisher = new OutboxPublisher({ config, database, bus: new EventBus(silentLogger()), log: silentLogger(), version: 'test', pollMs: 50 });
    await publisher.start();
    cleanups.push(() => publisher.stop());
    // MQTT 5 is refused (unacceptable protocol version; aedes never asks to authenticate it), the
    // first 3.1.1 attempt is refused as "server unavailable", the next one is let in.
    await waitUntil(async () => publisher.health().connected === true, 15_000, 'the publisher to connect');
    expect(attempts).toBe(2);
    outbox(database).add('receipt.created', receipt(config.store.id, 1), 1);
    await waitUntil(async () => outbox(database).backlog().rows === 0, 10_000, 'the receipt sent over 3.1.1');
  });

  it('stops within seconds with messages in flight to a broker that hangs', async () => {
    const broker = await startMosquitto(tempDir());
    cleanups.push(() => broker.stop());
    const { config, database } = await storeWith(broker.url, 'edge-stop');
    const publisher = new OutboxPublisher({ config, database, bus: new EventBus(silentLogger()), log: silentLogger(), version: 'test', pollMs: 50 });
    await publisher.start();
    await waitUntil(async () => publisher.health().connected === true, 15_000, 'the publisher to connect');
    broker.freeze();
    for (let n = 1; n <= 5; n++) outbox(database).add('receipt.created', receipt(config.store.id, n), n);
    await waitUntil(async () => publisher.health().inflight === 5, 5_000, 'five messages in flight');
    await broker.kill();
    const t0 = Date.now();
    await publisher.stop();
    expect(Date.now() - t0).toBeLessThan(6_000);
    // Nothing was acknowledged: all five wait in SQLite for the next start.
    expect(outbox(database).backlog().rows).toBe(5);
  });
});

/** A store's configuration for this broker and its opened database (closed after the test). */
async function storeWith(url: string, clientId: string) {
  const dir = tempDir();
  const config = { ...bareConfig(dir), mqtt: { ...bareConfig(dir).mqtt, url, clientId } };
  const database = new StoreDatabase(dir, silentLogger());
  await database.start();
  cleanups.push(() => database.stop());
  return { config, database };
}

function outbox(database: StoreDatabase): OutboxRepository {
  return new OutboxRepository(database.handle);
}
