import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from '../log.js';
import type { HealthReport } from './health-report.js';
import { healthRoutes } from './health-routes.js';

export interface AdminAppOptions {
  log: Logger;
  health: () => HealthReport;
  /** More routes, registered by the components that own them (the shelf screens' pages). */
  plugins?: readonly FastifyPluginAsync[];
}

/**
 * The admin HTTP app without a listening socket, so tests drive it with `app.inject()`.
 * Server errors are logged in full and answered without details.
 */
export async function buildAdminApp(options: AdminAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.log as FastifyBaseLogger,
    // Health probes and live pages poll; per-request lines would drown the useful logs.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1_048_576,
    return503OnClosing: true,
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error, url: request.url }, 'admin request failed');
      return reply.code(status).send({ error: 'internal error', statusCode: status });
    }
    return reply.code(status).send({ error: error.message, statusCode: status });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url}`, statusCode: 404 }));

  await app.register(healthRoutes, { health: options.health });
  for (const plugin of options.plugins ?? []) await app.register(plugin);
  return app;
}
