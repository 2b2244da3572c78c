/**
 * Signing in to the admin page on a running agent (real SQLite, real HTTP): scrypt passwords,
 * HttpOnly SameSite=Strict session cookies, CSRF on every change, roles, the login rate limit and
 * the lock-out after wrong passwords, security headers; and a sweep of every route the staff
 * pages register: anonymous and too-low roles are refused, changes need the CSRF token.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { adminPages } from '../../edge-agent/src/admin/admin-pages.js';
import { buildAdminApp } from '../../edge-agent/src/admin/app.js';
import { Agent } from '../../edge-agent/src/agent.js';
import { UserRepository } from '../../edge-agent/src/db/repositories/users.js';
import { silentLogger } from '../../edge-agent/src/log.js';
import { addUsers, PASSWORDS } from '../support/admin.js';
import { demoConfig } from '../support/demo-config.js';
import { useTempDirs } from '../support/temp-dir.js';

const tempDir = useTempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startAgent(extra: { maxFailedLogins?: number } = {}) {
  const base = demoConfig(tempDir());
  const config = { ...base, cameras: [], gates: [], rfid: { ...base.rfid, readers: [] }, alerts: { ...base.alerts, diskLowMb: 0 }, admin: { ...base.admin, ...extra } };
  const agent = new Agent({ config, secrets: { screenTokens: new Map() }, log: silentLogger(), version: 'x' });
  await agent.start();
  cleanups.push(async () => void (await agent.stop('test')));
  await addUsers(agent.database);
  return { agent, config, url: agent.adminUrl! };
}

const login = (url: string, username: string, password: string) =>
  fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });

describe('admin sign-in', { timeout: 60_000 }, () => {
  it('signs in with a session cookie and CSRF token, refuses wrong passwords alike, and signs out', async () => {
    const { url, agent } = await startAgent();
    const anonymous = await fetch(`${url}/api/me`);
    expect(anonymous.status).toBe(401);
    const page = await fetch(`${url}/live`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?next=%2Flive');

    const ok = await login(url, 'staff', PASSWORDS.staff);
    expect(ok.status).toBe(200);
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^edge_session=[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/);
    const { csrf, user } = (await ok.json()) as { csrf: string; user: { username: string; role: string } };
    expect(user).toMatchObject({ username: 'staff', role: 'staff' });
    // The database holds a hash of the session token, never the token.
    const token = cookie.split(';')[0]!.split('=')[1]!;
    const stored = agent.database.handle.prepare('SELECT id FROM user_sessions').all() as { id: string }[];
    expect(stored.map((s) => s.id)).not.toContain(token);
    expect(stored).toHaveLength(1);
    expect((agent.database.handle.prepare('SELECT password_hash AS h FROM users WHERE username = ?').get('staff') as { h: string }).h).toMatch(/^scrypt\$16384\$8\$1\$/);

    const me = await fetch(`${url}/api/me`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(await me.json()).toMatchObject({ user: { username: 'staff' }, csrf });
    // Same answer for an unknown user and a wrong password.
    const unknown = await login(url, 'nobody', 'whatever-password');
    const wrong = await login(url, 'staff', 'not-the-password');
    expect([unknown.status, wrong.status]).toEqual([401, 401]);
    expect(await unknown.json()).toEqual(await wrong.json());
    // Bad bodies are 400 with a reason.
    const bad = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'staff' }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/password/);

    // Signing out needs the CSRF token.
    const noCsrf = await fetch(`${url}/api/logout`, { method: 'POST', headers: { cookie: cookie.split(';')[0]! } });
    expect(noCsrf.status).toBe(403);
    const out = await fetch(`${url}/api/logout`, { method: 'POST', headers: { cookie: cookie.split(';')[0]!, 'x-csrf-token': csrf } });
    expect(out.status).toBe(200);
    expect((await fetch(`${url}/api/me`, { headers: { cookie: cookie.split(';')[0]! } })).status).toBe(401);
    const audit = new UserRepository(agent.database.handle).auditLog(10).map((a) => `${a.user} ${a.action}`);
    expect(audit).toEqual(expect.arrayContaining(['staff login', 'staff login.failed', 'staff logout']));
  });

  it('locks an account after repeated wrong passwords, and rate-limits sign-in per address', async () => {
    const { url } = await startAgent({ maxFailedLogins: 3 });
    for (let i = 0; i < 3; i++) expect((await login(url, 'viewer', 'wrong-password')).status).toBe(401);
    const locked = await login(url, 'viewer', PASSWORDS.viewer);
    expect(locked.status).toBe(429);
    expect(((await locked.json()) as { error: string }).error).toMatch(/locked until/);
    // Other accounts still sign in, until the address has tried too often.
    expect((await login(url, 'staff', PASSWORDS.staff)).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await login(url, 'admin', 'wrong-password')).status);
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
  });

  it('sends security headers and never leaks a stack trace', async () => {
    const { url } = await startAgent();
    const res = await fetch(`${url}/login`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const broken = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":' });
    expect(broken.status).toBe(400);
    expect(await broken.text()).not.toMatch(/\n\s+at /);
  });

  it('every staff route refuses anonymous callers, too-low roles and changes without the CSRF token', async () => {
    const { agent, config } = await startAgent();
    const routes: { method: string; url: string; role: string; public: boolean }[] = [];
    const app = await buildAdminApp({
      log: silentLogger(),
      health: () => agent.health(),
      auth: { config, database: () => agent.database },
      plugins: [
        async (a) => {
          a.addHook('onRoute', (r) => {
            for (const method of [r.method].flat()) {
              if (method === 'HEAD') continue;
              const c = (r.config ?? {}) as { public?: boolean; role?: string };
              routes.push({ method, url: r.url, role: c.role ?? 'admin', public: c.public === true });
            }
          });
          await a.register(adminPages(agent.adminContext));
        },
      ],
    });
    cleanups.push(() => app.close());
    const cookieOf = async (role: 'viewer' | 'staff') => {
      const res = await app.inject({ method: 'POST', url: '/api/login', payload: { username: role, password: PASSWORDS[role] } });
      return { cookie: (res.headers['set-cookie'] as string).split(';')[0]!, csrf: (res.json() as { csrf: string }).csrf };
    };
    const viewer = await cookieOf('viewer');
    const staff = await cookieOf('staff');
    const closed = routes.filter((r) => !r.public);
    expect(closed.length).toBeGreaterThan(5);
    const path = (u: string) => u.replace(/:(\w+)/g, '1').replace('*', 'x');
    for (const r of closed) {
      const anon = await app.inject({ method: r.method as 'GET', url: path(r.url), headers: { accept: 'application/json' } });
      expect(anon.statusCode, `${r.method} ${r.url} anonymous`).toBe(401);
      const low = r.role === 'admin' ? staff : r.role === 'staff' ? viewer : undefined;
      if (low) {
        const res = await app.inject({ method: r.method as 'GET', url: path(r.url), headers: { cookie: low.cookie, 'x-csrf-token': low.csrf, accept: 'application/json' } });
        expect(res.statusCode, `${r.method} ${r.url} as a lower role`).toBe(403);
      }
      if (r.method !== 'GET') {
        const user = r.role === 'viewer' ? viewer : r.role === 'staff' ? staff : undefined;
        if (user) {
          const res = await app.inject({ method: r.method as 'POST', url: path(r.url), headers: { cookie: user.cookie, accept: 'application/json' } });
          expect(res.statusCode, `${r.method} ${r.url} without CSRF`).toBe(403);
        }
      }
    }
  });
});
