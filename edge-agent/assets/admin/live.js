// Live store page: the floor plan with the shoppers on it, open sessions, occupancy and recent
// events. The snapshot (/api/live) draws everything; the stream (/api/live/events) keeps it live,
// and every (re)connection reloads the snapshot so nothing missed while away stays missing.
(function () {
  'use strict';
  const { api, live, el, money } = window.admin;
  const SVG = 'http://www.w3.org/2000/svg';
  // The plan is drawn in centimetres: SVG text of a few user units renders poorly.
  const S = 100;
  const MAX_EVENTS = 50;

  const state = { store: null, floor: null, shoppers: [], sessions: [], occupancy: null, events: new Map() };
  const view = { svg: null, shoppers: null, dots: new Map(), plates: new Map() };
  // Times on the store's own clock, whatever the tablet's time zone.
  let clockFormat = null;
  const time = (ms) => (clockFormat ? clockFormat.format(ms) : window.admin.time(ms));

  function svg(tag, attrs = {}, children = []) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
    for (const c of children) node.append(c);
    return node;
  }
  const points = (polygon) => polygon.map(([x, y]) => `${Math.round(x * S)},${Math.round(y * S)}`).join(' ');
  const centre = (polygon) => {
    const n = polygon.length;
    return [polygon.reduce((s, p) => s + p[0], 0) / n, polygon.reduce((s, p) => s + p[1], 0) / n];
  };
  const label = (text, x, y, cls) => svg('text', { x: Math.round(x * S), y: Math.round(y * S), class: cls }, [document.createTextNode(text)]);

  function drawFloor(floor) {
    const pad = 40;
    const root = svg('svg', {
      class: 'floor live-plan',
      viewBox: `${-pad} ${-pad} ${floor.widthM * S + 2 * pad} ${floor.depthM * S + 2 * pad}`,
      role: 'img',
      'aria-label': `Floor plan, ${floor.widthM} × ${floor.depthM} m`,
    });
    root.append(svg('rect', { class: 'plan-floor', x: 0, y: 0, width: floor.widthM * S, height: floor.depthM * S }));
    const zones = svg('g', { class: 'plan-zones' });
    const zoneLabels = svg('g', { class: 'plan-labels' });
    for (const z of floor.zones) {
      const poly = svg('polygon', { class: `zone zone-${z.type}`, points: points(z.polygon), 'data-zone': z.id });
      poly.append(svg('title', {}, [document.createTextNode(`${z.name} (${z.type})`)]));
      zones.append(poly);
      const xs = z.polygon.map((p) => p[0]);
      const ys = z.polygon.map((p) => p[1]);
      zoneLabels.append(label(z.name, Math.min(...xs) + 0.08, Math.min(...ys) + 0.25, 'zone-label'));
    }
    root.append(zones);
    const gondolas = svg('g', { class: 'plan-gondolas' });
    view.plates.clear();
    for (const g of floor.gondolas) {
      const group = svg('g', { class: 'gondola', 'data-gondola': g.id });
      group.append(svg('polygon', { class: 'gondola-body', points: points(g.polygon) }));
      for (const s of g.shelves) {
        group.append(svg('polygon', { class: 'shelf', points: points(s.polygon), 'data-shelf': s.key }));
        for (const p of s.plates) {
          const plate = svg('polygon', { class: 'plate', points: points(p.polygon), 'data-plate': p.key });
          plate.append(svg('title', {}, [document.createTextNode(`plate ${p.key}`)]));
          view.plates.set(p.key, plate);
          group.append(plate);
        }
      }
      const [[x0, y0], [x1, y1]] = g.front;
      group.append(svg('line', { class: 'gondola-front', x1: Math.round(x0 * S), y1: Math.round(y0 * S), x2: Math.round(x1 * S), y2: Math.round(y1 * S) }));
      gondolas.append(group);
      const [cx, cy] = centre(g.polygon);
      zoneLabels.append(label(g.name, cx, cy + 0.07, 'gondola-label'));
    }
    root.append(gondolas);
    for (const gate of floor.gates) {
      const zone = floor.zones.find((z) => z.id === gate.zone);
      if (!zone) continue;
      zoneLabels.append(label(`⇅ ${gate.id}`, Math.min(...zone.polygon.map((p) => p[0])) + 0.08, Math.min(...zone.polygon.map((p) => p[1])) + 0.5, 'gate-label'));
    }
    root.append(zoneLabels);
    view.shoppers = svg('g', { class: 'plan-shoppers' });
    root.append(view.shoppers);
    view.svg = root;
    view.dots.clear();
    document.getElementById('floor').replaceChildren(root);
  }

  function drawShoppers() {
    if (!view.shoppers) return;
    const seen = new Set();
    for (const s of state.shoppers) {
      seen.add(s.id);
      let dot = view.dots.get(s.id);
      if (!dot) {
        dot = {
          group: svg('g', { class: 'shopper', 'data-id': s.id }),
          title: svg('title'),
          name: svg('text', { class: 'shopper-id', y: -4 }),
          token: svg('text', { class: 'shopper-token', y: 20 }),
        };
        dot.group.append(dot.title, svg('circle', { r: 20, class: 'shopper-dot' }), dot.name, dot.token);
        view.shoppers.append(dot.group);
        view.dots.set(s.id, dot);
      }
      dot.group.style.transform = `translate(${Math.round(s.x * S)}px, ${Math.round(s.y * S)}px)`;
      dot.group.classList.toggle('in-session', !!s.token);
      dot.group.classList.toggle('coasting', !s.seen);
      dot.group.classList.toggle('staff', !!s.staff);
      dot.group.setAttribute('data-token', s.token ?? '');
      // Labels beside the dot, on the side with room for them.
      const left = state.floor && s.x > state.floor.widthM - 1.6;
      for (const t of [dot.name, dot.token]) {
        t.setAttribute('x', left ? '-28' : '28');
        t.classList.toggle('left', !!left);
      }
      dot.name.textContent = s.id;
      dot.token.textContent = s.token ? short(s.token) : '';
      dot.title.textContent = `${s.id}${s.token ? ` · session ${s.token}` : ''}${s.staff ? ' · staff' : ''}${s.seen ? '' : ' · not seen now'} · (${s.x.toFixed(1)}, ${s.y.toFixed(1)}) m`;
    }
    for (const [id, dot] of view.dots) {
      if (seen.has(id)) continue;
      dot.group.remove();
      view.dots.delete(id);
    }
    view.svg.setAttribute('data-shoppers', String(view.dots.size));
  }

  const short = (token) => (token.length > 12 ? `${token.slice(0, 11)}…` : token);

  function kpi(id, title, value, note) {
    return el('div', { class: 'panel live-kpi', id }, [
      el('div', { class: 'muted', text: title }),
      el('div', { class: 'kpi', text: value, 'data-value': value }),
      note ? el('div', { class: 'muted live-note', text: note }) : null,
    ]);
  }

  function drawOccupancy() {
    const o = state.occupancy;
    if (!o) return;
    const f = o.footfall;
    document.getElementById('live-kpis').replaceChildren(
      kpi('kpi-occupancy', 'On the floor', String(o.occupancy), `${o.tracked} tracked`),
      kpi('kpi-sessions', 'Open sessions', String(o.openSessions), `${o.shoppersInSessions} shopper${o.shoppersInSessions === 1 ? '' : 's'} in them`),
      kpi('kpi-entries', 'Entries today', f ? String(f.entries) : '–', f ? 'gate passes in since midnight' : 'database closed'),
      kpi('kpi-exits', 'Exits today', f ? String(f.exits) : '–', f ? 'gate passes out since midnight' : null),
    );
  }

  function drawSessions() {
    const box = document.getElementById('sessions');
    if (state.sessions.length === 0) {
      box.replaceChildren(el('p', { class: 'muted', text: 'No open sessions.' }));
      return;
    }
    const currency = state.store?.currency ?? 'EUR';
    box.replaceChildren(
      ...state.sessions.map((s) => {
        const members = s.members.map((m) => el('span', { class: `badge ${m.present ? 'ok' : ''}`, text: m.present ? m.track : `${m.track} (left)`, title: `joined ${time(m.joinedAt)} (${m.how})` }));
        if (s.awaitingTracks > 0) members.push(el('span', { class: 'badge warn', text: `${s.awaitingTracks} awaiting track` }));
        const lines =
          s.lines.length === 0
            ? el('p', { class: 'muted', text: 'Cart empty.' })
            : el('table', { class: 'live-cart' }, [
                el('tbody', {}, [
                  ...s.lines.map((l) => el('tr', {}, [el('td', { text: l.name }), el('td', { class: 'num', text: `× ${l.quantity}` }), el('td', { class: 'num', text: money(l.quantity * l.price, currency) })])),
                  el('tr', { class: 'total' }, [el('td', { text: 'Total so far' }), el('td'), el('td', { class: 'num', text: money(s.total, currency) })]),
                ]),
              ]);
        return el('article', { class: 'live-session', 'data-token': s.token }, [
          el('div', { class: 'live-session-head' }, [el('strong', { text: s.token }), el('span', { class: 'muted', text: `since ${time(s.startedAt)} · ${s.gate}` })]),
          el('div', { class: 'live-members' }, members),
          lines,
        ]);
      }),
    );
  }

  function drawEvents() {
    const list = [...state.events.values()].sort((a, b) => b.id - a.id).slice(0, MAX_EVENTS);
    const box = document.getElementById('events');
    if (list.length === 0) {
      box.replaceChildren(el('p', { class: 'muted', text: 'Nothing yet: gate passes, picks and returns, receipts, alerts and screen cards appear here as they happen.' }));
      return;
    }
    box.replaceChildren(
      el('table', { class: 'live-events-table' }, [
        el('thead', {}, [el('tr', {}, [el('th', { text: 'Time' }), el('th', { text: 'What' }), el('th', { text: 'Detail' })])]),
        el('tbody', {}, list.map((e) => el('tr', { 'data-type': e.type }, [el('td', { class: 'muted', text: time(e.at) }), el('td', {}, [el('span', { class: `badge ${e.level}`, text: e.type })]), el('td', { text: e.text })]))),
      ]),
    );
  }

  function addEvent(e) {
    state.events.set(e.id, e);
    if (state.events.size > MAX_EVENTS * 2) {
      const keep = [...state.events.values()].sort((a, b) => b.id - a.id).slice(0, MAX_EVENTS);
      state.events = new Map(keep.map((x) => [x.id, x]));
    }
    for (const key of e.plates ?? []) {
      const plate = view.plates.get(key);
      if (!plate) continue;
      plate.classList.remove('flash');
      // Restarts the animation when the same plate changes again.
      void plate.getBoundingClientRect();
      plate.classList.add('flash');
      setTimeout(() => plate.classList.remove('flash'), 2500);
    }
  }

  function setConnected(up) {
    const badge = document.getElementById('live-state');
    badge.textContent = up ? 'live' : 'reconnecting…';
    badge.className = `badge ${up ? 'ok' : 'warn'}`;
    document.getElementById('page').setAttribute('data-connected', String(up));
  }

  async function loadSnapshot() {
    const snap = await api('GET', '/api/live');
    state.store = snap.store;
    try {
      clockFormat = new Intl.DateTimeFormat([], { timeZone: snap.store.timezone, hour: '2-digit', minute: '2-digit', second: '2-digit' });
    } catch {
      clockFormat = null;
    }
    if (JSON.stringify(snap.floor) !== JSON.stringify(state.floor)) {
      state.floor = snap.floor;
      drawFloor(snap.floor);
    }
    state.shoppers = snap.shoppers;
    state.sessions = snap.sessions;
    state.occupancy = snap.occupancy;
    for (const e of snap.events) state.events.set(e.id, e);
    drawShoppers();
    drawSessions();
    drawOccupancy();
    drawEvents();
  }

  function legend() {
    const item = (cls, text) => el('span', { class: 'live-legend-item' }, [el('span', { class: `legend-dot ${cls}` }), text]);
    document.getElementById('floor-legend').replaceChildren(item('in-session', 'in a session'), item('', 'not in a session'), item('coasting', 'not seen right now'), item('staff', 'staff'));
  }

  legend();
  loadSnapshot().catch((err) => window.admin.toast(`Could not load the store: ${err.message}`, 'error'));
  live.names = ['shoppers', 'event', 'sessions', 'occupancy'];
  let wasDown = false;
  live(
    '/api/live/events',
    (name, data) => {
      if (name === 'shoppers') {
        state.shoppers = data.shoppers;
        drawShoppers();
      } else if (name === 'event') {
        addEvent(data);
        drawEvents();
      } else if (name === 'sessions') {
        state.sessions = data.sessions;
        drawSessions();
      } else if (name === 'occupancy') {
        state.occupancy = data;
        drawOccupancy();
      }
    },
    (up) => {
      setConnected(up);
      if (up && wasDown) loadSnapshot().catch(() => {});
      wasDown = !up;
    },
  );
})();
