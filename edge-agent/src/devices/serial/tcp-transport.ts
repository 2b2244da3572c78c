import { createConnection, type Socket } from 'node:net';
import type { StoreClock } from '../../clock.js';
import { describeError } from '../../errors.js';
import type { ByteTransport } from './byte-transport.js';

export const TCP_CONNECT_TIMEOUT_MS = 5_000;
/** Keep-alive probes start after this much silence, so a vanished ser2net box is noticed. */
const KEEPALIVE_DELAY_MS = 10_000;

/** A serial device behind ser2net (or any raw TCP byte stream): `tcp://host:port`. */
export class TcpTransport implements ByteTransport {
  readonly finite = false;
  private socket: Socket | undefined;
  private dataListener: (chunk: Buffer, receivedAt: number) => void = () => undefined;
  private closeListener: (reason: Error | undefined) => void = () => undefined;

  constructor(
    readonly url: string,
    private readonly host: string,
    private readonly port: number,
    private readonly clock: StoreClock,
    private readonly connectTimeoutMs = TCP_CONNECT_TIMEOUT_MS,
  ) {}

  open(): Promise<void> {
    if (this.socket) return Promise.reject(new Error(`${this.url}: already open`));
    const socket = createConnection({ host: this.host, port: this.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_DELAY_MS });
    // Held from the start so that `close()` can abandon a connect still in progress.
    this.socket = socket;
    let lastError: Error | undefined;
    socket.on('error', (err) => {
      lastError = err;
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        lastError = new Error(`no answer within ${this.connectTimeoutMs} ms`);
        socket.destroy();
      }, this.connectTimeoutMs);
      const failed = () => {
        clearTimeout(timer);
        if (this.socket === socket) this.socket = undefined;
        const why = lastError ? describeError(lastError) : 'closed before it connected';
        reject(new Error(`${this.url}: cannot connect to ${this.host}:${this.port}: ${why}`, { cause: lastError }));
      };
      socket.once('close', failed);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('close', failed);
        if (this.socket !== socket) {
          socket.destroy();
          reject(new Error(`${this.url}: closed while connecting`));
          return;
        }
        socket.on('data', (chunk: Buffer) => {
          if (this.socket === socket) this.dataListener(chunk, this.clock.now());
        });
        socket.on('close', () => this.lost(socket, lastError));
        resolve();
      });
    });
  }

  write(data: Buffer): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.connecting) return Promise.reject(new Error(`${this.url}: not connected`));
    return new Promise((resolve, reject) => {
      socket.write(data, (err) => (err ? reject(new Error(`${this.url}: write failed: ${describeError(err)}`, { cause: err })) : resolve()));
    });
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.closed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  onData(listener: (chunk: Buffer, receivedAt: number) => void): void {
    this.dataListener = listener;
  }

  onClose(listener: (reason: Error | undefined) => void): void {
    this.closeListener = listener;
  }

  private lost(socket: Socket, error: Error | undefined): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    const why = error ? describeError(error) : 'closed by the peer';
    this.closeListener(new Error(`${this.url}: connection lost: ${why}`, { cause: error }));
  }
}
