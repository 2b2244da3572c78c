/**
 * The frame of every staff page: navigation, the signed-in user, the CSRF token for `api()` in
 * `/assets/admin.js`, and the page's own script. Pages are server-rendered shells filled by their
 * script from the JSON API, so the same API serves the tests, the page and any other client.
 */
import type { User } from '../../db/repositories/users.js';

export const NAV = [
  { path: '/live', label: 'Live store' },
  { path: '/carts', label: 'Carts & receipts' },
  { path: '/stock', label: 'Stock & alerts' },
  { path: '/analytics', label: 'Analytics' },
  { path: '/devices', label: 'Devices' },
  { path: '/calibration', label: 'Calibration' },
  { path: '/settings', label: 'Settings' },
] as const;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface PageOptions {
  title: string;
  /** The NAV path this page is. */
  active: string;
  store: string;
  user: User | null;
  csrf: string | null;
  /** The page's script under /assets (no inline scripts: the CSP forbids them). */
  scripts?: readonly string[];
  /** Trusted HTML of the page's body (escape every value put in it). */
  body: string;
}

export function pageHtml(o: PageOptions): string {
  const nav = o.user
    ? NAV.map((n) => `<a href="${n.path}"${n.path === o.active ? ' aria-current="page"' : ''}>${escapeHtml(n.label)}</a>`).join('')
    : '';
  const who = o.user
    ? `<span class="who">${escapeHtml(o.user.username)} · ${escapeHtml(o.user.role)}</span><button id="logout" type="button">Sign out</button>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${escapeHtml(o.csrf ?? '')}">
<meta name="user-role" content="${escapeHtml(o.user?.role ?? '')}">
<title>${escapeHtml(o.title)} · ${escapeHtml(o.store)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/admin.css">
</head>
<body>
<header class="top"><strong class="store">${escapeHtml(o.store)}</strong><nav>${nav}</nav><div class="user">${who}</div></header>
<main id="page" data-page="${escapeHtml(o.active)}">
<h1>${escapeHtml(o.title)}</h1>
${o.body}
</main>
<script src="/assets/admin.js"></script>
${(o.scripts ?? []).map((s) => `<script src="${escapeHtml(s)}"></script>`).join('\n')}
</body>
</html>
`;
}
