// The analytics page: a day or one hour on the store's own clock (its time zone, not the
// tablet's), fetched from /api/analytics/summary and drawn as charts, tables and the heatmap.
(function () {
  'use strict';
  const { api, el, money, toast } = window.admin;
  const HOUR = 3_600_000;
  const SVG = 'http://www.w3.org/2000/svg';
  const COLOURS = { blue: '#1f6feb', orange: '#e8590c', green: '#1a7f37', purple: '#8250df', grey: '#8c959f' };

  const form = document.getElementById('range');
  const dayInput = document.getElementById('day');
  const hourSelect = document.getElementById('hour');
  const errorBox = document.getElementById('analytics-error');
  const timeZone = form.dataset.timezone;

  // --- The store's wall clock ------------------------------------------------------------------
  const wallFormat = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const pad = (n) => String(n).padStart(2, '0');

  function wall(ms) {
    const p = {};
    for (const part of wallFormat.formatToParts(ms)) p[part.type] = Number(part.value);
    return p;
  }

  /** How far the store's clock is ahead of UTC at an instant. */
  function offsetAt(ms) {
    const p = wall(ms);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
  }

  /** The instant the store's clock shows day (YYYY-MM-DD) at hour h. */
  function instantOf(day, h) {
    const [y, m, d] = day.split('-').map(Number);
    const guess = Date.UTC(y, m - 1, d, h);
    // A second look: the offset at the answer can differ from the one at the guess near a clock change.
    return guess - offsetAt(guess - offsetAt(guess));
  }

  function todayInStore() {
    const p = wall(Date.now());
    return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
  }

  function addDays(day, n) {
    const [y, m, d] = day.split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
  }

  function rangeOf(day, hour) {
    if (hour === '') return { from: instantOf(day, 0), to: instantOf(addDays(day, 1), 0) };
    const from = instantOf(day, Number(hour));
    return { from, to: from + HOUR };
  }

  // --- Picking the range -----------------------------------------------------------------------
  function initialRange() {
    const q = new URLSearchParams(location.search);
    const day = q.get('day');
    const hour = q.get('hour');
    dayInput.value = day && /^\d{4}-\d{2}-\d{2}$/.test(day) ? day : todayInStore();
    hourSelect.value = hour !== null && /^\d{1,2}$/.test(hour) && Number(hour) < 24 ? String(Number(hour)) : '';
  }

  function remember() {
    const q = new URLSearchParams({ day: dayInput.value });
    if (hourSelect.value !== '') q.set('hour', hourSelect.value);
    history.replaceState(null, '', `${location.pathname}?${q}`);
  }

  const shiftDay = (n) => () => {
    dayInput.value = addDays(dayInput.value || todayInStore(), n);
    load();
  };
  document.getElementById('prev-day').addEventListener('click', shiftDay(-1));
  document.getElementById('next-day').addEventListener('click', shiftDay(1));
  document.getElementById('today').addEventListener('click', () => {
    dayInput.value = todayInStore();
    hourSelect.value = '';
    load();
  });
  dayInput.addEventListener('change', () => dayInput.value && load());
  hourSelect.addEventListener('change', () => load());
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load();
  });

  // --- Loading ---------------------------------------------------------------------------------
  let loading = 0;

  async function load() {
    if (!dayInput.value) return;
    remember();
    const { from, to } = rangeOf(dayInput.value, hourSelect.value);
    const query = `from=${encodeURIComponent(new Date(from).toISOString())}&to=${encodeURIComponent(new Date(to).toISOString())}`;
    const mine = ++loading;
    errorBox.textContent = '';
    document.getElementById('range-label').textContent =
      hourSelect.value === '' ? `${dayInput.value}, whole day (${timeZone})` : `${dayInput.value}, ${pad(hourSelect.value)}:00–${pad((Number(hourSelect.value) + 1) % 24)}:00 (${timeZone})`;
    showHeatmap(query);
    try {
      const summary = await api('GET', `/api/analytics/summary?${query}`);
      if (mine !== loading) return;
      render(summary);
    } catch (err) {
      if (mine !== loading) return;
      errorBox.textContent = `Could not load the analytics: ${err.message}`;
    }
  }

  // --- Drawing ---------------------------------------------------------------------------------
  const fixed = (v, digits = 1) => (v === null || v === undefined ? '–' : Number(v).toFixed(digits));
  const percent = (v) => (v === null || v === undefined ? '–' : `${Math.round(v * 1000) / 10} %`);
  const hourOf = (label) => label.slice(11, 16);

  function render(s) {
    renderKpis(s);
    renderFloor(s.floor);
    document.getElementById('heatmap-note').textContent =
      s.heatmap.occupiedCells > 0 ? `· ${Math.round(s.heatmap.occupancySeconds)} shopper-seconds over ${s.heatmap.occupiedCells} cells` : '· no shoppers seen in this range';
    renderHotSpots(s.heatmap.hotSpots, s.floor.zones);
    renderZones(s.zones);
    renderHours(s.hours);
    renderScreens(s.screens);
  }

  function renderKpis(s) {
    const f = s.footfall;
    const c = s.conversion;
    const kpi = (label, value, note) => el('div', { class: 'panel kpi-card' }, [el('div', { class: 'muted', text: label }), el('div', { class: 'kpi', text: value }), note ? el('div', { class: 'muted small', text: note }) : null]);
    document.getElementById('kpis').replaceChildren(
      kpi('Entries', String(f.entries), f.countedBy === 'gates' ? 'gate passes' : 'visits seen starting'),
      kpi('Visits', String(f.visits), `${f.visitsWithPick} with a pick`),
      kpi('Receipts', String(c.receipts), money(c.revenue, c.currency)),
      kpi('Conversion', percent(c.rate), 'receipts per visit'),
      kpi('Mean visit', f.meanVisitMinutes === null ? '–' : `${fixed(f.meanVisitMinutes)} min`),
      kpi('Peak on floor', String(f.peakOccupancy), 'shoppers at once'),
    );
  }

  function showHeatmap(query) {
    const img = document.getElementById('heatmap');
    img.onerror = () => (errorBox.textContent = 'The heatmap could not be drawn.');
    img.src = `/api/analytics/heatmap.png?${query}`;
  }

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** Zones and gondolas over the heat, so the colours read as places in the store. */
  function renderFloor(floor) {
    const svg = document.getElementById('heatmap-floor');
    svg.setAttribute('viewBox', `0 0 ${floor.widthM} ${floor.depthM}`);
    svg.setAttribute('preserveAspectRatio', 'none');
    const label = Math.max(floor.widthM, floor.depthM) / 45;
    const shapes = [];
    for (const g of floor.gondolas) {
      shapes.push(svgEl('polygon', { points: g.corners.map((p) => p.join(',')).join(' '), class: 'gondola' }));
    }
    for (const z of floor.zones) {
      shapes.push(svgEl('polygon', { points: z.polygon.map((p) => p.join(',')).join(' '), class: `zone ${z.type}` }));
      const xs = z.polygon.map((p) => p[0]);
      const ys = z.polygon.map((p) => p[1]);
      shapes.push(svgEl('text', { x: Math.min(...xs) + label * 0.4, y: Math.min(...ys) + label * 1.2, 'font-size': label, class: 'zone-label' }, z.name));
    }
    svg.replaceChildren(...shapes);
  }

  function inside(x, y, polygon) {
    let hit = false;
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
      const [xi, yi] = polygon[i];
      const [xj, yj] = polygon[j];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
    }
    return hit;
  }

  function renderHotSpots(spots, zones) {
    const rows = spots.map((p) => {
      const names = zones.filter((z) => inside(p.x, p.y, z.polygon)).map((z) => z.name);
      return el('tr', {}, [
        el('th', { scope: 'row', text: names.length ? names.join(' / ') : 'Open floor' }),
        el('td', { text: `${fixed(p.x)}, ${fixed(p.y)}` }),
        el('td', { text: fixed(p.seconds) }),
      ]);
    });
    if (rows.length === 0) rows.push(el('tr', {}, [el('td', { colspan: 3, class: 'muted', text: 'Nobody was seen on the floor.' })]));
    document.querySelector('#hotspots-table tbody').replaceChildren(...rows);
  }

  const charts = {};

  function chart(id, config) {
    charts[id]?.destroy();
    charts[id] = new Chart(document.getElementById(id), {
      ...config,
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { position: 'bottom' } },
        ...config.options,
      },
    });
  }

  function renderZones(zones) {
    chart('dwell-chart', {
      type: 'bar',
      data: {
        labels: zones.map((z) => z.name),
        datasets: [
          { label: 'Visits', data: zones.map((z) => z.visits), backgroundColor: COLOURS.blue, yAxisID: 'visits' },
          { label: 'Mean dwell (s)', data: zones.map((z) => z.meanDwellSeconds ?? 0), backgroundColor: COLOURS.orange, yAxisID: 'seconds' },
          { label: 'Median dwell (s)', data: zones.map((z) => z.medianDwellSeconds ?? 0), backgroundColor: COLOURS.purple, yAxisID: 'seconds' },
        ],
      },
      options: {
        scales: {
          visits: { position: 'left', beginAtZero: true, title: { display: true, text: 'visits' }, ticks: { precision: 0 } },
          seconds: { position: 'right', beginAtZero: true, title: { display: true, text: 'seconds' }, grid: { drawOnChartArea: false } },
        },
      },
    });
    const rows = zones.map((z) =>
      el('tr', {}, [
        el('th', { scope: 'row', text: z.name }),
        el('td', { text: String(z.visits) }),
        el('td', { text: fixed(z.meanDwellSeconds) }),
        el('td', { text: fixed(z.medianDwellSeconds) }),
        el('td', { text: z.visits > 0 ? fixed(z.maxDwellSeconds) : '–' }),
        el('td', { text: String(z.withPick) }),
      ]),
    );
    document.querySelector('#zones-table tbody').replaceChildren(...rows);
  }

  function renderHours(hours) {
    const labels = hours.map((h) => hourOf(h.hour));
    chart('footfall-chart', {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { label: 'Gate entries', data: hours.map((h) => h.gateEntries), backgroundColor: COLOURS.blue },
          { label: 'Visits started', data: hours.map((h) => h.visitsStarted), backgroundColor: COLOURS.green },
        ],
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    chart('conversion-chart', {
      type: 'line',
      data: {
        labels,
        datasets: [
          {
            label: 'Receipts per visit (%)',
            data: hours.map((h) => (h.conversion === null ? null : Math.round(h.conversion * 1000) / 10)),
            borderColor: COLOURS.orange,
            backgroundColor: COLOURS.orange,
            pointRadius: 4,
            spanGaps: false,
          },
        ],
      },
      options: { scales: { y: { beginAtZero: true, suggestedMax: 100, title: { display: true, text: '%' } } } },
    });
    const active = hours.filter((h) => h.gateEntries + h.gateExits + h.visitsStarted + h.receipts + h.peakOccupancy > 0);
    const rows = active.map((h) =>
      el('tr', {}, [
        el('th', { scope: 'row', text: hourOf(h.hour) }),
        el('td', { text: String(h.gateEntries) }),
        el('td', { text: String(h.gateExits) }),
        el('td', { text: String(h.visitsStarted) }),
        el('td', { text: String(h.receipts) }),
        el('td', { text: percent(h.conversion) }),
        el('td', { text: String(h.peakOccupancy) }),
      ]),
    );
    if (rows.length === 0) rows.push(el('tr', {}, [el('td', { colspan: 7, class: 'muted', text: 'No activity in this range.' })]));
    document.querySelector('#hours-table tbody').replaceChildren(...rows);
  }

  function renderScreens(screens) {
    const box = document.getElementById('screens');
    if (screens.length === 0) {
      box.replaceChildren(el('p', { class: 'muted', text: 'This store has no shelf screens.' }));
      return;
    }
    box.replaceChildren(
      ...screens.map((s) => {
        const triggers = Object.entries(s.byTrigger).sort((a, b) => b[1] - a[1]);
        const uplift =
          s.uplift === null
            ? el('div', { class: 'kpi', text: '–' })
            : el('div', { class: `kpi ${s.uplift >= 1 ? 'up' : 'down'}`, text: `×${fixed(s.uplift, 2)}` });
        return el('article', { class: 'panel screen-card', 'data-screen': s.screen }, [
          el('h3', { text: s.name }),
          el('p', { class: 'muted small', text: s.screen }),
          el('dl', {}, [
            el('dt', { text: 'Cards shown' }),
            el('dd', { class: 'shown', text: String(s.shown) }),
            el('dt', { text: 'By trigger' }),
            el('dd', { class: 'triggers' }, triggers.length ? triggers.map(([t, n]) => el('span', { class: 'badge', text: `${t} ${n}` })) : [el('span', { class: 'muted', text: 'none' })]),
            el('dt', { text: 'Attributed picks' }),
            el('dd', { class: 'picks', text: String(s.attributedPicks) }),
            el('dt', { text: 'Uplift' }),
            el('dd', { class: 'uplift' }, [
              uplift,
              el('span', {
                class: 'muted small',
                text:
                  s.uplift === null
                    ? s.idle.exposures === 0
                      ? 'no idle cards to compare with'
                      : 'no picks on idle cards to compare with'
                    : `${fixed(s.triggered.perExposure, 2)} picks per triggered card (${s.triggered.exposures}), ${fixed(s.idle.perExposure, 2)} per idle card (${s.idle.exposures})`,
              }),
            ]),
          ]),
        ]);
      }),
    );
  }

  if (typeof Chart === 'undefined') {
    errorBox.textContent = 'The chart library did not load.';
    toast('Charts unavailable', 'error');
  }
  initialRange();
  load();
})();
