/**
 * A real Mosquitto broker behind TLS for a test: one listener on 127.0.0.1 and a free port that
 * wants a client certificate signed by the test CA (mutual TLS) and a user name and password from
 * a password file made with `mosquitto_passwd`; no anonymous clients, no persistence.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { MOSQUITTO } from './mosquitto.js';
import type { TestPki } from './test-ca.js';

export const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd';

export interface TlsBroker {
  port: number;
  /** `mqtts://127.0.0.1:<port>` */
  url: string;
  /** What the broker wrote to stderr (errors, warnings, notices), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface TlsBrokerOptions {
  /** The CA, server certificate and key the listener uses; clients need a certificate from the same CA. */
  pki: Pick<TestPki, 'caCert' | 'serverCert' | 'serverKey'>;
  username: string;
  password: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function accepting(port: number, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    const why = exited();
    if (why !== undefined) throw new Error(why);
    if (Date.now() > until) throw new Error(`mosquitto did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts the broker with its configuration and password file in `dir`; resolves once the port accepts TCP connections. */
export async function startMosquittoTls(dir: string, options: TlsBrokerOptions): Promise<TlsBroker> {
  if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} is missing (Debian package mosquitto)`);
  if (!existsSync(MOSQUITTO_PASSWD)) throw new Error(`${MOSQUITTO_PASSWD} is missing (Debian package mosquitto)`);
  const passwords = join(dir, 'passwords');
  execFileSync(MOSQUITTO_PASSWD, ['-b', '-c', passwords, options.username, options.password], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await freePort();
  const conf = join(dir, 'mosquitto-tls.conf');
  writeFileSync(
    conf,
    [
      // Started as root, Mosquitto would switch to the `mosquitto` user, who cannot read the
      // test's private folder; as the current user it stays who it is.
      `user ${userInfo().username}`,
      `listener ${port} 127.0.0.1`,
      `cafile ${options.pki.caCert}`,
      `certfile ${options.pki.serverCert}`,
      `keyfile ${options.pki.serverKey}`,
      'require_certificate true',
      'use_identity_as_username false',
      'allow_anonymous false',
      `password_file ${passwords}`,
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      '',
    ].join('\n'),
  );
  let stderr = '';
  let exit: string | undefined;
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-16_384);
  });
  child.once('error', (err) => (exit = `mosquitto could not be started: ${err.message}`));
  child.once('exit', (code, signal) => (exit = `mosquitto exited (${signal ?? code}) before listening on ${port}:\n${stderr}`));
  try {
    await accepting(port, 5_000, () => exit);
  } catch (e) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw e;
  }
  return {
    port,
    url: `mqtts://127.0.0.1:${port}`,
    log: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}
