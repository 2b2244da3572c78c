/**
 * `/settings`: the effective configuration, read-only (environment variables named, their values
 * never shown; the cloud's planogram/prices overlay marked), and — for admins — the users of the
 * admin page and the audit log. User changes are audited; the last active admin cannot be
 * disabled or demoted, so the store is never locked out of its own box.
 */
import type { FastifyPluginAsync } from 'fastify';
import Type from 'typebox';
import { overlayPath, readCloudOverlay } from '../../config/cloud-overlay.js';
import { readSecrets } from '../../config/secrets.js';
import { ROLES, UserRepository, type Role } from '../../db/repositories/users.js';
import type { AdminContext } from '../admin-context.js';
import { hashPassword, passwordProblem } from '../auth/passwords.js';
import { registerPage } from './page-route.js';

const Username = Type.String({ pattern: '^[A-Za-z0-9._@-]{2,64}$' });
const RoleSchema = Type.Enum([...ROLES]);
const NewUser = Type.Object({ username: Username, role: RoleSchema, password: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
const UserChange = Type.Object(
  { role: Type.Optional(RoleSchema), disabled: Type.Optional(Type.Boolean()), password: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) },
  { additionalProperties: false, minProperties: 1 },
);
const UserParams = Type.Object({ username: Username });

/** Keys whose values name environment variables: shown with whether they are set, never the value. */
function envNames(value: unknown, path: string[] = [], out: { path: string; variable: string }[] = []): { path: string; variable: string }[] {
  if (Array.isArray(value)) value.forEach((v, i) => envNames(v, [...path, String(i)], out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.endsWith('Env') && typeof v === 'string') out.push({ path: `/${[...path, k].join('/')}`, variable: v });
      else envNames(v, [...path, k], out);
    }
  }
  return out;
}

export function settingsPage(ctx: AdminContext): FastifyPluginAsync {
  return async (app) => {
    const users = () => new UserRepository(ctx.database()!.handle);

    registerPage(app, ctx, {
      path: '/settings',
      title: 'Settings',
      role: 'viewer',
      scripts: ['/assets/settings.js'],
      body: `<div class="grid">
<section class="panel"><h2>Configuration in force</h2><div id="config-notes"></div><pre id="config" class="config"></pre></section>
<section class="panel" id="users-panel" hidden><h2>Users</h2><table id="users"><thead><tr><th>User</th><th>Role</th><th>State</th><th></th></tr></thead><tbody></tbody></table>
<form id="add-user"><h2>Add a user</h2><label for="new-username">User name</label><input id="new-username" name="username" required maxlength="64" autocomplete="off">
<label for="new-role">Role</label><select id="new-role" name="role"><option>viewer</option><option selected>staff</option><option>admin</option></select>
<label for="new-password">Password (10 characters or more)</label><input id="new-password" name="password" type="password" required autocomplete="new-password">
<p class="error" id="add-user-error" role="alert"></p><button class="primary" type="submit">Add user</button></form></section>
<section class="panel" id="audit-panel" hidden><h2>Audit log</h2><table id="audit"><thead><tr><th>When</th><th>Who</th><th>What</th><th>Subject</th></tr></thead><tbody></tbody></table></section>
</div>`,
    });

    app.get('/api/settings/config', { config: { role: 'viewer' } }, async () => {
      const { config } = ctx;
      const env = envNames(config).map((e) => ({ ...e, set: process.env[e.variable] !== undefined && process.env[e.variable] !== '' }));
      const secrets = readSecrets(config).secrets;
      let overlay: { file: string; updatedAt: string; planogram: boolean; prices: number } | null = null;
      try {
        const o = readCloudOverlay(config.dataDir);
        if (o) overlay = { file: overlayPath(config.dataDir), updatedAt: o.updatedAt, planogram: o.planogram !== undefined, prices: Object.keys(o.prices ?? {}).length };
      } catch {
        overlay = null;
      }
      return { config, environment: env, screenTokens: config.screens.map((s) => ({ screen: s.id, from: secrets.screenTokens.has(s.id) ? s.tokenEnv : 'store database' })), cloudOverlay: overlay };
    });

    app.get('/api/settings/users', { config: { role: 'admin' } }, async () => ({ users: users().list() }));

    app.post('/api/settings/users', { config: { role: 'admin' }, schema: { body: NewUser } }, async (request, reply) => {
      const { username, role, password } = request.body as Type.Static<typeof NewUser>;
      const problem = passwordProblem(password, username);
      if (problem) return reply.code(400).send({ statusCode: 400, error: `the password needs ${problem}` });
      const repo = users();
      if (repo.find(username)) return reply.code(409).send({ statusCode: 409, error: `a user ${username} exists already` });
      const user = repo.add(username, role as Role, await hashPassword(password), request.user!.username, ctx.clock());
      repo.audit(request.user!.username, 'user.add', username, { role }, ctx.clock());
      return reply.code(201).send({ user });
    });

    app.patch('/api/settings/users/:username', { config: { role: 'admin' }, schema: { params: UserParams, body: UserChange } }, async (request, reply) => {
      const { username } = request.params as Type.Static<typeof UserParams>;
      const change = request.body as Type.Static<typeof UserChange>;
      const repo = users();
      const user = repo.find(username);
      if (!user) return reply.code(404).send({ statusCode: 404, error: `no user ${username}` });
      const losesAdmin = user.role === 'admin' && user.disabledAt === null && ((change.role !== undefined && change.role !== 'admin') || change.disabled === true);
      if (losesAdmin && repo.activeAdmins() <= 1) return reply.code(409).send({ statusCode: 409, error: 'the last active admin cannot be disabled or demoted' });
      if (change.password !== undefined) {
        const problem = passwordProblem(change.password, username);
        if (problem) return reply.code(400).send({ statusCode: 400, error: `the password needs ${problem}` });
        repo.setPassword(user.id, await hashPassword(change.password));
      }
      if (change.role !== undefined) repo.setRole(user.id, change.role as Role);
      if (change.disabled !== undefined) repo.setDisabled(user.id, change.disabled, ctx.clock());
      repo.audit(request.user!.username, 'user.change', username, { ...(change.role ? { role: change.role } : {}), ...(change.disabled !== undefined ? { disabled: change.disabled } : {}), ...(change.password ? { password: 'changed' } : {}) }, ctx.clock());
      return { user: repo.get(user.id) };
    });

    app.get('/api/settings/audit', { config: { role: 'admin' }, schema: { querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }) } }, async (request) => ({
      entries: users().auditLog((request.query as { limit?: number }).limit ?? 200),
    }));
  };
}
