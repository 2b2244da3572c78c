/**
 * Staff users and signing in, for tests of the admin pages: users are made the way the CLI makes
 * them (scrypt hash in the store database); API tests sign in over HTTP and keep the cookie and
 * the CSRF token; browser tests sign in through the login form.
 */
import type { Page } from 'playwright-core';
import { hashPassword } from '../../edge-agent/src/admin/auth/passwords.js';
import type { StoreDatabase } from '../../edge-agent/src/db/database.js';
import { UserRepository, type Role } from '../../edge-agent/src/db/repositories/users.js';

export const PASSWORDS: Record<Role, string> = { admin: 'admin-pass-2026!', staff: 'staff-pass-2026!', viewer: 'viewer-pass-2026!' };

/** Adds `admin`, `staff` and `viewer` users (password PASSWORDS[role]). */
export async function addUsers(database: StoreDatabase): Promise<void> {
  const users = new UserRepository(database.handle);
  for (const role of ['admin', 'staff', 'viewer'] as const) {
    if (!users.find(role)) users.add(role, role, await hashPassword(PASSWORDS[role]), 'test', Date.now());
  }
}

export interface Signed {
  cookie: string;
  csrf: string;
  /** fetch with the session cookie, and the CSRF header on changes. */
  fetch(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
}

export async function signIn(baseUrl: string, username: string, password: string): Promise<Signed> {
  const res = await fetch(`${baseUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw new Error(`sign-in of ${username} answered ${res.status}: ${await res.text()}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const { csrf } = (await res.json()) as { csrf: string };
  return {
    cookie,
    csrf,
    fetch: (path, init = {}) => {
      const method = init.method ?? 'GET';
      const headers: Record<string, string> = { cookie, accept: 'application/json', ...(method === 'GET' ? {} : { 'x-csrf-token': csrf }), ...init.headers };
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      return fetch(`${baseUrl}${path}`, { method, headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
    },
  };
}

/** Signs in through the login form and waits for the live store page. */
export async function signInPage(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(/\/live$/), page.click('button[type="submit"]')]);
}
