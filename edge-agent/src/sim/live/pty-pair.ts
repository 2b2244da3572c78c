import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { sleep } from '../../backoff.js';

/**
 * Two linked pseudo-terminals made by socat: the simulator writes into one end as a device
 * would into its UART; the agent opens the other as an ordinary serial port.
 */
export class PtyPair {
  private process: ChildProcess | undefined;

  constructor(
    /** The end the agent opens (`serial://<agentPath>`). */
    readonly agentPath: string,
    /** The end the simulated device writes to. */
    readonly devicePath: string,
  ) {}

  async open(timeoutMs = 5_000): Promise<void> {
    const child = spawn('socat', [`pty,raw,echo=0,link=${this.agentPath}`, `pty,raw,echo=0,link=${this.devicePath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.process = child;
    let failure: Error | undefined;
    child.on('error', (err) => (failure = new Error(`cannot start socat (is it installed?): ${err.message}`)));
    const until = Date.now() + timeoutMs;
    while (!(existsSync(this.agentPath) && existsSync(this.devicePath))) {
      if (failure) throw failure;
      if (child.exitCode !== null) throw new Error(`socat exited with ${child.exitCode} before creating ${this.agentPath}`);
      if (Date.now() > until) throw new Error(`socat did not create ${this.agentPath} within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  close(): void {
    this.process?.kill('SIGTERM');
    this.process = undefined;
  }
}
