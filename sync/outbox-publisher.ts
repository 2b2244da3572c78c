/**
 * The store's side of cloud sync: one MQTT connection that announces the agent (`agent/state`
 * online on every connect, the last will `offline` when the connection is lost, `offline` on a
 * clean stop), device availability on change (retained), and drains the outbox in order with
 * QoS 1 and a bounded in-flight window. A row is deleted only after the broker acknowledged it, so
 * a broker outage, a lost connection or a crash leaves the backlog in SQLite to be sent later;
 * what was in flight is sent again, and the idempotency key lets the cloud drop the repeat.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { StoreConfig } from '../device-config/schema.js';
import type { EventBus } from '../edge-agent/src/bus.js';
import type { Secrets } from '../edge-agent/src/config/secrets.js';
import type { StoreDatabase } from '../edge-agent/src/db/database.js';
import { OutboxRepository } from '../edge-agent/src/db/repositories/outbox.js';
import type { DeviceAvailability } from '../edge-agent/src/devices/device-availability.js';
import { describeError } from '../edge-agent/src/errors.js';
import type { Component, ComponentHealth } from '../edge-agent/src/lifecycle.js';
import type { Logger } from '../edge-agent/src/log.js';
import { TOPICS, topicOf, type AgentStatePayload, type DeviceAvailabilityPayload, type TopicKey } from './topics.js';

export interface OutboxPublisherOptions {
  config: StoreConfig;
  database: StoreDatabase;
  bus: EventBus;
  log: Logger;
  secrets?: Pick<Secrets, 'mqttUsername' | 'mqttPassword'>;
  version: string;
  clock?: () => number;
  /** Rows published and not yet acknowledged at most (default 32). */
  window?: number;
  /** How often the outbox is looked at for rows other components wrote (default 250 ms). */
  pollMs?: number;
}

export interface SyncCounts {
  connects: number;
  disconnects: number;
  published: number;
  publishErrors: number;
  availabilityPublished: number;
}

export class OutboxPublisher implements Component {
  readonly name = 'sync';
  readonly dependsOn = ['database'] as const;
  private client: MqttClient | undefined;
  private outbox: OutboxRepository | undefined;
  private connected = false;
  private generation = 0;
  private lastSentId = 0;
  private readonly inflight = new Set<number>();
  private readonly availability = new Map<string, DeviceAvailability>();
  private readonly published = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private lastError: string | undefined;
  private readonly window: number;
  private readonly clock: () => number;
  readonly counts: SyncCounts = { connects: 0, disconnects: 0, published: 0, publishErrors: 0, availabilityPublished: 0 };

  constructor(private readonly options: OutboxPublisherOptions) {
    this.window = options.window ?? 32;
    this.clock = options.clock ?? Date.now;
  }

  private topic(key: TopicKey, params?: Record<string, string>): string {
    const { config } = this.options;
    return topicOf(config.mqtt.topicPrefix, config.store.id, key, params);
  }

  private state(state: 'online' | 'offline', reason?: string): string {
    const payload: AgentStatePayload = { v: 1, state, at: new Date(this.clock()).toISOString(), version: this.options.version, ...(reason ? { reason } : {}) };
    return JSON.stringify(payload);
  }

  async start(): Promise<void> {
    const { config, bus } = this.options;
    const url = config.mqtt.url;
    if (!url) throw new Error('mqtt.url is not set: the sync component needs a broker');
    this.outbox = new OutboxRepository(this.options.database.handle);
    const tls = config.mqtt.tls;
    const clientOptions: IClientOptions = {
      clientId: config.mqtt.clientId ?? `edge-${config.store.id}`,
      clean: true,
      keepalive: config.mqtt.keepaliveSeconds,
      reconnectPeriod: 1_000,
      connectTimeout: 10_000,
      protocolVersion: 5,
      queueQoSZero: false,
      will: { topic: this.topic('agent.state'), payload: Buffer.from(this.state('offline', 'connection lost')), qos: 1, retain: true },
      ...(this.options.secrets?.mqttUsername ? { username: this.options.secrets.mqttUsername } : {}),
      ...(this.options.secrets?.mqttPassword ? { password: this.options.secrets.mqttPassword } : {}),
      ...(tls?.caFile ? { ca: readFileSync(tls.caFile) } : {}),
      ...(tls?.certFile ? { cert: readFileSync(tls.certFile) } : {}),
      ...(tls?.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
      ...(tls ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
    };
    const client = mqtt.connect(url, clientOptions);
    this.client = client;
    client.on('connect', () => {
      this.connected = true;
      this.counts.connects += 1;
      // A new connection starts from the oldest row still here: what was in flight goes again.
      this.generation += 1;
      this.inflight.clear();
      this.lastSentId = 0;
      this.options.log.info({ url }, 'connected to the MQTT broker');
      client.publish(this.topic('agent.state'), this.state('online'), { qos: 1, retain: true });
      this.published.clear();
      for (const a of this.availability.values()) this.publishAvailability(a);
      this.drain();
    });
    client.on('close', () => {
      if (this.connected) this.counts.disconnects += 1;
      this.connected = false;
    });
    client.on('error', (err) => {
      this.lastError = describeError(err);
      this.options.log.warn({ err: this.lastError }, 'MQTT connection problem; reconnecting');
    });
    bus.on('device.availability', this.name, (a) => {
      this.availability.set(a.device, a);
      this.publishAvailability(a);
    });
    bus.on('checkout.receipt', this.name, () => this.drain());
    this.timer = setInterval(() => this.drain(), this.options.pollMs ?? 250);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.options.bus.removeAllOf(this.name);
    if (this.timer) clearInterval(this.timer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (this.connected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2_000);
        client.publish(this.topic('agent.state'), this.state('offline', 'stopped'), { qos: 1, retain: true }, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    this.connected = false;
  }

  health(): ComponentHealth {
    const backlog = this.outbox?.backlog() ?? { rows: 0, oldestAt: null };
    return {
      status: this.connected ? 'up' : 'degraded',
      ...(this.connected ? {} : { detail: `not connected to ${this.options.config.mqtt.url}${this.lastError ? `: ${this.lastError}` : ''}` }),
      connected: this.connected,
      backlog: backlog.rows,
      oldestBacklogAt: backlog.oldestAt === null ? null : new Date(backlog.oldestAt).toISOString(),
      inflight: this.inflight.size,
      counters: { ...this.counts },
    };
  }

  /** Publishes outbox rows in order while the window has room. */
  drain(): void {
    const client = this.client;
    const outbox = this.outbox;
    if (!client || !outbox || !this.connected) return;
    const room = this.window - this.inflight.size;
    if (room <= 0) return;
    const generation = this.generation;
    for (const row of outbox.after(this.lastSentId, room)) {
      this.lastSentId = row.id;
      const spec = TOPICS[row.topic];
      if (!spec) {
        // A row this agent cannot name a topic for (written by a newer one): kept, reported.
        this.lastError = `outbox row ${row.id} has an unknown topic ${row.topic}`;
        continue;
      }
      this.inflight.add(row.id);
      client.publish(
        this.topic(row.topic),
        row.payload,
        { qos: 1, retain: spec.retained, properties: { userProperties: { idempotencyKey: row.idempotencyKey } } },
        (err) => {
          if (generation !== this.generation) return;
          this.inflight.delete(row.id);
          if (err) {
            this.counts.publishErrors += 1;
            this.lastError = describeError(err);
            return;
          }
          try {
            outbox.acknowledged(row.id);
            this.counts.published += 1;
          } catch (e) {
            this.lastError = describeError(e);
          }
          this.drain();
        },
      );
    }
  }

  private publishAvailability(a: DeviceAvailability): void {
    if (!this.client || !this.connected) return;
    const payload: DeviceAvailabilityPayload = { v: 1, device: a.device, kind: a.kind, online: a.online, ...(a.reason ? { reason: a.reason } : {}), at: new Date(a.at).toISOString() };
    const key = `${a.online}|${a.reason ?? ''}`;
    if (this.published.get(a.device) === key) return;
    this.published.set(a.device, key);
    this.counts.availabilityPublished += 1;
    this.client.publish(this.topic('device.availability', { device: a.device }), JSON.stringify(payload), { qos: 1, retain: true });
  }
}
