import type { FastifyPluginAsync } from 'fastify';
import type { AdminContext } from '../admin-context.js';
import { registerPage } from './page-route.js';

/** `/carts`: not built yet. */
export function cartsPage(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    registerPage(app, ctx, { path: '/carts', title: 'Carts & receipts', role: 'viewer', scripts: [], body: '<p class="muted">Not built yet.</p>' });
  };
}
