import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from '../log.js';
import { adminAuth, type AdminAuthOptions } from './auth/admin-auth.js';
import type { HealthReport } from './health-report.js';
import { healthRoutes } from './health-routes.js';

export interface AdminAppOptions {
  log: Logger;
  health: () => HealthReport;
  /** Sign-in and roles; without it the app serves `/healthz` only. */
  auth?: AdminAuthOptions;
  /** More routes, registered by the parts that own them (staff pages, the shelf screens' pages). */
  plugins?: readonly FastifyPluginAsync[];
}

/**
 * The admin HTTP app without a listening socket, so tests drive it with `app.inject()`.
 * Server errors are logged in full and answered without details.
 */
export async function buildAdminApp(options: AdminAppOptions): Promise<FastifyInstance> {
  if (options.plugins?.length && !options.auth) throw new Error('admin routes need sign-in: pass auth with plugins');
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
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}`, statusCode: 404 }));

  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'", 'data:', 'blob:'], connectSrc: ["'self'"], frameAncestors: ["'none'"], formAction: ["'self'"] },
    },
    // Cookies carry Secure only when the page is reached over HTTPS; HSTS would lock a box on plain HTTP out.
    strictTransportSecurity: options.auth?.config.admin.secureCookies ? undefined : false,
  });
  await app.register(healthRoutes, { health: options.health });
  if (options.auth) {
    await app.register(cookie);
    await app.register(rateLimit, { global: false });
    await app.register(adminAuth, options.auth);
  }
  for (const plugin of options.plugins ?? []) await app.register(plugin);
  return app;
}
