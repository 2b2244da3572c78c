import type { FastifyPluginAsync } from 'fastify';
import type { AdminContext } from '../admin-context.js';
import { LiveFeed } from './live-api.js';
import { registerPage } from './page-route.js';

const BODY = `<link rel="stylesheet" href="/assets/live.css">
<section class="live-kpis" id="live-kpis" aria-label="Occupancy"></section>
<div class="live-layout">
<section class="panel live-floor"><h2>Floor <span id="live-state" class="badge">connecting…</span></h2><div id="floor"></div><p class="muted live-legend" id="floor-legend"></p></section>
<section class="panel live-sessions"><h2>Active sessions</h2><div id="sessions"></div></section>
</div>
<section class="panel live-events"><h2>Recent events</h2><div id="events"></div></section>`;

/** `/live`: the floor with its shoppers, open sessions, occupancy and recent events, live. */
export function livePage(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    const feed = new LiveFeed(ctx);
    feed.start();
    app.addHook('preClose', async () => feed.stop());

    registerPage(app, ctx, { path: '/live', title: 'Live store', role: 'viewer', scripts: ['/assets/live.js'], body: BODY });

    app.get('/api/live', { config: { role: 'viewer' } }, async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return feed.snapshot();
    });

    app.get('/api/live/events', { config: { role: 'viewer' } }, async (_request, reply) => {
      reply.hijack();
      feed.attach(reply.raw, reply.getHeaders());
    });
  };
}
