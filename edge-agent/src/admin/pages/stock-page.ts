/**
 * `/stock`: units on every facing with how sure the count is, the alerts for staff (stock, devices,
 * disk, sync…) with acknowledging, and restocking: staff say they are filling a shelf (or the whole
 * store) so what they put on it counts as stock arriving, never as shoppers' put-backs.
 */
import type { FastifyPluginAsync } from 'fastify';
import Type from 'typebox';
import { AlertRepository } from '../../db/repositories/alerts.js';
import { UserRepository } from '../../db/repositories/users.js';
import type { AdminContext } from '../admin-context.js';
import { registerPage } from './page-route.js';

const RestockBody = Type.Object(
  { shelf: Type.String({ pattern: '^(\\*|\\d+\\.\\d+)$', description: '"G.S" or "*" for every shelf' }), minutes: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 240 })) },
  { additionalProperties: false },
);
const StopBody = Type.Object({ shelf: Type.String({ pattern: '^(\\*|\\d+\\.\\d+)$' }) }, { additionalProperties: false });
const AlertParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

export function stockPage(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    const db = () => {
      const d = ctx.database();
      if (!d) throw Object.assign(new Error('the store database is not open'), { statusCode: 503 });
      return d.handle;
    };
    const shelves = new Set([...ctx.layout.shelves.keys()]);

    registerPage(app, ctx, {
      path: '/stock',
      title: 'Stock & alerts',
      role: 'viewer',
      scripts: ['/assets/stock.js'],
      body: `<div class="grid">
<section class="panel"><h2>Alerts</h2><table id="alerts"><thead><tr><th>Raised</th><th>What</th><th>Where</th><th>State</th><th></th></tr></thead><tbody></tbody></table></section>
<section class="panel"><h2>Restocking</h2><p class="muted">While staff restock a shelf, what they put on it is stock arriving, never a shopper's put-back. A staff badge read at a shelf starts it too.</p>
<form id="restock"><label for="restock-shelf">Shelf</label><select id="restock-shelf" name="shelf"></select><label for="restock-minutes">For minutes</label><input id="restock-minutes" name="minutes" type="number" min="1" max="240" value="${ctx.config.stock.restockMinutes}">
<p class="error" id="restock-error" role="alert"></p><button class="primary" type="submit">Start restocking</button></form><ul id="restocking"></ul></section>
</div>
<section class="panel"><h2>Units on the shelves</h2><table id="facings"><thead><tr><th>Plate</th><th>Product</th><th>Units</th><th>±</th><th>State</th></tr></thead><tbody></tbody></table></section>`,
    });

    app.get('/api/stock', { config: { role: 'viewer' } }, async () => {
      const now = ctx.clock();
      const names = new Map(ctx.config.planogram.products.map((p) => [p.id, p]));
      return {
        at: now,
        shelves: [...shelves],
        restocking: ctx.stock.restock.list(now),
        facings: ctx.stock.book.facings.map((f) => {
          const p = names.get(f.product)!;
          const low = p.lowStockUnits ?? ctx.config.stock.lowUnits;
          return {
            plate: f.plate,
            product: f.product,
            name: p.name,
            units: f.settledAt === null ? null : f.units,
            sigma: Number.isFinite(f.sigma) ? Math.round(f.sigma * 100) / 100 : null,
            state: f.implausible ? 'implausible' : f.settledAt === null ? 'not read yet' : f.units === 0 ? 'out' : f.units <= low ? 'low' : 'ok',
            misplaced: f.foreign.map((x) => ({ product: x.product, count: x.count })),
          };
        }),
      };
    });

    app.get('/api/alerts', { config: { role: 'viewer' } }, async () => ({ alerts: new AlertRepository(db()).recent(ctx.clock() - 86_400_000) }));

    app.post('/api/alerts/:id/acknowledge', { config: { role: 'staff' }, schema: { params: AlertParams } }, async (request, reply) => {
      const { id } = request.params as Type.Static<typeof AlertParams>;
      const done = new AlertRepository(db()).acknowledge(id, ctx.clock());
      if (!done) return reply.code(409).send({ statusCode: 409, error: `alert ${id} is not open (unknown, already acknowledged or resolved)` });
      new UserRepository(db()).audit(request.user!.username, 'alert.acknowledge', String(id), {}, ctx.clock());
      return { ok: true };
    });

    app.post('/api/stock/restock', { config: { role: 'staff' }, schema: { body: RestockBody } }, async (request, reply) => {
      const { shelf, minutes } = request.body as Type.Static<typeof RestockBody>;
      if (shelf !== '*' && !shelves.has(shelf)) return reply.code(404).send({ statusCode: 404, error: `no shelf ${shelf}` });
      const until = ctx.clock() + (minutes ?? ctx.config.stock.restockMinutes) * 60_000;
      ctx.stock.restock.start(shelf, until, request.user!.username);
      new UserRepository(db()).audit(request.user!.username, 'stock.restock', shelf, { until: new Date(until).toISOString() }, ctx.clock());
      return { shelf, until: new Date(until).toISOString() };
    });

    app.post('/api/stock/restock/stop', { config: { role: 'staff' }, schema: { body: StopBody } }, async (request) => {
      const { shelf } = request.body as Type.Static<typeof StopBody>;
      ctx.stock.restock.stop(shelf);
      new UserRepository(db()).audit(request.user!.username, 'stock.restock-stop', shelf, {}, ctx.clock());
      return { ok: true };
    });
  };
}
