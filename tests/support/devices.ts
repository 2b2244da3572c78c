import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SerialPort } from 'serialport';

export async function waitFor(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Two linked pseudo-terminals made by socat: what is written to one end is read at the other,
 * like a USB-serial adapter with a device on it. Killing socat is pulling the plug; starting it
 * again on the same paths is plugging it back in.
 */
export class PtyPair {
  readonly a: string;
  readonly b: string;
  private socat: ChildProcess | undefined;

  constructor(dir: string) {
    this.a = join(dir, 'agent-end');
    this.b = join(dir, 'device-end');
  }

  async plugIn(): Promise<void> {
    if (this.socat) throw new Error('socat is already running');
    const socat = spawn('socat', [`pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`], { stdio: 'ignore' });
    this.socat = socat;
    await waitFor(() => existsSync(this.a) && existsSync(this.b), 5_000, 'socat ptys');
  }

  async unplug(): Promise<void> {
    const socat = this.socat;
    if (!socat) return;
    this.socat = undefined;
    if (socat.exitCode === null && socat.signalCode === null) {
      const exited = new Promise((resolve) => socat.once('exit', resolve));
      socat.kill('SIGTERM');
      await exited;
    }
  }
}

/** The device's end of a pty pair: writes what a controller would send, collects what the agent sends. */
export class DeviceEnd {
  received = '';
  private constructor(private readonly port: SerialPort) {
    port.on('data', (d: Buffer) => (this.received += d.toString('latin1')));
    // The far end vanishing (socat killed) is expected in these tests.
    port.on('error', () => undefined);
  }

  static open(path: string): Promise<DeviceEnd> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path, baudRate: 115_200, autoOpen: false });
      port.open((err) => (err ? reject(err) : resolve(new DeviceEnd(port))));
    });
  }

  write(data: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.port.write(data, (err) => (err ? reject(err) : this.port.drain(() => resolve()))));
  }

  close(): Promise<void> {
    if (!this.port.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.port.close(() => resolve()));
  }
}
