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
import { StaffAlerts } from '../edge-agent/src/alerts/staff-alerts.js';
import type { DeviceAvailability } from '../edge-agent/src/devices/device-availability.js';
import { describeError } from '../edge-agent/src/errors.js';
import type { Component, ComponentHealth } from '../edge-agent/src/lifecycle.js';
import type { Logger } from '../edge-agent/src/log.js';
import { Ajv } from 'ajv';
import { CommandRequestPayload, TOPICS, topicOf, type AgentStatePayload, type CommandResponsePayload, type DeviceAvailabilityPayload, type TopicKey } from './topics.js';

/** A command the cloud may send: its args in, a JSON-able result out (or a thrown error). */
export type CommandHandler = (args: Record<string, unknown>) => unknown;

const RESPONSE_EXPIRY_S = 600;
/** A message the broker refused is offered again after this long. */
const PUBLISH_RETRY_MS = 2_000;
/** Waiting for acknowledgements of what is in flight at stop; the rows stay in SQLite anyway. */
const END_TIMEOUT_MS = 2_000;

const validRequest = new Ajv({ strict: false }).compile(CommandRequestPayload);

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
  /** How often the backlog is measured against `mqtt.backlogAlertRows` (default 30 s). */
  backlogCheckMs?: number;
  /** The broker when it is not the configuration's (the embedded one), known once it listens. */
  url?: () => string;
  /** Commands besides `ping`, by name. */
  commands?: Record<string, CommandHandler>;
}

export interface SyncCounts {
  connects: number;
  disconnects: number;
  published: number;
  publishErrors: number;
  availabilityPublished: number;
  commands: number;
  badCommands: number;
}

export class OutboxPublisher implements Component {
  readonly name = 'sync';
  readonly dependsOn: readonly string[];
  private client: MqttClient | undefined;
  private outbox: OutboxRepository | undefined;
  private connected = false;
  private generation = 0;
  private lastSentId = 0;
  private readonly inflight = new Set<number>();
  private readonly acked: number[] = [];
  private flushScheduled = false;
  private readonly availability = new Map<string, DeviceAvailability>();
  private readonly published = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Rows the broker refused and that have not gone through since: offered again from the oldest. */
  private readonly refused = new Set<number>();
  private backlogTimer: NodeJS.Timeout | undefined;
  private alerts: StaffAlerts | undefined;
  private lastError: string | undefined;
  private url: string | undefined;
  private readonly window: number;
  private readonly clock: () => number;
  readonly counts: SyncCounts = { connects: 0, disconnects: 0, published: 0, publishErrors: 0, availabilityPublished: 0, commands: 0, badCommands: 0 };
  private readonly commands: Record<string, CommandHandler>;

  constructor(private readonly options: OutboxPublisherOptions) {
    this.dependsOn = options.url ? ['database', 'broker'] : ['database'];
    this.window = options.window ?? 32;
    this.clock = options.clock ?? Date.now;
    this.commands = { ping: () => ({ pong: true, at: new Date(this.clock()).toISOString(), version: options.version }), ...options.commands };
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
    const url = this.options.url?.() ?? config.mqtt.url;
    if (!url) throw new Error('mqtt.url is not set: the sync component needs a broker');
    this.url = url;
    this.outbox = new OutboxRepository(this.options.database.handle);
    const tls = config.mqtt.tls;
    const clientOptions: IClientOptions = {
      clientId: config.mqtt.clientId ?? `edge-${config.store.id}`,
      // MQTT 5: the broker keeps the session (commands sent while the store is offline) for a
      // while; the outbox never needs it, it resends from SQLite.
      clean: this.options.url !== undefined || config.mqtt.sessionExpiryHours === 0,
      keepalive: config.mqtt.keepaliveSeconds,
      reconnectPeriod: 1_000,
      // A refusal (server unavailable, busy, not authorised while its backend restarts, the
      // 3.1.1 fallback below) is tried again like a lost connection; mqtt.js gives up otherwise.
      reconnectOnConnackError: true,
      connectTimeout: 10_000,
      // MQTT 5 where the broker speaks it (the embedded aedes does not): falls back to 3.1.1 below.
      protocolVersion: this.options.url ? 4 : 5,
      queueQoSZero: false,
      ...(this.options.url === undefined && config.mqtt.sessionExpiryHours > 0 ? { properties: { sessionExpiryInterval: Math.round(config.mqtt.sessionExpiryHours * 3600) } } : {}),
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
      client.subscribe(`${this.topic('command.request', { command: '' })}+`, { qos: 1 });
      this.published.clear();
      for (const a of this.availability.values()) this.publishAvailability(a);
      this.drain();
    });
    client.on('message', (topic, payload, packet) =>
      void this.command(topic, payload, packet.properties).catch((err: unknown) => {
        this.counts.badCommands += 1;
        this.options.log.warn({ err: describeError(err), topic }, 'a command could not be answered');
      }),
    );
    client.on('close', () => {
      if (this.connected) this.counts.disconnects += 1;
      this.connected = false;
    });
    client.on('error', (err) => {
      if ((err as { code?: number }).code === 1 && client.options.protocolVersion === 5) {
        // "Unacceptable protocol version": the broker speaks 3.1.1 only; the next attempt does too.
        client.options.protocolVersion = 4;
        // A 3.1.1 persistent session would never expire: clean sessions there.
        client.options.clean = true;
        delete client.options.properties;
        this.lastError = 'the broker does not speak MQTT 5; trying 3.1.1';
        this.options.log.info('the broker does not speak MQTT 5; using 3.1.1');
        return;
      }
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
    this.alerts = new StaffAlerts(this.options.database.handle, config.store.id, bus);
    this.backlogTimer = setInterval(() => this.checkBacklog(), this.options.backlogCheckMs ?? 30_000);
    this.backlogTimer.unref();
  }

  async stop(): Promise<void> {
    this.options.bus.removeAllOf(this.name);
    if (this.timer) clearInterval(this.timer);
    if (this.backlogTimer) clearInterval(this.backlogTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
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
    // A graceful end waits for every message in flight to be acknowledged, which never comes from
    // a broker that is gone: then the connection is dropped.
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => client.end(true, {}, () => resolve()), END_TIMEOUT_MS);
      client.end(false, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.connected = false;
  }

  health(): ComponentHealth {
    const backlog = this.outbox?.backlog() ?? { rows: 0, oldestAt: null };
    const detail = this.problem();
    return {
      // Still making its first connection is not a fault; a refused or lost one is, and so is a
      // message the broker keeps refusing.
      status: detail === undefined || (this.counts.connects === 0 && this.lastError === undefined) ? 'up' : 'degraded',
      ...(detail ? { detail } : {}),
      url: this.url ?? null,
      connected: this.connected,
      backlog: backlog.rows,
      oldestBacklogAt: backlog.oldestAt === null ? null : new Date(backlog.oldestAt).toISOString(),
      inflight: this.inflight.size,
      counters: { ...this.counts },
    };
  }

  /** What is wrong with the link to the cloud, if anything (while connecting, where to). */
  private problem(): string | undefined {
    if (!this.connected) {
      const where = `${this.url ?? this.options.config.mqtt.url}${this.lastError ? `: ${this.lastError}` : ''}`;
      return `${this.counts.connects === 0 && this.lastError === undefined ? 'connecting to' : 'not connected to'} ${where}`;
    }
    if (this.refused.size > 0) return `${this.refused.size} outbox message(s) refused by the broker, offered again every ${PUBLISH_RETRY_MS / 1000} s; last: ${this.lastError}`;
    return undefined;
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
      // Rows still in flight when the cursor went back for a refused one are not sent twice.
      if (this.inflight.has(row.id)) continue;
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
        { qos: 1, retain: spec.retained, ...(client.options.protocolVersion === 5 ? { properties: this.messageProperties(row.idempotencyKey) } : {}) },
        (err) => {
          if (generation !== this.generation) return;
          this.inflight.delete(row.id);
          if (err) {
            // The broker refused this message (not authorised, quota, too large …): it stays in
            // the outbox and is offered again shortly, on this connection, while later rows go on.
            this.counts.publishErrors += 1;
            this.lastError = `outbox row ${row.id} (${row.topic}) refused: ${describeError(err)}`;
            this.refused.add(row.id);
            this.retryTimer ??= setTimeout(() => {
              this.retryTimer = undefined;
              if (this.refused.size > 0) this.lastSentId = Math.min(this.lastSentId, Math.min(...this.refused) - 1);
              this.drain();
            }, PUBLISH_RETRY_MS);
            return;
          }
          this.acked.push(row.id);
          this.refused.delete(row.id);
          // Acknowledged rows are deleted together, once per turn of the event loop: one commit
          // for many rows. A crash before it only sends them again (the key de-duplicates).
          if (!this.flushScheduled) {
            this.flushScheduled = true;
            setImmediate(() => this.flushAcked());
          }
        },
      );
    }
  }

  private messageProperties(idempotencyKey: string): { userProperties: Record<string, string>; messageExpiryInterval?: number } {
    const hours = this.options.config.mqtt.messageExpiryHours;
    return { userProperties: { idempotencyKey }, ...(hours ? { messageExpiryInterval: Math.round(hours * 3600) } : {}) };
  }

  /** Answers a request on `response/<command>` (and on the MQTT 5 response topic when given). */
  private async command(topic: string, payload: Buffer, properties: { responseTopic?: string; correlationData?: Buffer } | undefined): Promise<void> {
    const prefix = this.topic('command.request', { command: '' });
    if (!topic.startsWith(prefix) || !this.client) return;
    const name = topic.slice(prefix.length);
    let request: CommandRequestPayload | undefined;
    try {
      const body: unknown = JSON.parse(payload.toString('utf8'));
      if (validRequest(body)) request = body as CommandRequestPayload;
    } catch {
      // answered below as a bad request
    }
    const transaction = request?.transaction ?? '';
    let response: CommandResponsePayload;
    const handler = Object.hasOwn(this.commands, name) ? this.commands[name] : undefined;
    if (!request) {
      this.counts.badCommands += 1;
      response = { v: 1, transaction, ok: false, error: 'the request is not {"v":1,"transaction":"…","args":{…}}' };
    } else if (!handler) {
      this.counts.badCommands += 1;
      response = { v: 1, transaction, ok: false, error: `unknown command ${name}; known: ${Object.keys(this.commands).join(', ')}` };
    } else {
      this.counts.commands += 1;
      try {
        response = { v: 1, transaction, ok: true, result: await handler(request.args ?? {}) };
      } catch (err) {
        response = { v: 1, transaction, ok: false, error: describeError(err) };
      }
    }
    const body = JSON.stringify(response);
    // An answer nobody collects within minutes is stale: it expires at the broker (MQTT 5).
    const v5 = this.client?.options.protocolVersion === 5;
    this.client?.publish(this.topic('command.response', { command: name }), body, { qos: 1, ...(v5 ? { properties: { messageExpiryInterval: RESPONSE_EXPIRY_S } } : {}) });
    if (properties?.responseTopic) {
      this.client?.publish(properties.responseTopic, body, {
        qos: 1,
        ...(v5 ? { properties: { messageExpiryInterval: RESPONSE_EXPIRY_S, ...(properties.correlationData ? { correlationData: properties.correlationData } : {}) } } : {}),
      });
    }
  }

  /** Staff hear of a backlog that keeps growing (one open alert until it is resolved). */
  private checkBacklog(): void {
    if (!this.outbox || !this.alerts) return;
    try {
      const backlog = this.outbox.backlog();
      const limit = this.options.config.mqtt.backlogAlertRows;
      const detail = { rows: backlog.rows, oldestAt: backlog.oldestAt === null ? null : new Date(backlog.oldestAt).toISOString(), broker: this.url ?? null, limit };
      // Resolved only well below the limit: a backlog hovering at it does not open an alert a minute.
      if (backlog.rows < limit / 2) this.alerts.resolve('sync-backlog', this.options.config.store.id, detail, this.clock());
      else if (backlog.rows >= limit) this.alerts.raise('sync-backlog', this.options.config.store.id, detail, this.clock());
    } catch (err) {
      this.lastError = describeError(err);
    }
  }

  private flushAcked(): void {
    this.flushScheduled = false;
    const ids = this.acked.splice(0);
    if (ids.length === 0 || !this.outbox) return;
    try {
      this.outbox.acknowledgedAll(ids);
      this.counts.published += ids.length;
    } catch (e) {
      this.lastError = describeError(e);
    }
    // Refill the window once per batch of acknowledgements: one query for many rows.
    this.drain();
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
