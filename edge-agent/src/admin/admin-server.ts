import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { EdgeError, ErrorCode, describeError } from '../errors.js';
import type { Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { buildAdminApp } from './app.js';
import type { AdminAuthOptions } from './auth/admin-auth.js';
import type { HealthReport } from './health-report.js';

export interface AdminServerOptions {
  host: string;
  port: number;
  log: Logger;
  health: () => HealthReport;
  auth?: AdminAuthOptions;
  plugins?: readonly FastifyPluginAsync[];
}

/** The admin app on a real socket; started last so it only answers once the agent is up. */
export class AdminServer implements Component {
  readonly name = 'admin';
  readonly dependsOn = ['database'] as const;
  private app: FastifyInstance | undefined;
  private boundUrl: string | undefined;

  constructor(private readonly options: AdminServerOptions) {}

  /** e.g. `http://127.0.0.1:8080`, known once started (the port may have been 0). */
  get url(): string | undefined {
    return this.boundUrl;
  }

  async start(): Promise<void> {
    const { log, health, auth, plugins } = this.options;
    const app = await buildAdminApp({ log, health, ...(auth ? { auth } : {}), ...(plugins ? { plugins } : {}) });
    try {
      await app.listen({ host: this.options.host, port: this.options.port });
    } catch (err) {
      await app.close();
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? 'the port is in use (another agent? pass --port)' : describeError(err);
      throw new EdgeError(ErrorCode.AdminListenFailed, `admin server cannot listen on ${this.options.host}:${this.options.port}: ${why}`, { cause: err });
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : this.options.port;
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    this.boundUrl = `http://${host}:${port}`;
    this.app = app;
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    await app?.close();
  }
}
