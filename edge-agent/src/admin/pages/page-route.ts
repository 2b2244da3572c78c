import type { FastifyInstance } from 'fastify';
import type { Role } from '../../db/repositories/users.js';
import type { AdminContext } from '../admin-context.js';
import { pageHtml } from './page-shell.js';

export interface PageRoute {
  path: string;
  title: string;
  /** Least role that may open it. */
  role: Role;
  /** Scripts under /assets, after admin.js. */
  scripts: readonly string[];
  /** Static HTML of the body (the script fills it from the API). */
  body: string;
}

/** A staff page: the shell with its body and scripts, for a signed-in user of the role. */
export function registerPage(app: FastifyInstance, ctx: AdminContext, page: PageRoute): void {
  app.get(page.path, { config: { role: page.role } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return reply.type('text/html; charset=utf-8').send(
      pageHtml({ title: page.title, active: page.path, store: ctx.config.store.name, user: request.user, csrf: request.csrfToken, scripts: page.scripts, body: page.body }),
    );
  });
}
