// Calibration page: the load-cell wizard (staff) on the running agent's live readings, camera
// floor point pairs (admin) and the planogram by plate (everyone). The server keeps the wizard's
// state; this script shows it and sends the operator's steps.
(function () {
  'use strict';
  const { api, el, money, time, role, toast } = window.admin;
  const RANK = { viewer: 0, staff: 1, admin: 2 };
  const may = (least) => (RANK[role()] ?? -1) >= RANK[least];
  const fmt = (v, digits = 1) => (v === null || v === undefined ? '—' : Number(v).toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  const grams = (v) => (v === null || v === undefined ? 'no reading' : `${fmt(v, 1)} g`);

  // --- load-cell wizard --------------------------------------------------------------------

  const wizard = {
    plates: [],
    wizards: [],
    timing: { settleMs: 500, measureMs: 2000, checkMs: 600 },
    selected: new URLSearchParams(location.search).get('plate') || '',
    busy: null,
    error: '',
    saved: null,
    knownGrams: 500,
  };

  const plateInfo = () => wizard.plates.find((p) => p.plate === wizard.selected);
  const serverStep = () => wizard.wizards.find((w) => w.plate === wizard.selected);

  function fillPlateSelect() {
    const select = document.getElementById('wizard-plate');
    if (select.options.length > 0) return;
    const byShelf = new Map();
    for (const p of wizard.plates) byShelf.set(p.shelf, [...(byShelf.get(p.shelf) ?? []), p]);
    for (const [shelf, plates] of byShelf) {
      select.append(
        el(
          'optgroup',
          { label: `Shelf ${shelf}` },
          plates.map((p) => el('option', { value: p.plate, text: `${p.plate}${p.products.length ? ` — ${p.products.join(', ')}` : ''}` })),
        ),
      );
    }
    if (!wizard.plates.some((p) => p.plate === wizard.selected)) wizard.selected = wizard.plates[0]?.plate ?? '';
    select.value = wizard.selected;
    select.addEventListener('change', () => {
      wizard.selected = select.value;
      wizard.error = '';
      wizard.saved = null;
      wizard.shown = undefined;
      renderWizard();
    });
  }

  function renderLive() {
    const p = plateInfo();
    const live = document.getElementById('wizard-live');
    if (!p) {
      live.textContent = '';
      return;
    }
    const c = p.calibration;
    live.replaceChildren(
      el('span', { class: 'cal-reading', 'data-testid': 'plate-reading', text: `Now: ${grams(p.grams)}` }),
      el('span', { text: c ? ` · calibrated ${new Date(c.calibratedAt).toLocaleString()} by ${c.operator}` : ' · not calibrated' }),
    );
    const saved = document.querySelector('[data-testid="saved-reading"]');
    if (saved) saved.textContent = grams(p.grams);
  }

  function stepItem(n, title, state, children) {
    return el('li', { class: `cal-step ${state}`, 'data-step': String(n) }, [el('h3', {}, [el('span', { class: 'cal-step-n', text: String(n) }), title]), ...children]);
  }

  function measuringNote(what, ms) {
    return el('p', { class: 'cal-measuring', role: 'status', text: `${what}: measuring for about ${Math.round(ms / 100) / 10} s — keep hands off the shelf…` });
  }

  function renderWizard() {
    const box = document.getElementById('wizard-steps');
    renderLive();
    const p = plateInfo();
    if (!p) {
      box.replaceChildren(el('p', { class: 'muted', text: 'No plates in this store.' }));
      return;
    }
    const w = serverStep();
    const tared = w && w.zero;
    const result = w && w.result;
    const busy = wizard.busy;
    const t = wizard.timing;

    const tareButton = el('button', { type: 'button', class: tared ? '' : 'primary', id: 'tare', disabled: busy !== null, onclick: () => void step('tare') }, tared ? 'Tare again' : 'Tare');
    const step1 = stepItem(1, 'Empty the plate', tared ? 'done' : 'current', [
      el('p', { text: `Take everything off plate ${p.plate} and keep hands off the shelf, then press Tare.` }),
      busy === 'tare' ? measuringNote('Tare', t.settleMs + t.measureMs) : null,
      tared ? el('p', { class: 'cal-value', 'data-testid': 'tare-result', text: `Zero: ${fmt(w.zero.counts, 0)} counts (noise ±${fmt(w.zero.spreadCounts, 1)} counts, ${w.zero.samples} samples)` }) : null,
      tareButton,
    ]);

    const known = el('input', { id: 'known-grams', type: 'number', min: '1', step: 'any', inputmode: 'decimal', value: String(wizard.knownGrams), 'aria-label': 'Known mass in grams' });
    known.addEventListener('input', () => (wizard.knownGrams = Number(known.value)));
    const spanButton = el('button', { type: 'button', class: tared && !result ? 'primary' : '', id: 'span', disabled: !tared || busy !== null, onclick: () => void step('span') }, result ? 'Span again' : 'Span');
    const step2 = stepItem(2, 'Put the known mass on the plate', !tared ? 'todo' : result ? 'done' : 'current', [
      el('p', { text: `Put a reference mass in the middle of plate ${p.plate}, take your hand away, then press Span.` }),
      el('div', { class: 'cal-row' }, [el('label', { for: 'known-grams', text: 'Known mass (g)' }), known, spanButton]),
      busy === 'span' ? measuringNote('Span', t.settleMs + t.measureMs + t.checkMs) : null,
    ]);

    const step3Children = [];
    if (result) {
      const check = result.check;
      const off = check.grams - result.knownMassGrams;
      step3Children.push(
        el('table', { class: 'cal-result', 'data-testid': 'span-result' }, [
          el('tbody', {}, [
            row('Offset (zero)', `${fmt(result.zeroCounts, 1)} counts`),
            row('Grams per count', fmt(result.gramsPerCount, 6)),
            row('Counts per gram', fmt(result.countsPerGram, 3)),
            row('Noise empty / loaded', `±${fmt(result.zeroNoiseGrams, 2)} g / ±${fmt(result.loadedNoiseGrams, 2)} g`),
            row(`Check: ${fmt(result.knownMassGrams, 0)} g reads`, `${fmt(check.grams, 1)} g (${off >= 0 ? '+' : ''}${fmt(off, 1)} g)`, 'check-reading'),
            row('With the calibration in force', check.withCalibrationInForce === null ? 'no calibration' : `${fmt(check.withCalibrationInForce, 1)} g`),
          ]),
        ]),
        el('div', { class: 'cal-actions' }, [
          el('button', { type: 'button', class: 'primary', id: 'save', disabled: busy !== null, onclick: () => void step('save') }, 'Save calibration'),
          el('button', { type: 'button', id: 'restart', disabled: busy !== null, onclick: () => void step('cancel') }, 'Start over'),
        ]),
      );
    } else {
      step3Children.push(el('p', { class: 'muted', text: 'The offset, grams per count and a check reading of the known mass appear here after the span.' }));
    }
    const step3 = stepItem(3, 'Check and save', result ? 'current' : 'todo', step3Children);

    const children = [el('ol', { class: 'cal-steps' }, [step1, step2, step3])];
    if (wizard.error) children.push(el('p', { class: 'error', role: 'alert', 'data-testid': 'wizard-error', text: wizard.error }));
    if (wizard.saved && wizard.saved.plate === p.plate) {
      children.push(
        el('p', { class: 'cal-saved', role: 'status', 'data-testid': 'wizard-saved' }, [
          `Saved: plate ${p.plate} calibrated by ${wizard.saved.calibration.operator} at ${time(wizard.saved.calibration.calibratedAt)} ` +
            `(offset ${fmt(wizard.saved.calibration.zeroCounts, 0)} counts, ${fmt(1 / wizard.saved.calibration.countsPerGram, 6)} g per count). It reads `,
          el('strong', { 'data-testid': 'saved-reading', text: grams(p.grams) }),
          ' now.',
        ]),
      );
    }
    box.replaceChildren(...children);
  }

  function row(label, value, testid) {
    return el('tr', {}, [el('th', { text: label }), el('td', { text: value, 'data-testid': testid })]);
  }

  async function step(action) {
    const plate = wizard.selected;
    wizard.error = '';
    wizard.busy = action === 'tare' || action === 'span' ? action : 'other';
    if (action !== 'save') wizard.saved = null;
    renderWizard();
    try {
      const url = `/api/calibration/plates/${encodeURIComponent(plate)}/${action}`;
      if (action === 'span') {
        if (!(wizard.knownGrams > 0)) throw new Error('enter the known mass in grams (more than 0)');
        await api('POST', url, { knownGrams: wizard.knownGrams });
      } else if (action === 'save') {
        wizard.saved = await api('POST', url);
        toast(`Plate ${plate} calibrated`);
      } else await api('POST', url);
    } catch (err) {
      wizard.error = err.message;
    } finally {
      wizard.busy = null;
      wizard.shown = undefined;
      await loadPlates();
    }
  }

  async function loadPlates() {
    try {
      const data = await api('GET', '/api/calibration/plates');
      wizard.plates = data.plates;
      wizard.wizards = data.wizards;
      wizard.timing = data.timing;
      fillPlateSelect();
      // Re-render the steps only when they changed, so typing in the mass field is not interrupted.
      const shown = JSON.stringify([wizard.selected, serverStep() ?? null, wizard.error, wizard.busy, wizard.saved && wizard.saved.plate]);
      if (wizard.busy === null && shown !== wizard.shown) {
        wizard.shown = shown;
        renderWizard();
      } else renderLive();
    } catch (err) {
      wizard.error = err.message;
      renderWizard();
    }
  }

  // --- camera point pairs ------------------------------------------------------------------

  const cams = { list: [], selected: '', rows: [], solution: null, error: '', note: '' };

  function pairRow(values = {}) {
    const input = (axis, label) => el('input', { type: 'number', step: 'any', inputmode: 'decimal', 'aria-label': label, value: values[axis] ?? '', 'data-axis': axis });
    const tr = el('tr', { class: 'pair-row' }, [
      el('td', { class: 'pair-n' }),
      el('td', {}, input('u', 'image u (px)')),
      el('td', {}, input('v', 'image v (px)')),
      el('td', {}, input('x', 'floor x (m)')),
      el('td', {}, input('y', 'floor y (m)')),
      el('td', { class: 'pair-error' }),
      el('td', {}, el('button', { type: 'button', class: 'danger', 'aria-label': 'Remove pair', text: '✕', onclick: () => {
        tr.remove();
        numberRows();
      } })),
    ]);
    return tr;
  }

  function numberRows() {
    document.querySelectorAll('#pairs-body tr').forEach((tr, i) => (tr.querySelector('.pair-n').textContent = String(i + 1)));
  }

  function readPairs() {
    const pairs = [];
    for (const tr of document.querySelectorAll('#pairs-body tr')) {
      const cells = [...tr.querySelectorAll('input')].map((i) => i.value.trim());
      if (cells.every((c) => c === '')) continue;
      const [u, v, x, y] = cells.map((c) => (c === '' ? null : Number(c)));
      pairs.push({ u, v, x, y });
    }
    return pairs;
  }

  function pairsBody() {
    const input = document.getElementById('pairs-mount');
    const mount = input && input.value.trim() !== '' ? { heightM: Number(input.value) } : undefined;
    return { pairs: readPairs(), ...(mount ? { mount } : {}) };
  }

  function showSolution(solution) {
    cams.solution = solution;
    const rows = document.querySelectorAll('#pairs-body tr');
    let k = 0;
    for (const tr of rows) {
      const blank = [...tr.querySelectorAll('input')].every((i) => i.value.trim() === '');
      const cell = tr.querySelector('.pair-error');
      if (blank) {
        cell.textContent = '';
        continue;
      }
      const p = solution.pairs[k++];
      tr.classList.toggle('outlier', !p.inlier);
      cell.textContent = `${fmt(p.errorM * 100, 1)} cm · ${fmt(p.errorPx, 1)} px${p.inlier ? '' : ' — outlier: check this mark'}`;
    }
    const summary = document.getElementById('pairs-summary');
    const parts = [
      el('p', { 'data-testid': 'reprojection' }, [
        el('strong', { text: `Reprojection error: rms ${fmt(solution.rmsErrorM * 100, 1)} cm (${fmt(solution.rmsErrorPx, 2)} px), max ${fmt(solution.maxErrorM * 100, 1)} cm` }),
        ` — ${solution.inliers} of ${solution.pairs.length} pairs agree within ${fmt(solution.ransacThresholdM * 100, 0)} cm.`,
      ]),
    ];
    if (solution.warning) parts.push(el('p', { class: 'muted', text: solution.warning }));
    if (solution.file) parts.push(el('p', { class: 'cal-saved', text: solution.note }));
    summary.replaceChildren(...parts);
  }

  function renderCameraEditor() {
    const box = document.getElementById('camera-editor');
    const cam = cams.list.find((c) => c.id === cams.selected);
    if (!cam) {
      box.replaceChildren(el('p', { class: 'muted', text: 'No overhead or entrance cameras configured.' }));
      return;
    }
    const state = document.getElementById('camera-state');
    state.textContent = ` ${cam.detectSize.width}×${cam.detectSize.height} px · ${cam.inUse ? 'floor calibration in use' : cam.visionProblem || cam.fileProblem || 'not calibrated'}`;
    const body = el('tbody', { id: 'pairs-body' });
    const start = cam.current ? cam.current.pairs : [];
    for (const p of start) body.append(pairRow(p));
    for (let i = start.length; i < 4; i++) body.append(pairRow());
    const paste = el('textarea', { id: 'pairs-paste', rows: '3', placeholder: 'or paste lines of u,v,x,y', 'aria-label': 'Paste pairs as u,v,x,y lines' });
    box.replaceChildren(
      el('table', { class: 'pairs-table' }, [
        el('thead', {}, el('tr', {}, ['#', 'u (px)', 'v (px)', 'x (m)', 'y (m)', 'error', ''].map((h) => el('th', { text: h })))),
        body,
      ]),
      el('div', { class: 'cal-actions' }, [
        el('button', { type: 'button', id: 'add-pair', onclick: () => {
          body.append(pairRow());
          numberRows();
        } }, 'Add pair'),
        paste,
        el('button', { type: 'button', id: 'use-paste', onclick: () => {
          for (const tr of [...body.querySelectorAll('tr')]) if ([...tr.querySelectorAll('input')].every((i) => i.value.trim() === '')) tr.remove();
          for (const line of paste.value.split(/\r?\n/)) {
            const cells = line.split(/[,;\t ]+/).filter((c) => c !== '');
            if (cells.length === 0 || line.trim().startsWith('#')) continue;
            body.append(pairRow({ u: cells[0], v: cells[1], x: cells[2], y: cells[3] }));
          }
          paste.value = '';
          numberRows();
        } }, 'Add pasted'),
      ]),
      el('div', { class: 'cal-row' }, [
        el('label', { for: 'pairs-mount', text: 'Lens height (m, optional)' }),
        el('input', { id: 'pairs-mount', type: 'number', step: 'any', min: '0', value: cam.current && cam.current.mount ? cam.current.mount.heightM : '' }),
      ]),
      el('div', { class: 'cal-actions' }, [
        el('button', { type: 'button', class: 'primary', id: 'solve', onclick: () => void solve(false) }, 'Solve'),
        el('button', { type: 'button', id: 'save-camera', onclick: () => void solve(true) }, 'Save calibration'),
      ]),
      el('p', { class: 'error', id: 'pairs-error', role: 'alert' }),
      el('div', { id: 'pairs-summary' }, cam.current ? [el('p', { class: 'muted', text: `Saved ${cam.current.createdAt} by ${cam.current.operator}: rms ${fmt(cam.current.rmsErrorM * 100, 1)} cm. File: ${cam.file}` })] : [el('p', { class: 'muted', text: `Saving writes ${cam.file}.` })]),
    );
    numberRows();
  }

  async function solve(save) {
    const error = document.getElementById('pairs-error');
    error.textContent = '';
    try {
      const solution = await api('POST', `/api/calibration/cameras/${encodeURIComponent(cams.selected)}/${save ? 'save' : 'solve'}`, pairsBody());
      showSolution(solution);
      if (save) toast(`Camera ${cams.selected} calibration saved`);
    } catch (err) {
      error.textContent = err.message;
    }
  }

  async function loadCameras() {
    try {
      const data = await api('GET', '/api/calibration/cameras');
      cams.list = data.cameras;
      const select = document.getElementById('camera-select');
      select.replaceChildren(...cams.list.map((c) => el('option', { value: c.id, text: `${c.name} (${c.id})` })));
      cams.selected = cams.list[0]?.id ?? '';
      select.value = cams.selected;
      select.addEventListener('change', () => {
        cams.selected = select.value;
        renderCameraEditor();
      });
      renderCameraEditor();
    } catch (err) {
      document.getElementById('camera-editor').replaceChildren(el('p', { class: 'error', text: err.message }));
    }
  }

  // --- planogram ---------------------------------------------------------------------------

  async function loadPlanogram() {
    const box = document.getElementById('planogram-view');
    try {
      const data = await api('GET', '/api/calibration/planogram');
      box.replaceChildren(
        ...data.gondolas.map((g) =>
          el('div', { class: 'gondola' }, [
            el('h3', { text: `Gondola ${g.id}` }),
            el('table', { class: 'planogram-table' }, [
              el('thead', {}, el('tr', {}, ['Plate', 'Products', 'Now'].map((h) => el('th', { text: h })))),
              el(
                'tbody',
                {},
                g.shelves.flatMap((s) =>
                  s.plates.map((p) =>
                    el('tr', { 'data-plate': p.plate }, [
                      el('td', { text: p.plate }),
                      el(
                        'td',
                        {},
                        p.products.length === 0
                          ? el('span', { class: 'muted', text: 'empty' })
                          : p.products.map((x) => el('div', { class: 'product' }, [el('strong', { text: x.name }), el('span', { class: 'muted', text: ` · ${fmt(x.unitWeight, 0)} g · ${money(x.price, data.currency)}` })])),
                      ),
                      el('td', { class: 'grams', text: grams(p.grams) }),
                    ]),
                  ),
                ),
              ),
            ]),
          ]),
        ),
      );
    } catch (err) {
      box.replaceChildren(el('p', { class: 'error', text: err.message }));
    }
  }

  function every(ms, fn) {
    const run = async () => {
      await fn();
      setTimeout(run, ms);
    };
    void run();
  }

  if (may('staff')) {
    document.getElementById('scale-wizard').hidden = false;
    every(1500, loadPlates);
  }
  if (may('admin')) {
    document.getElementById('camera-pairs').hidden = false;
    void loadCameras();
  }
  every(5000, loadPlanogram);
})();
