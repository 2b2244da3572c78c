import type { FastifyPluginAsync } from 'fastify';
import type { AdminContext } from '../admin-context.js';
import { registerPage } from './page-route.js';

/** `/settings`: not built yet. */
export function settingsPage(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    registerPage(app, ctx, { path: '/settings', title: 'Settings', role: 'viewer', scripts: [], body: '<p class="muted">Not built yet.</p>' });
  };
}
