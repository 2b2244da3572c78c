import type { FastifyPluginAsync } from 'fastify';
import type { AdminContext } from '../admin-context.js';
import { cartsApi } from './carts-api.js';
import { registerPage } from './page-route.js';

/**
 * `/carts`: what shoppers carry now (with the evidence of every cart line), the receipts of a day,
 * and the review queue where staff confirm, remove or correct what the agent was not sure of.
 */
export function cartsPage(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    registerPage(app, ctx, {
      path: '/carts',
      title: 'Carts & receipts',
      role: 'viewer',
      scripts: ['/assets/carts.js'],
      body: `<link rel="stylesheet" href="/assets/carts.css">
<section class="panel carts-section" id="review-panel" aria-labelledby="review-title">
<div class="carts-head"><h2 id="review-title">Review queue <span class="badge" id="review-count">…</span></h2>
<label class="carts-check"><input type="checkbox" id="review-all"> Show decided</label></div>
<p class="muted" id="review-note" hidden>Deciding needs the staff role.</p>
<div id="review-result" aria-live="polite"></div>
<div id="review-list"><p class="muted">Loading…</p></div>
</section>
<section class="panel carts-section" id="carts-panel" aria-labelledby="carts-title">
<div class="carts-head"><h2 id="carts-title">Active carts <span class="badge" id="carts-count">…</span></h2><span class="muted" id="carts-updated"></span></div>
<div id="carts-list"><p class="muted">Loading…</p></div>
</section>
<section class="panel carts-section" id="receipts-panel" aria-labelledby="receipts-title">
<div class="carts-head"><h2 id="receipts-title">Closed receipts</h2>
<form id="receipts-day" class="carts-day"><label for="day">Day</label><input type="date" id="day" name="day" required><button type="submit">Show</button></form></div>
<p class="muted" id="receipts-summary"></p>
<div id="receipts-list"><p class="muted">Loading…</p></div>
</section>`,
    });
    cartsApi(app, ctx);
  };
}
