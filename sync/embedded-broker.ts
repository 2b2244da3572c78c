/**
 * The broker a store runs when its configuration names none: aedes on loopback, so the shelf
 * screens, the operator tools (`edge-agent sync tail`) and a local "cloud" subscriber work out of
 * the box. It listens on `mqtt.embeddedPort` (1883) and, when that port is taken (another agent on
 * the box, a test), on a free one, which its health and the log say. A configured broker replaces it.
 */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import type { Component, ComponentHealth } from '../edge-agent/src/lifecycle.js';
import type { Logger } from '../edge-agent/src/log.js';

export class EmbeddedBroker implements Component {
  readonly name = 'broker';
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private boundPort: number | undefined;
  private clients = 0;

  constructor(
    private readonly options: { port: number; log: Logger },
  ) {}

  /** `mqtt://127.0.0.1:<port>` once started. */
  get url(): string {
    if (this.boundPort === undefined) throw new Error('the embedded broker is not listening yet');
    return `mqtt://127.0.0.1:${this.boundPort}`;
  }

  async start(): Promise<void> {
    const broker = await Aedes.createBroker();
    broker.on('client', () => void (this.clients += 1));
    broker.on('clientDisconnect', () => void (this.clients -= 1));
    const server = createServer(broker.handle);
    const listen = (port: number) =>
      new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve((server.address() as { port: number }).port);
        });
      });
    try {
      this.boundPort = await listen(this.options.port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      this.boundPort = await listen(0);
      this.options.log.warn({ wanted: this.options.port, port: this.boundPort }, 'the embedded MQTT broker port is taken; listening on a free one');
    }
    this.broker = broker;
    this.server = server;
    this.options.log.info({ url: this.url }, 'embedded MQTT broker listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    const broker = this.broker;
    this.server = undefined;
    this.broker = undefined;
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  health(): ComponentHealth {
    return { status: this.server ? 'up' : 'down', url: this.boundPort === undefined ? null : this.url, clients: this.clients };
  }
}
