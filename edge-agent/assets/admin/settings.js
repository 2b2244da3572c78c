(function () {
  'use strict';
  const { api, el, role, toast } = window.admin;

  async function loadConfig() {
    const data = await api('GET', '/api/settings/config');
    document.getElementById('config').textContent = JSON.stringify(data.config, null, 2);
    const notes = document.getElementById('config-notes');
    notes.replaceChildren(
      el('ul', {}, [
        ...data.environment.map((e) => el('li', { text: `${e.path}: environment variable ${e.variable} (${e.set ? 'set' : 'not set'}; value not shown)` })),
        ...data.screenTokens.map((s) => el('li', { text: `screen ${s.screen}: token from ${s.from} (not shown)` })),
        data.cloudOverlay
          ? el('li', { text: `cloud changes in force (${data.cloudOverlay.planogram ? 'planogram' : ''}${data.cloudOverlay.planogram && data.cloudOverlay.prices ? ' and ' : ''}${data.cloudOverlay.prices ? `${data.cloudOverlay.prices} prices` : ''}) from ${data.cloudOverlay.file}, ${data.cloudOverlay.updatedAt}` })
          : null,
      ]),
    );
  }

  async function loadUsers() {
    const { users } = await api('GET', '/api/settings/users');
    const body = document.querySelector('#users tbody');
    body.replaceChildren(
      ...users.map((u) => {
        const roleSelect = el('select', { 'aria-label': `role of ${u.username}`, onchange: (e) => change(u.username, { role: e.target.value }) }, ['viewer', 'staff', 'admin'].map((r) => el('option', { value: r, selected: r === u.role, text: r })));
        const toggle = el('button', { type: 'button', class: u.disabledAt ? '' : 'danger', text: u.disabledAt ? 'Enable' : 'Disable', onclick: () => change(u.username, { disabled: !u.disabledAt }) });
        return el('tr', { 'data-user': u.username }, [el('td', { text: u.username }), el('td', {}, [roleSelect]), el('td', { text: u.disabledAt ? 'disabled' : u.lockedUntil && u.lockedUntil > Date.now() ? 'locked' : 'active' }), el('td', {}, [toggle])]);
      }),
    );
  }

  async function loadAudit() {
    const { entries } = await api('GET', '/api/settings/audit?limit=100');
    document.querySelector('#audit tbody').replaceChildren(
      ...entries.map((a) => el('tr', {}, [el('td', { text: new Date(a.at).toLocaleString() }), el('td', { text: a.user }), el('td', { text: a.action }), el('td', { text: a.subject ?? '' })])),
    );
  }

  async function change(username, body) {
    try {
      await api('PATCH', `/api/settings/users/${encodeURIComponent(username)}`, body);
      toast(`${username} changed`);
    } catch (err) {
      toast(err.message, 'error');
    }
    await Promise.all([loadUsers(), loadAudit()]);
  }

  document.getElementById('add-user').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.target;
    const error = document.getElementById('add-user-error');
    error.textContent = '';
    const data = new FormData(form);
    try {
      await api('POST', '/api/settings/users', { username: String(data.get('username')), role: String(data.get('role')), password: String(data.get('password')) });
      form.reset();
      toast('user added');
      await Promise.all([loadUsers(), loadAudit()]);
    } catch (err) {
      error.textContent = err.message;
    }
  });

  loadConfig().catch((err) => toast(err.message, 'error'));
  if (role() === 'admin') {
    document.getElementById('users-panel').hidden = false;
    document.getElementById('audit-panel').hidden = false;
    loadUsers().catch((err) => toast(err.message, 'error'));
    loadAudit().catch((err) => toast(err.message, 'error'));
  }
})();
