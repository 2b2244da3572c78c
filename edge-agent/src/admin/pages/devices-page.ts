import type { FastifyPluginAsync } from 'fastify';
import type { AdminContext } from '../admin-context.js';
import { registerPage } from './page-route.js';

/** `/devices`: not built yet. */
export function devicesPage(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    registerPage(app, ctx, { path: '/devices', title: 'Devices', role: 'viewer', scripts: [], body: '<p class="muted">Not built yet.</p>' });
  };
}
