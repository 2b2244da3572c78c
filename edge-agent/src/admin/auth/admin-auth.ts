/**
 * Who is asking, and may they: every route is closed unless its config says otherwise —
 * `config: { public: true }` (health, screens with their own tokens, the login page and assets) or
 * `config: { role: 'viewer' | 'staff' | 'admin' }` (the least role that may use it; admin when
 * unsaid). Sessions are HttpOnly, SameSite=Strict cookies whose token is stored only as a hash;
 * every change (not GET/HEAD) must carry the session's CSRF token in `x-csrf-token`. Sign-in is
 * rate limited per address and locks an account after repeated wrong passwords.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type {} from '@fastify/cookie';
import type {} from '@fastify/rate-limit';
import Type from 'typebox';
import type { StoreConfig } from '../../../../device-config/schema.js';
import type { StoreDatabase } from '../../db/database.js';
import { ROLES, UserRepository, type Role, type User } from '../../db/repositories/users.js';
import { DUMMY_HASH, verifyPassword } from './passwords.js';

export const SESSION_COOKIE = 'edge_session';

declare module 'fastify' {
  interface FastifyRequest {
    user: User | null;
    csrfToken: string | null;
  }
  interface FastifyContextConfig {
    public?: boolean;
    role?: Role;
  }
}

const RANK: Record<Role, number> = { viewer: 0, staff: 1, admin: 2 };

export function mayAct(user: User, least: Role): boolean {
  return RANK[user.role] >= RANK[least];
}

export interface AdminAuthOptions {
  config: StoreConfig;
  database: () => StoreDatabase | undefined;
  clock?: () => number;
}

const LoginBody = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });

function wantsPage(request: FastifyRequest): boolean {
  return request.method === 'GET' && !request.url.startsWith('/api/') && (request.headers.accept ?? '').includes('text/html');
}

export const adminAuth = fp<AdminAuthOptions>(
  async (app: FastifyInstance, options) => {
    const clock = options.clock ?? Date.now;
    const admin = options.config.admin;
    const users = (): UserRepository => {
      const db = options.database();
      if (!db) throw Object.assign(new Error('the store database is not open'), { statusCode: 503 });
      return new UserRepository(db.handle);
    };

    app.decorateRequest('user', null);
    app.decorateRequest('csrfToken', null);

    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const config = request.routeOptions.config;
      const token = request.cookies[SESSION_COOKIE];
      if (token && options.database()) {
        const session = users().session(token, clock());
        if (session) {
          request.user = session.user;
          request.csrfToken = session.csrf;
        }
      }
      // Unknown routes fall through to the 404 handler; public ones need nothing more.
      if (config.public || request.routeOptions.url === undefined) return;
      if (!request.user) {
        if (wantsPage(request)) return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`);
        return reply.code(401).send({ statusCode: 401, error: 'sign in first' });
      }
      const least = config.role ?? 'admin';
      if (!mayAct(request.user, least)) return reply.code(403).send({ statusCode: 403, error: `needs the ${least} role (you are ${request.user.role})` });
      if (request.method !== 'GET' && request.method !== 'HEAD' && request.headers['x-csrf-token'] !== request.csrfToken) {
        return reply.code(403).send({ statusCode: 403, error: 'missing or wrong x-csrf-token header' });
      }
    });

    const cookieOptions = { path: '/', httpOnly: true, sameSite: 'strict' as const, secure: admin.secureCookies };

    app.post(
      '/api/login',
      { config: { public: true, rateLimit: { max: 10, timeWindow: '1 minute' } }, schema: { body: LoginBody } },
      async (request, reply) => {
        const { username, password } = request.body as Type.Static<typeof LoginBody>;
        const repo = users();
        const now = clock();
        const user = repo.credentials(username);
        // The same work for an unknown name, so the answer's timing does not tell.
        const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
        if (!user || user.disabledAt !== null) return reply.code(401).send({ statusCode: 401, error: 'wrong user name or password' });
        if (user.lockedUntil !== null && user.lockedUntil > now) {
          return reply.code(429).send({ statusCode: 429, error: `too many wrong passwords: locked until ${new Date(user.lockedUntil).toISOString()}` });
        }
        if (!ok) {
          repo.loginFailed(user.id, admin.maxFailedLogins, now + admin.lockMinutes * 60_000);
          repo.audit(user.username, 'login.failed', null, { address: request.ip }, now);
          return reply.code(401).send({ statusCode: 401, error: 'wrong user name or password' });
        }
        repo.loginSucceeded(user.id);
        const session = repo.openSession(user.id, request.ip, now, admin.sessionHours * 3_600_000);
        repo.audit(user.username, 'login', null, { address: request.ip }, now);
        reply.setCookie(SESSION_COOKIE, session.token, { ...cookieOptions, maxAge: Math.round(admin.sessionHours * 3600) });
        return { user: repo.get(user.id), csrf: session.csrf };
      },
    );

    app.post('/api/logout', { config: { role: 'viewer' } }, async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      if (token) users().closeSession(token);
      users().audit(request.user!.username, 'logout', null, {}, clock());
      reply.clearCookie(SESSION_COOKIE, cookieOptions);
      return { ok: true };
    });

    app.get('/api/me', { config: { role: 'viewer' } }, async (request) => ({ user: request.user, csrf: request.csrfToken, roles: ROLES }));
  },
  { name: 'admin-auth', dependencies: ['@fastify/cookie'] },
);
