/**
 * The full-screen page a shelf screen (Chromium in kiosk mode) shows: it listens to the agent's
 * Server-Sent Events for that screen and renders product cards, or an idle welcome with a clock.
 * One self-contained document: the screens have no access to anything but the agent.
 */
import { createHash } from 'node:crypto';

export interface ScreenPageOptions {
  screen: string;
  name: string;
  store: string;
  /** Usually `/screens/<id>/events?token=…`, relative to the page. */
  eventsUrl: string;
  lang?: string;
}

const STYLE = `
:root {
  color-scheme: dark;
  --u: min(1vh, 1vw);
  --bg: #0b0e14;
  --panel: #171c27;
  --text: #f4f6fa;
  --muted: #a3adc2;
  --accent: #ffd24d;
}
* { box-sizing: border-box; margin: 0; padding: 0; }
html, body { height: 100%; overflow: hidden; background: var(--bg); }
body {
  color: var(--text);
  font-family: system-ui, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
  cursor: none;
  user-select: none;
  -webkit-font-smoothing: antialiased;
}
#screen {
  position: fixed;
  inset: 0;
  padding: calc(3.5 * var(--u)) calc(4 * var(--u));
  display: flex;
  flex-direction: column;
}
#view { flex: 1; min-height: 0; display: flex; flex-direction: column; }
#view > * { flex: 1; min-height: 0; }
.enter { animation: fade-in 0.35s ease-out; }
@keyframes fade-in {
  from { opacity: 0; transform: translateY(calc(1 * var(--u))); }
  to { opacity: 1; transform: none; }
}

.idle {
  display: flex;
  flex-direction: column;
  align-items: center;
  justify-content: center;
  text-align: center;
  gap: calc(2 * var(--u));
}
.idle .store { font-size: calc(8 * var(--u)); font-weight: 700; line-height: 1.1; overflow-wrap: anywhere; }
.idle .place { font-size: calc(4 * var(--u)); color: var(--muted); overflow-wrap: anywhere; }
.idle .clock {
  margin-top: calc(3 * var(--u));
  font-size: calc(16 * var(--u));
  font-weight: 300;
  line-height: 1;
  font-variant-numeric: tabular-nums;
}

.offer { display: flex; flex-direction: column; gap: calc(2.5 * var(--u)); }
.head .title { font-size: calc(5.5 * var(--u)); font-weight: 700; line-height: 1.1; overflow-wrap: anywhere; }
.head .message { margin-top: calc(0.8 * var(--u)); font-size: calc(3 * var(--u)); color: var(--muted); line-height: 1.25; }

.grid {
  --cols: 3;
  --name: 3.8;
  --price: 6.5;
  --reason: 2.6;
  flex: 1;
  min-height: 0;
  display: grid;
  gap: calc(2.5 * var(--u));
  grid-template-columns: repeat(var(--cols), minmax(0, 1fr));
  grid-auto-rows: minmax(0, 1fr);
}
.grid[data-count="1"] { --cols: 1; --name: 5.5; --price: 10; --reason: 3.4; }
.grid[data-count="2"] { --cols: 2; --name: 4.4; --price: 8; --reason: 3; }
.grid[data-count="4"] { --cols: 2; }
.grid[data-count="4"], .grid[data-count="5"], .grid[data-count="6"] { --name: 3.5; --price: 6; --reason: 2.5; }
@media (orientation: portrait) {
  .grid[data-count="2"] { --cols: 1; }
  .grid[data-count="3"], .grid[data-count="5"], .grid[data-count="6"] { --cols: 2; }
}

.card {
  min-height: 0;
  overflow: hidden;
  display: grid;
  grid-template-rows: minmax(0, 1fr) auto auto auto;
  gap: calc(1 * var(--u));
  padding: calc(2 * var(--u));
  border-radius: calc(2 * var(--u));
  background: var(--panel);
}
.media {
  min-height: 0;
  display: flex;
  align-items: center;
  justify-content: center;
  overflow: hidden;
  border-radius: calc(1.2 * var(--u));
  background: #eef1f5;
}
.media img { display: block; width: 100%; height: 100%; object-fit: contain; padding: calc(1 * var(--u)); }
.media.missing { background: #2b3241; }
.placeholder {
  font-size: calc(var(--price) * 1.4 * var(--u));
  font-weight: 700;
  letter-spacing: 0.04em;
  color: #c5ccda;
}
.name, .reason {
  display: -webkit-box;
  -webkit-box-orient: vertical;
  -webkit-line-clamp: 2;
  overflow: hidden;
  overflow-wrap: anywhere;
}
.name { font-size: calc(var(--name) * var(--u)); font-weight: 600; line-height: 1.15; }
.price {
  font-size: calc(var(--price) * var(--u));
  font-weight: 800;
  line-height: 1.05;
  color: var(--accent);
  font-variant-numeric: tabular-nums;
}
.reason { font-size: calc(var(--reason) * var(--u)); line-height: 1.25; color: var(--muted); }
@media (orientation: landscape) {
  .grid[data-count="1"] .card {
    grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
    grid-template-rows: minmax(0, 1fr) auto auto auto minmax(0, 1fr);
    column-gap: calc(4 * var(--u));
    row-gap: calc(2 * var(--u));
  }
  .grid[data-count="1"] .media { grid-column: 1; grid-row: 1 / -1; }
  .grid[data-count="1"] .name { grid-column: 2; grid-row: 2; }
  .grid[data-count="1"] .price { grid-column: 2; grid-row: 3; }
  .grid[data-count="1"] .reason { grid-column: 2; grid-row: 4; }
}

#dot {
  position: fixed;
  right: calc(1.5 * var(--u));
  bottom: calc(1.5 * var(--u));
  width: calc(1.4 * var(--u));
  height: calc(1.4 * var(--u));
  border-radius: 50%;
  background: #f5a524;
  opacity: 0.85;
}
#screen[data-connected="true"] #dot { background: #34d27b; }
`;

// Browser code: ES2020, no template literals, and every server-sent string goes through textContent.
const SCRIPT = `
(function () {
  'use strict';
  var MAX_CARDS = 6;
  var RETRY_MIN_MS = 1000;
  var RETRY_MAX_MS = 15000;
  var cfg = JSON.parse(document.getElementById('screen-config').textContent);
  var main = document.getElementById('screen');
  var view = document.getElementById('view');
  var storeName = String(cfg.store);
  var screenName = String(cfg.name);
  var source = null;
  var retryMs = RETRY_MIN_MS;
  var expiryTimer = 0;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function str(value) { return typeof value === 'string' ? value : ''; }
  function pad2(n) { return n < 10 ? '0' + n : String(n); }

  function tickClock() {
    var clock = view.querySelector('.clock');
    if (!clock) return;
    var now = new Date();
    var text = pad2(now.getHours()) + ':' + pad2(now.getMinutes());
    if (clock.textContent !== text) clock.textContent = text;
  }

  function initials(name) {
    var out = '';
    var words = str(name).split(/\\s+/);
    for (var i = 0; i < words.length && out.length < 2; i++) {
      var m = words[i].match(/[\\p{L}\\p{N}]/u);
      if (m) out += m[0].toUpperCase();
    }
    return out || '?';
  }

  function imageUrl(value) {
    if (typeof value !== 'string' || value === '') return '';
    try {
      var url = new URL(value, location.href);
      return url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'data:' ? url.href : '';
    } catch (e) {
      return '';
    }
  }

  function placeholder(box, name) {
    box.classList.add('missing');
    box.replaceChildren(el('span', 'placeholder', initials(name)));
  }

  function media(card) {
    var box = el('div', 'media');
    var src = imageUrl(card.image);
    if (!src) {
      placeholder(box, card.name);
      return box;
    }
    var img = el('img');
    img.alt = '';
    img.decoding = 'async';
    img.addEventListener('error', function () { placeholder(box, card.name); }, { once: true });
    img.src = src;
    box.appendChild(img);
    return box;
  }

  function cardNode(card) {
    var node = el('article', 'card');
    node.dataset.product = str(card.product);
    node.appendChild(media(card));
    node.appendChild(el('h2', 'name', str(card.name)));
    if (str(card.priceText)) node.appendChild(el('div', 'price', card.priceText));
    if (str(card.reason)) node.appendChild(el('p', 'reason', card.reason));
    return node;
  }

  function swap(node) {
    node.classList.add('enter');
    view.replaceChildren(node);
  }

  function showIdle() {
    var idle = el('section', 'idle');
    idle.appendChild(el('div', 'store', storeName));
    idle.appendChild(el('div', 'place', screenName));
    idle.appendChild(el('div', 'clock'));
    main.dataset.state = 'idle';
    main.dataset.products = '';
    swap(idle);
    tickClock();
  }

  function showCards(event, cards) {
    var offer = el('section', 'offer');
    var title = str(event.title);
    var message = str(event.message);
    if (title || message) {
      var head = el('header', 'head');
      if (title) head.appendChild(el('h1', 'title', title));
      if (message) head.appendChild(el('p', 'message', message));
      offer.appendChild(head);
    }
    var grid = el('div', 'grid');
    grid.dataset.count = String(cards.length);
    cards.forEach(function (card) { grid.appendChild(cardNode(card)); });
    offer.appendChild(grid);
    main.dataset.state = 'card';
    main.dataset.products = cards.map(function (c) { return str(c.product); }).join(',');
    swap(offer);
  }

  // Measured from arrival rather than against the screen's clock, which may differ from the agent's.
  function lifetimeMs(event) {
    if (typeof event.until !== 'string') return -1;
    var until = Date.parse(event.until);
    if (isNaN(until)) return -1;
    var shown = Date.parse(str(event.shownAt));
    var ms = isNaN(shown) ? until - Date.now() : until - shown;
    return Math.min(Math.max(ms, 0), 0x7fffffff);
  }

  function expire() {
    main.dataset.trigger = '';
    main.dataset.exposureId = '';
    showIdle();
  }

  function parse(data) {
    try {
      var value = JSON.parse(data);
      return value && typeof value === 'object' ? value : null;
    } catch (e) {
      return null;
    }
  }

  function onHello(e) {
    var hello = parse(e.data);
    if (!hello) return;
    if (str(hello.store)) storeName = hello.store;
    if (str(hello.name)) screenName = hello.name;
    var store = view.querySelector('.idle .store');
    var place = view.querySelector('.idle .place');
    if (store) store.textContent = storeName;
    if (place) place.textContent = screenName;
    setConnected(true);
  }

  function onCard(e) {
    var event = parse(e.data);
    if (!event || !Array.isArray(event.cards)) return;
    if (typeof event.screen === 'string' && event.screen !== cfg.screen) return;
    clearTimeout(expiryTimer);
    var cards = event.cards.filter(function (c) { return c && typeof c === 'object'; }).slice(0, MAX_CARDS);
    main.dataset.trigger = str(event.trigger);
    main.dataset.exposureId = event.exposureId == null ? '' : String(event.exposureId);
    if (cards.length === 0) {
      showIdle();
      return;
    }
    showCards(event, cards);
    var ms = lifetimeMs(event);
    if (ms >= 0) expiryTimer = setTimeout(expire, ms);
  }

  function setConnected(on) {
    main.dataset.connected = on ? 'true' : 'false';
  }

  function connect() {
    var es = new EventSource(cfg.eventsUrl);
    source = es;
    es.addEventListener('open', function () {
      if (source !== es) return;
      retryMs = RETRY_MIN_MS;
      setConnected(true);
    });
    es.addEventListener('hello', onHello);
    es.addEventListener('card', onCard);
    // Chromium retries a stream the server ended only after 3 s and never after an HTTP error
    // (CLOSED), so both go through one backoff of our own.
    es.addEventListener('error', function () {
      if (source !== es) return;
      setConnected(false);
      es.close();
      source = null;
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    });
  }

  tickClock();
  setInterval(tickClock, 1000);
  connect();
})();
`;

const STYLE_HASH = sha256Base64(STYLE);
const SCRIPT_HASH = sha256Base64(SCRIPT);

function sha256Base64(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that cannot end its `<script>` element or open a comment inside it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function screenPageHtml(opts: ScreenPageOptions): string {
  const config = { screen: opts.screen, name: opts.name, store: opts.store, eventsUrl: opts.eventsUrl };
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${SCRIPT_HASH}'`,
    `style-src 'sha256-${STYLE_HASH}'`,
    "img-src 'self' data: http: https:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="${escapeHtml(opts.lang ?? 'en')}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<link rel="icon" href="data:,">
<title>${escapeHtml(`${opts.name} · ${opts.store}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<main id="screen" data-state="idle" data-connected="false" data-products="">
<div id="view"><section class="idle"><div class="store">${escapeHtml(opts.store)}</div><div class="place">${escapeHtml(opts.name)}</div><div class="clock"></div></section></div>
<div id="dot"></div>
</main>
<script type="application/json" id="screen-config">${scriptJson(config)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
