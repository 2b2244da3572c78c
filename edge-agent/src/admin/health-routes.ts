import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { HealthReportSchema, type HealthReport } from './health-report.js';

export interface HealthRoutesOptions {
  health: () => HealthReport;
}

/** `/healthz`: 200 while the agent can do its job (ok or degraded), 503 when it cannot. */
export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, options) => {
  app.get(
    '/healthz',
    { config: { public: true }, schema: { response: { 200: HealthReportSchema, 503: HealthReportSchema } } },
    async (_request, reply) => {
      const report = options.health();
      reply.header('cache-control', 'no-store');
      return reply.code(report.status === 'down' ? 503 : 200).send(report);
    },
  );
};
