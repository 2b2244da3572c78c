import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import type { StoreClock } from '../../clock.js';
import { describeError } from '../../errors.js';
import type { ByteTransport } from './byte-transport.js';

/** How often an open port checks that its device node still exists. */
const PRESENCE_CHECK_MS = 500;

/**
 * A local serial port (USB adapter, on-board UART, or a pty in tests) through the `serialport`
 * package. A fresh port object per `open()`, so a device that was unplugged and plugged back in
 * is opened anew.
 *
 * An unplug is also detected by the device node vanishing: when a read returns end-of-file the
 * binding retries forever instead of reporting it (serialport/bindings-cpp#162), and closing the
 * port is what ends that loop.
 */
export class SerialPortTransport implements ByteTransport {
  readonly finite = false;
  private port: SerialPort | undefined;
  private presence: NodeJS.Timeout | undefined;
  private dataListener: (chunk: Buffer, receivedAt: number) => void = () => undefined;
  private closeListener: (reason: Error | undefined) => void = () => undefined;

  constructor(
    readonly url: string,
    private readonly path: string,
    private readonly baudRate: number,
    private readonly clock: StoreClock,
  ) {}

  async open(): Promise<void> {
    if (this.port) throw new Error(`${this.url}: already open`);
    const port = await new Promise<SerialPort>((resolve, reject) => {
      const fail = (err: unknown) => reject(new Error(`${this.url}: cannot open ${this.path}: ${describeError(err)}`, { cause: err }));
      try {
        const p = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
        p.open((err) => (err ? fail(err) : resolve(p)));
      } catch (err) {
        fail(err);
      }
    });
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      if (this.port === port) this.dataListener(chunk, this.clock.now());
    });
    port.on('error', (err: Error) => this.lost(port, err));
    port.on('close', (err: Error | null) => this.lost(port, err ?? new Error(`${this.path} closed`)));
    this.presence = setInterval(() => {
      if (!existsSync(this.path)) this.lost(port, new Error(`${this.path} disappeared`));
    }, PRESENCE_CHECK_MS);
    this.presence.unref();
  }

  write(data: Buffer): Promise<void> {
    const port = this.port;
    if (!port) return Promise.reject(new Error(`${this.url}: not open`));
    return new Promise((resolve, reject) => {
      port.write(data, (err) => (err ? reject(new Error(`${this.url}: write failed: ${describeError(err)}`, { cause: err })) : resolve()));
    });
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    clearInterval(this.presence);
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  onData(listener: (chunk: Buffer, receivedAt: number) => void): void {
    this.dataListener = listener;
  }

  onClose(listener: (reason: Error | undefined) => void): void {
    this.closeListener = listener;
  }

  /** Unplugged or failed: reported once per opened port, never after our own `close()`. */
  private lost(port: SerialPort, reason: Error): void {
    if (this.port !== port) return;
    this.port = undefined;
    clearInterval(this.presence);
    if (port.isOpen) port.close(() => undefined);
    this.closeListener(new Error(`${this.url}: connection lost: ${reason.message}`, { cause: reason }));
  }
}
