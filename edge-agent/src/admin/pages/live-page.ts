import type { FastifyPluginAsync } from 'fastify';
import type { AdminContext } from '../admin-context.js';
import { registerPage } from './page-route.js';

/** `/live`: not built yet. */
export function livePage(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    registerPage(app, ctx, { path: '/live', title: 'Live store', role: 'viewer', scripts: [], body: '<p class="muted">Not built yet.</p>' });
  };
}
