/**
 * Cloud sync over TLS against a real Mosquitto with a test CA: mutual TLS (the broker wants a
 * client certificate from its CA) plus a user name and password. With the right CA, certificate
 * and credentials the agent announces itself and drains the outbox; with a wrong password, or a
 * CA that did not sign the broker's certificate, it never connects, says so in its health, and
 * keeps the rows.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoreConfig } from '../../device-config/schema.js';
import { EventBus } from '../../edge-agent/src/bus.js';
import { StoreDatabase } from '../../edge-agent/src/db/database.js';
import { OutboxRepository } from '../../edge-agent/src/db/repositories/outbox.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { OutboxPublisher } from '../../sync/outbox-publisher.js';
import type { ReceiptCreatedPayload } from '../../sync/receipt-payloads.js';
import { waitUntil } from '../support/cli.js';
import { bareConfig } from '../support/demo-config.js';
import { startMosquittoTls, type TlsBroker } from '../support/mosquitto-tls.js';
import { createTestCa, createTestPki, type TestPki } from '../support/test-ca.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const USER = 'edge-store';
const PASSWORD = 'correct horse battery staple';

function receipt(storeId: string, n: number): ReceiptCreatedPayload {
  return {
    v: 1, idempotencyKey: `${storeId}:receipt:${n}:r0`, storeId, receiptId: n, revision: 0, sessionId: n, token: `tok-${n}`,
    closedAt: new Date(Date.UTC(2026, 10, 2, 9) + n * 1000).toISOString(), currency: 'EUR', lines: [], total: n, pendingReview: 0,
  };
}

async function tlsBroker(): Promise<{ pki: TestPki; broker: TlsBroker }> {
  const pki = createTestPki(join(tempDir(), 'pki'));
  const broker = await startMosquittoTls(tempDir(), { pki, username: USER, password: PASSWORD });
  cleanups.push(() => broker.stop());
  return { pki, broker };
}

/** A database, its outbox and a started publisher with the given TLS files and credentials. */
async function agent(url: string, tls: { caFile: string; certFile: string; keyFile: string }, password: string) {
  const dir = tempDir();
  const base = bareConfig(dir);
  const config: StoreConfig = { ...base, mqtt: { ...base.mqtt, url, clientId: `edge-tls-${Math.random().toString(36).slice(2)}`, tls: { ...tls, rejectUnauthorized: true } } };
  const database = new StoreDatabase(dir, silentLogger());
  await database.start();
  cleanups.push(() => database.stop());
  const outbox = new OutboxRepository(database.handle);
  const publisher = new OutboxPublisher({
    config, database, bus: new EventBus(silentLogger()), log: silentLogger(), version: 'test',
    secrets: { mqttUsername: USER, mqttPassword: password }, pollMs: 50,
  });
  await publisher.start();
  cleanups.push(() => publisher.stop());
  return { config, outbox, publisher };
}

/** Samples the publisher's health for `ms`: whether it was ever connected, and the last health seen. */
async function watch(publisher: OutboxPublisher, ms: number) {
  const until = Date.now() + ms;
  let everConnected = false;
  let health = publisher.health();
  while (Date.now() < until) {
    health = publisher.health();
    everConnected ||= health.connected === true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { everConnected, health };
}

describe('cloud sync over MQTT with TLS', { timeout: 30_000 }, () => {
  it('connects with the test CA, a client certificate and a password, announces itself and drains the outbox', async () => {
    const { pki, broker } = await tlsBroker();
    const { config, outbox, publisher } = await agent(broker.url, { caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKey }, PASSWORD);
    await waitUntil(async () => publisher.health().connected === true, 10_000, `the publisher to connect (broker log:\n${broker.log()})`);
    expect(publisher.health().status).toBe('up');

    // The cloud side, over TLS too, subscribing after the agent came online: the state is retained.
    const prefix = `retail/${config.store.id}`;
    const messages: { topic: string; body: { state?: string; idempotencyKey?: string } }[] = [];
    const cloud: MqttClient = mqtt.connect(broker.url, {
      clientId: `cloud-${Math.random().toString(36).slice(2)}`, protocolVersion: 5, reconnectPeriod: 0,
      ca: readFileSync(pki.caCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey), rejectUnauthorized: true,
      username: USER, password: PASSWORD,
    });
    cleanups.push(async () => void (await cloud.endAsync(true)));
    cloud.on('message', (topic, payload) => messages.push({ topic, body: JSON.parse(payload.toString()) }));
    await new Promise<void>((resolve, reject) => {
      cloud.once('error', reject);
      cloud.once('connect', () => cloud.subscribe([`${prefix}/agent/state`, `${prefix}/receipts/#`], { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    });
    await waitUntil(async () => messages.some((m) => m.topic === `${prefix}/agent/state` && m.body.state === 'online'), 5_000, 'the retained online state');

    // A row written after start is picked up by the poll and published, then deleted.
    expect(outbox.add('receipt.created', receipt(config.store.id, 1), Date.now())).toBe(true);
    await waitUntil(async () => messages.some((m) => m.topic === `${prefix}/receipts/created`), 5_000, 'the receipt');
    expect(messages.filter((m) => m.topic === `${prefix}/receipts/created`).map((m) => m.body.idempotencyKey)).toEqual([`${config.store.id}:receipt:1:r0`]);
    await waitUntil(async () => outbox.backlog().rows === 0, 5_000, 'the row deleted after the acknowledgement');
    expect(publisher.counts.published).toBe(1);
  });

  it('never connects with a wrong password, says so and keeps the row', async () => {
    const { pki, broker } = await tlsBroker();
    const { config, outbox, publisher } = await agent(broker.url, { caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKey }, 'not the password');
    outbox.add('receipt.created', receipt(config.store.id, 1), Date.now());
    const { everConnected, health } = await watch(publisher, 2_000);
    expect(everConnected).toBe(false);
    expect(health.status).toBe('degraded');
    expect(health.detail).toContain(`not connected to ${broker.url}`);
    expect(health.detail).toMatch(/Bad User Name or Password|Not authorized/i);
    expect(publisher.counts.connects).toBe(0);
    expect(outbox.backlog().rows).toBe(1);
  });

  it('never connects when its CA did not sign the broker certificate and keeps the row', async () => {
    const { pki, broker } = await tlsBroker();
    // Another CA as the trust anchor; the client certificate is still a good one, so only the
    // agent's check of the broker's certificate can fail.
    const other = createTestCa(join(tempDir(), 'other-ca'), 'Some Other CA');
    const { config, outbox, publisher } = await agent(broker.url, { caFile: other.caCert, certFile: pki.clientCert, keyFile: pki.clientKey }, PASSWORD);
    outbox.add('receipt.created', receipt(config.store.id, 1), Date.now());
    const { everConnected, health } = await watch(publisher, 2_000);
    expect(everConnected).toBe(false);
    expect(health.status).toBe('degraded');
    expect(health.detail).toContain(`not connected to ${broker.url}`);
    expect(health.detail).toMatch(/certificate/i);
    expect(publisher.counts.connects).toBe(0);
    expect(outbox.backlog().rows).toBe(1);
  });
});
