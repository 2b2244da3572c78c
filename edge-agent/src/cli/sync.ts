/**
 * `edge-agent sync tail`: subscribes to a store's topics on its broker and prints every message
 * as a JSON line (topic, retained, payload), for operators checking what the store tells the cloud.
 */
import mqtt from 'mqtt';
import { readFileSync } from 'node:fs';
import { topicOf } from '../../../sync/topics.js';
import { readSecrets } from '../config/secrets.js';
import { describeError } from '../errors.js';
import { loadStoreOrReport } from './load-store.js';
import { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, type CliIo } from './output.js';

export interface SyncTailOptions {
  config: string;
  /** Broker to use instead of the configuration's. */
  url?: string;
  /** Stop after this many messages (default: run until interrupted). */
  count?: number;
  /** Give up when nothing arrives for this long (seconds). */
  idleSeconds?: number;
}

export async function syncTail(options: SyncTailOptions, io: CliIo, signal?: AbortSignal): Promise<number> {
  const config = await loadStoreOrReport(options.config, io);
  if (!config) return EXIT_BAD_INPUT;
  const url = options.url ?? config.mqtt.url;
  if (!url) {
    io.err('error: the configuration names no broker (mqtt.url); give one with --url');
    return EXIT_BAD_INPUT;
  }
  const { secrets } = readSecrets(config);
  const tls = config.mqtt.tls;
  const filter = `${topicOf(config.mqtt.topicPrefix, config.store.id, 'agent.state').replace(/\/agent\/state$/, '')}/#`;
  const client = mqtt.connect(url, {
    clientId: `edge-tail-${process.pid}`,
    clean: true,
    protocolVersion: 5,
    reconnectPeriod: 1_000,
    ...(secrets.mqttUsername ? { username: secrets.mqttUsername } : {}),
    ...(secrets.mqttPassword ? { password: secrets.mqttPassword } : {}),
    ...(tls?.caFile ? { ca: readFileSync(tls.caFile) } : {}),
    ...(tls?.certFile ? { cert: readFileSync(tls.certFile) } : {}),
    ...(tls?.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
    ...(tls ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
  });
  let seen = 0;
  return new Promise<number>((resolve) => {
    let idle: NodeJS.Timeout | undefined;
    const finish = (code: number) => {
      if (idle) clearTimeout(idle);
      client.end(true, {}, () => resolve(code));
    };
    const arm = () => {
      if (!options.idleSeconds) return;
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => finish(EXIT_OK), options.idleSeconds * 1000);
    };
    signal?.addEventListener('abort', () => finish(EXIT_OK));
    client.on('connect', () => {
      io.err(`listening to ${filter} on ${url}`);
      client.subscribe(filter, { qos: 1 });
      arm();
    });
    client.on('error', (err) => {
      io.err(`error: ${describeError(err)}`);
      if (seen === 0 && options.count !== undefined) finish(EXIT_FAILURE);
    });
    client.on('message', (topic, payload, packet) => {
      let body: unknown;
      try {
        body = JSON.parse(payload.toString('utf8'));
      } catch {
        body = payload.toString('utf8');
      }
      io.out(JSON.stringify({ topic, retained: packet.retain, payload: body }));
      seen += 1;
      arm();
      if (options.count !== undefined && seen >= options.count) finish(EXIT_OK);
    });
  });
}
