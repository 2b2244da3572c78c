import type { FastifyPluginAsync } from 'fastify';
import type { AdminContext } from '../admin-context.js';
import { registerPage } from './page-route.js';

/** `/calibration`: not built yet. */
export function calibrationPage(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    registerPage(app, ctx, { path: '/calibration', title: 'Calibration', role: 'admin', scripts: [], body: '<p class="muted">Not built yet.</p>' });
  };
}
