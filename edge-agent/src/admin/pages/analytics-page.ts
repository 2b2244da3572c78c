import type { FastifyPluginAsync } from 'fastify';
import type { AdminContext } from '../admin-context.js';
import { registerPage } from './page-route.js';

/** `/analytics`: not built yet. */
export function analyticsPage(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    registerPage(app, ctx, { path: '/analytics', title: 'Analytics', role: 'viewer', scripts: [], body: '<p class="muted">Not built yet.</p>' });
  };
}
