/**
 * The screens' own corner of the admin server: `/screens/<id>` (the full-screen page),
 * `/screens/<id>/events` (its SSE stream) and the product images on its cards. Screens do not log
 * in: each has its own token, read-only, compared in constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {} from '@fastify/helmet';
import type {} from '../admin/auth/admin-auth.js';
import Type from 'typebox';
import type { ProductConfig } from '../../../device-config/schema.js';
import { renderPackagingPng } from '../sim/render/packaging.js';
import { screenPageHtml } from './screen-page.js';
import type { SignageService } from './signage-service.js';

const IMAGE_TYPES: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp', '.svg': 'image/svg+xml' };
const ScreenParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }) });
const TokenQuery = Type.Object({ token: Type.String({ minLength: 1, maxLength: 256 }) });

function sameToken(expected: string | undefined, given: string): boolean {
  if (expected === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface ScreenRoutesOptions {
  signage: SignageService;
  storeName: string;
  lang: string;
  products: readonly ProductConfig[];
}

export const screenRoutes: FastifyPluginAsyncTypebox<ScreenRoutesOptions> = async (app, options) => {
  const { signage } = options;
  const products = new Map(options.products.map((p) => [p.id, p]));
  const images = new Map<string, Promise<{ type: string; bytes: Buffer }>>();

  app.addHook('preClose', async () => signage.channels.closeAll());

  const guard = (id: string, token: string): string | undefined => {
    const screen = signage.screen(id);
    if (!screen) return `no screen ${id}`;
    return sameToken(signage.token(id), token) ? undefined : 'wrong or missing screen token';
  };
  const refuse = (why: string) => ({ statusCode: why.startsWith('no screen') ? 404 : 401, error: why });

  app.get('/screens/:id', { config: { public: true }, helmet: { contentSecurityPolicy: false }, schema: { params: ScreenParams, querystring: TokenQuery } }, async (request, reply) => {
    const { id } = request.params;
    const why = guard(id, request.query.token);
    if (why) return reply.code(refuse(why).statusCode).send(refuse(why));
    const screen = signage.screen(id)!;
    reply.header('cache-control', 'no-store');
    return reply.type('text/html; charset=utf-8').send(
      screenPageHtml({ screen: id, name: screen.name, store: options.storeName, lang: options.lang, eventsUrl: `/screens/${encodeURIComponent(id)}/events?token=${encodeURIComponent(request.query.token)}` }),
    );
  });

  app.get('/screens/:id/events', { config: { public: true }, schema: { params: ScreenParams, querystring: TokenQuery } }, async (request, reply) => {
    const { id } = request.params;
    const why = guard(id, request.query.token);
    if (why) return reply.code(refuse(why).statusCode).send(refuse(why));
    reply.hijack();
    signage.channels.attach({ v: 1, screen: id, name: signage.screen(id)!.name, store: options.storeName }, reply.raw);
  });

  app.get(
    '/screens/:id/products/:product/image',
    { config: { public: true }, schema: { params: Type.Object({ id: ScreenParams.properties.id, product: Type.String({ minLength: 1, maxLength: 64 }) }), querystring: TokenQuery } },
    async (request, reply) => {
      const { id, product } = request.params;
      const why = guard(id, request.query.token);
      if (why) return reply.code(refuse(why).statusCode).send(refuse(why));
      const p = products.get(product);
      if (!p) return reply.code(404).send({ statusCode: 404, error: `no product ${product}` });
      let image = images.get(p.id);
      if (!image) {
        image = loadImage(p);
        images.set(p.id, image);
        image.catch(() => images.delete(p.id));
      }
      const { type, bytes } = await image;
      return reply.header('cache-control', 'private, max-age=3600').type(type).send(bytes);
    },
  );
};

/** The product's configured image, else its packaging as the simulator draws it (id, name, colours). */
async function loadImage(p: ProductConfig): Promise<{ type: string; bytes: Buffer }> {
  if (p.image) {
    const type = IMAGE_TYPES[extname(p.image).toLowerCase()];
    if (type) {
      try {
        return { type, bytes: await readFile(resolve(p.image)) };
      } catch {
        // a missing file falls back to the drawn packaging below
      }
    }
  }
  return { type: 'image/png', bytes: await renderPackagingPng(p, 360) };
}
