// Shared helpers of the staff pages: JSON calls with the session's CSRF token, live streams,
// small DOM helpers. No framework: each page's script builds its own view from the API.
(function () {
  'use strict';
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

  async function api(method, url, body) {
    const init = { method, headers: { accept: 'application/json' }, credentials: 'same-origin' };
    if (method !== 'GET' && method !== 'HEAD') init.headers['x-csrf-token'] = csrf();
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(url, init);
    if (res.status === 401 && !url.startsWith('/api/login')) {
      location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
      throw new Error('signed out');
    }
    const type = res.headers.get('content-type') ?? '';
    const data = type.includes('application/json') ? await res.json() : await res.text();
    if (!res.ok) throw Object.assign(new Error((data && data.error) || `${res.status}`), { status: res.status, data });
    return data;
  }

  /** A live stream (Server-Sent Events) that reconnects with back-off; onEvent(name, data). */
  function live(url, onEvent, onState) {
    let source;
    let delay = 1000;
    const open = () => {
      source = new EventSource(url);
      source.onopen = () => {
        delay = 1000;
        onState?.(true);
      };
      source.onerror = () => {
        onState?.(false);
        source.close();
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 15000);
      };
      source.onmessage = (e) => onEvent('message', JSON.parse(e.data));
      for (const name of live.names ?? []) source.addEventListener(name, (e) => onEvent(name, JSON.parse(e.data)));
    };
    open();
    return { close: () => source?.close() };
  }

  /** el('div', { class: 'x', text: 'hi' }, [children]) — text is always set as text, never as HTML. */
  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') node.textContent = String(v);
      else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of [].concat(children)) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  const money = (minor, currency) => new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(minor / 100);
  const time = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const role = () => document.querySelector('meta[name="user-role"]')?.getAttribute('content') ?? '';

  function toast(message, kind = 'info') {
    const box = el('div', { class: `toast ${kind}`, role: 'status', text: message });
    document.body.append(box);
    setTimeout(() => box.remove(), 4000);
  }

  document.getElementById('logout')?.addEventListener('click', async () => {
    try {
      await api('POST', '/api/logout');
    } finally {
      location.href = '/login';
    }
  });

  window.admin = { api, live, el, money, time, role, toast };
})();
