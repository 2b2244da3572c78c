import type { FastifyPluginAsync } from 'fastify';
import type { AdminContext } from '../admin-context.js';
import { pageHtml } from './page-shell.js';

/** `/login` (public) and `/` (to the live store, or the login when signed out). */
export function loginPage(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/', { config: { public: true } }, async (request, reply) => reply.redirect(request.user ? '/live' : '/login'));
    app.get('/login', { config: { public: true } }, async (_request, reply) => {
      const body = `<section class="panel login">
<form id="login-form" autocomplete="on">
<label for="username">User name</label><input id="username" name="username" autocomplete="username" required maxlength="64">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256">
<p id="login-error" class="error" role="alert"></p>
<button class="primary" type="submit">Sign in</button>
</form>
<p class="muted">No account yet? An engineer adds the first one on the box with <code>edge-agent user add NAME --role admin</code>.</p>
</section>`;
      reply.header('cache-control', 'no-store');
      return reply.type('text/html; charset=utf-8').send(pageHtml({ title: 'Sign in', active: '/login', store: ctx.config.store.name, user: null, csrf: null, scripts: ['/assets/login.js'], body }));
    });
  };
}
