/**
 * Static files of the staff pages (`edge-agent/assets/admin/`) and the charting library from its
 * package, read once at start: a fixed list, so no request can name a path outside them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { packageRoot } from '../paths.js';
import type {} from './auth/admin-auth.js';

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png' };

export const ADMIN_ASSETS_DIR = (): string => join(packageRoot(), 'edge-agent', 'assets', 'admin');

export const assetsRoutes: FastifyPluginAsync = async (app) => {
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const name of readdirSync(ADMIN_ASSETS_DIR())) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { type, body: readFileSync(join(ADMIN_ASSETS_DIR(), name)) });
  }
  const require = createRequire(import.meta.url);
  files.set('vendor/chart.umd.js', { type: TYPES['.js']!, body: readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js')) });

  app.get('/assets/*', { config: { public: true } }, async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const file = files.get(name);
    if (!file) return reply.code(404).send({ statusCode: 404, error: `no asset ${name}` });
    return reply.header('cache-control', 'no-cache').type(file.type).send(file.body);
  });
};
