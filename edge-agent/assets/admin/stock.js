(function () {
  'use strict';
  const { api, el, role, toast, time } = window.admin;
  const mayAct = role() === 'staff' || role() === 'admin';
  const LABELS = { 'out-of-stock': 'Out of stock', 'low-stock': 'Low stock', misplaced: 'Item on the wrong plate', 'plate-implausible': 'Plate reading implausible', 'device-down': 'Device down', 'disk-low': 'Disk low', 'disk-critical': 'Disk critically full', 'sync-backlog': 'Cloud backlog', 'clock-jump': 'Clock jumped', 'rfid-exit-unowned': 'Tag left with nobody', 'rfid-exit': 'Tag through the exit' };
  const badge = { open: 'bad', acknowledged: 'warn', resolved: 'ok' };

  async function loadAlerts() {
    const { alerts } = await api('GET', '/api/alerts');
    document.querySelector('#alerts tbody').replaceChildren(
      ...alerts.map((a) =>
        el('tr', { 'data-alert': a.id, 'data-kind': a.kind, 'data-state': a.state }, [
          el('td', { text: time(a.at) }),
          el('td', { text: LABELS[a.kind] ?? a.kind }),
          el('td', { text: a.detail && a.detail.product ? `${a.subject} · ${a.detail.product}${a.detail.units !== undefined ? ` (${a.detail.units} left)` : ''}` : a.subject }),
          el('td', {}, [el('span', { class: `badge ${badge[a.state] ?? ''}`, text: a.state })]),
          el('td', {}, [
            mayAct && a.state === 'open'
              ? el('button', {
                  type: 'button',
                  text: 'Acknowledge',
                  onclick: async () => {
                    try {
                      await api('POST', `/api/alerts/${a.id}/acknowledge`);
                    } catch (err) {
                      toast(err.message, 'error');
                    }
                    loadAlerts();
                  },
                })
              : null,
          ]),
        ]),
      ),
    );
  }

  async function loadStock() {
    const data = await api('GET', '/api/stock');
    const select = document.getElementById('restock-shelf');
    if (select.options.length === 0) select.replaceChildren(el('option', { value: '*', text: 'the whole store' }), ...data.shelves.map((s) => el('option', { value: s, text: `shelf ${s}` })));
    document.getElementById('restocking').replaceChildren(
      ...data.restocking.map((r) =>
        el('li', {}, [
          `${r.shelf === '*' ? 'the whole store' : `shelf ${r.shelf}`} until ${time(r.until)} (${r.by}) `,
          mayAct ? el('button', { type: 'button', text: 'Stop', onclick: async () => { await api('POST', '/api/stock/restock/stop', { shelf: r.shelf }); loadStock(); } }) : null,
        ]),
      ),
    );
    document.querySelector('#facings tbody').replaceChildren(
      ...data.facings.map((f) =>
        el('tr', { 'data-plate': f.plate, 'data-state': f.state }, [
          el('td', { text: f.plate }),
          el('td', { text: f.misplaced.length ? `${f.name} (+ ${f.misplaced.map((m) => `${m.count} × ${m.product}`).join(', ')})` : f.name }),
          el('td', { text: f.units === null ? '–' : String(f.units) }),
          el('td', { text: f.sigma === null ? '' : f.sigma.toFixed(2) }),
          el('td', {}, [el('span', { class: `badge ${f.state === 'ok' ? 'ok' : f.state === 'low' ? 'warn' : f.state === 'not read yet' ? '' : 'bad'}`, text: f.state })]),
        ]),
      ),
    );
  }

  const form = document.getElementById('restock');
  if (!mayAct) form.hidden = true;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const error = document.getElementById('restock-error');
    error.textContent = '';
    const data = new FormData(form);
    try {
      await api('POST', '/api/stock/restock', { shelf: String(data.get('shelf')), minutes: Number(data.get('minutes')) });
      toast('restocking started');
      loadStock();
    } catch (err) {
      error.textContent = err.message;
    }
  });

  const refresh = () => Promise.all([loadAlerts(), loadStock()]).catch((err) => toast(err.message, 'error'));
  refresh();
  setInterval(refresh, 3000);
})();
