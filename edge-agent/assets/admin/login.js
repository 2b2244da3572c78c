(function () {
  'use strict';
  const { api } = window.admin;
  const form = document.getElementById('login-form');
  const error = document.getElementById('login-error');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const data = new FormData(form);
    try {
      await api('POST', '/api/login', { username: String(data.get('username')), password: String(data.get('password')) });
      const next = new URLSearchParams(location.search).get('next');
      location.href = next && next.startsWith('/') && !next.startsWith('//') ? next : '/live';
    } catch (err) {
      error.textContent = err.message;
    }
  });
})();
