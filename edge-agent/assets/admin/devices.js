// Devices page: every camera, shelf controller, RFID reader, gate and screen from /api/devices,
// refreshed every few seconds; camera snapshots with the people vision found drawn on them.
(function () {
  'use strict';
  const { api, el, time } = window.admin;
  const REFRESH_MS = 3000;
  const cards = new Map();

  const fmt = (v, digits = 0) => (v === null || v === undefined ? '—' : Number(v).toLocaleString(undefined, { maximumFractionDigits: digits }));

  function age(at, now) {
    if (at === null || at === undefined) return '—';
    const s = Math.max(0, Math.round((now - at) / 1000));
    const ago = s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
    return `${time(at)} (${ago})`;
  }

  function badge(device) {
    const label = device.status === 'up' ? 'online' : device.status === 'unknown' ? 'unknown' : device.online === false || device.status === 'down' ? 'offline' : 'degraded';
    return el('span', { class: `badge ${device.status}`, text: label });
  }

  function availability(device) {
    const a = device.availability;
    if (a) return `${a.online ? 'online' : 'offline'} since ${time(a.at)}${a.reason ? ` — ${a.reason}` : ''}`;
    return device.detail ?? '';
  }

  function table(headers, rows) {
    if (rows.length === 0) return el('p', { class: 'muted', text: 'None configured.' });
    return el('div', { class: 'table-wrap' }, el('table', { class: 'devices-table' }, [
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', { text: h })))),
      el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c) => el('td', {}, c))))),
    ]));
  }

  function metricList(pairs) {
    return el(
      'dl',
      { class: 'device-metrics' },
      pairs.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]),
    );
  }

  async function loadSnapshot(card, id) {
    try {
      const res = await fetch(`/api/devices/cameras/${encodeURIComponent(id)}/snapshot.jpg`, { credentials: 'same-origin', cache: 'no-store' });
      if (res.ok) {
        const url = URL.createObjectURL(await res.blob());
        card.img.onload = () => {
          if (card.url) URL.revokeObjectURL(card.url);
          card.url = url;
        };
        card.img.src = url;
        card.img.hidden = false;
        const people = Number(res.headers.get('x-people') ?? 0);
        card.note.textContent = `${people === 1 ? '1 person' : `${people} people`} on this frame, ${time(Number(res.headers.get('x-frame-at')))}`;
        card.frame.classList.add('has-frame');
      } else {
        const body = await res.json().catch(() => ({}));
        card.img.hidden = true;
        card.frame.classList.remove('has-frame');
        card.note.textContent = body.error || `no snapshot (${res.status})`;
      }
    } catch {
      card.note.textContent = 'snapshot unavailable';
    }
  }

  function cameraCard(cam) {
    let card = cards.get(cam.id);
    if (!card) {
      const img = el('img', { alt: `Latest frame of ${cam.name}`, class: 'snapshot', hidden: true });
      const note = el('p', { class: 'muted snapshot-note', text: 'waiting for a frame…' });
      const frame = el('div', { class: 'snapshot-frame' }, [img]);
      const title = el('h3', {}, [cam.name, ' ']);
      const status = el('span');
      const metrics = el('div');
      const root = el('article', { class: 'camera-card', 'data-camera': cam.id }, [el('header', {}, [title, status]), frame, note, metrics]);
      card = { root, img, note, frame, status, metrics, shownAt: undefined, url: undefined };
      cards.set(cam.id, card);
    }
    return card;
  }

  function renderCameras(view) {
    const box = document.getElementById('cameras');
    const cams = view.devices.filter((d) => d.kind === 'camera');
    if (cams.length === 0) {
      box.replaceChildren(el('p', { class: 'muted', text: 'No cameras configured.' }));
      return;
    }
    const roots = [];
    for (const cam of cams) {
      const card = cameraCard(cam);
      const m = cam.metrics;
      card.status.replaceChildren(badge(cam));
      card.metrics.replaceChildren(
        metricList([
          ['Availability', availability(cam) || '—'],
          ['Last frame', age(cam.lastSampleAt, view.at)],
          ['Frames per second', fmt(m.fps, 1)],
          ['Frames dropped', fmt(m.framesDropped)],
          ['Reconnects (ffmpeg restarts)', fmt(cam.reconnects)],
          ['Inference p50 / p95', m.inferenceMsP50 === null ? (m.tracked ? 'no detections yet' : 'not tracked') : `${fmt(m.inferenceMsP50, 1)} / ${fmt(m.inferenceMsP95, 1)} ms`],
          ['People tracked', fmt(m.people)],
          ['Floor calibration', m.calibrated === null ? '—' : m.calibrated ? 'in use' : m.visionProblem || 'none'],
        ]),
      );
      if (m.snapshotAt === null) {
        card.img.hidden = true;
        card.frame.classList.remove('has-frame');
        card.note.textContent = `No frame from this camera yet${cam.detail ? ` — ${cam.detail}` : ''}`;
      } else if (m.snapshotAt !== card.shownAt) {
        card.shownAt = m.snapshotAt;
        void loadSnapshot(card, cam.id);
      }
      roots.push(card.root);
    }
    box.replaceChildren(...roots);
  }

  function render(view) {
    renderCameras(view);
    const of = (kind) => view.devices.filter((d) => d.kind === kind);
    document.getElementById('shelves').replaceChildren(
      table(
        ['Controller', 'Status', 'Last sample', 'Samples', 'Parse errors', 'Reconnects', 'Dropped ticks', 'Plate errors', 'Detail'],
        of('shelf').map((d) => [
          el('strong', { text: d.name }),
          badge(d),
          age(d.lastSampleAt, view.at),
          fmt(d.metrics.samples),
          fmt(d.parseErrors),
          fmt(d.reconnects),
          fmt(d.metrics.droppedTicks ?? d.metrics.timeouts),
          fmt(d.metrics.plateErrors ?? d.metrics.exceptions),
          el('span', { class: 'muted', text: availability(d) }),
        ]),
      ),
    );
    document.getElementById('readers').replaceChildren(
      table(
        ['Reader', 'Status', 'Last read', 'Reads', 'Parse errors', 'Reconnects'],
        of('rfid').map((d) => [el('span', {}, [el('strong', { text: d.name }), el('br'), el('span', { class: 'muted', text: d.metrics.protocol })]), badge(d), age(d.lastSampleAt, view.at), fmt(d.metrics.reads), fmt(d.parseErrors), fmt(d.reconnects)]),
      ),
    );
    document.getElementById('gates').replaceChildren(
      table(
        ['Gate', 'Status', 'Last event', 'Scans', 'Passes', 'Parse errors', 'Reconnects'],
        of('gate').map((d) => [el('span', {}, [el('strong', { text: d.name }), el('br'), el('span', { class: 'muted', text: d.metrics.kind })]), badge(d), age(d.lastSampleAt, view.at), fmt(d.metrics.scans), fmt(d.metrics.passes), fmt(d.parseErrors), fmt(d.reconnects)]),
      ),
    );
    document.getElementById('screens').replaceChildren(
      table(
        ['Screen', 'Status', 'Browsers connected', 'Last card'],
        of('screen').map((d) => [el('strong', { text: d.name }), badge(d), fmt(d.metrics.connected), age(d.lastSampleAt, view.at)]),
      ),
    );
    const v = view.vision;
    document.getElementById('devices-vision').textContent = `· vision ${v.model ? `(${v.model}) ` : ''}${v.status}${v.detail ? `: ${v.detail}` : ''}`;
    document.getElementById('devices-updated').textContent = `Updated ${time(view.at)}`;
  }

  async function refresh() {
    try {
      render(await api('GET', '/api/devices'));
    } catch (err) {
      document.getElementById('devices-updated').textContent = `Could not refresh: ${err.message}`;
    } finally {
      setTimeout(refresh, REFRESH_MS);
    }
  }

  void refresh();
})();
