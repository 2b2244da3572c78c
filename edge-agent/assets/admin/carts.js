// Carts & receipts: open carts with their evidence, the receipts of a day, and the review queue
// where staff confirm, remove or correct a line (decisions need the staff role).
(function () {
  'use strict';
  const { api, el, money, time, toast } = window.admin;
  const canDecide = ['staff', 'admin'].includes(window.admin.role());
  const $ = (id) => document.getElementById(id);

  const state = {
    products: [],
    currency: 'EUR',
    showDecided: false,
    /** Review item id whose correction form is open: refreshes leave it alone. */
    editing: null,
    busy: false,
    openCarts: new Set(),
    openReceipts: new Set(),
    day: null,
  };

  const pct = (p) => `${Math.round(p * 100)} %`;
  const grams = (g) => `${g > 0 ? '+' : ''}${Math.round(g)} g`;
  const KIND = {
    'uncertain-line': 'Not sure',
    'uncertain-return': 'Put back?',
    'unknown-item': 'Unknown item',
    unattributed: 'No shopper',
    'exit-tag': 'Exit tag',
    'late-event': 'Late pick',
    abandoned: 'Abandoned',
  };
  const STATUS_BADGE = { billed: 'ok', review: 'warn', rejected: 'bad', final: 'ok', 'pending-review': 'warn', reviewed: 'up' };
  const badge = (text, kind) => el('span', { class: `badge ${kind ?? ''}`, text });
  const empty = (text) => el('p', { class: 'muted', text });

  /** One sentence per fact behind a cart line: the grams, who stood how near, the tags. */
  function evidenceFacts(ev, line) {
    const facts = [];
    if (line && line.source === 'rfid') {
      facts.push(`tag ${ev.epc ?? '?'} through ${ev.gate ?? 'the exit'}${ev.confirms ? ' (confirms the cart)' : ''}`);
      return facts;
    }
    const delta = line?.deltaGrams ?? ev.deltaGrams;
    if (typeof delta === 'number') facts.push(`${ev.kind ?? 'change'} of ${grams(delta)} on shelf ${ev.shelf ?? '?'}${Array.isArray(ev.plates) ? ` (plates ${ev.plates.join(', ')})` : ''}${ev.weightEvent ? `, weight event #${ev.weightEvent}` : ''}`);
    if (line && typeof line.distanceM === 'number') facts.push(`shopper ${ev.track ?? '?'} at ${line.distanceM.toFixed(2)} m (${pct(line.associationProbability)} likely them), product ${pct(line.productProbability)} likely`);
    if (Array.isArray(ev.shoppers) && ev.shoppers.length > 0) {
      facts.push('near the shelf: ' + ev.shoppers.map((s) => `${s.track} ${Number(s.distanceM).toFixed(2)} m (${pct(s.probability)})`).join(', '));
    } else if (typeof delta === 'number' && line?.source !== 'rfid') facts.push('no shopper within reach');
    if (ev.tagsGone && typeof ev.tagsGone === 'object') facts.push('RFID tags gone from the shelf: ' + Object.entries(ev.tagsGone).map(([p, n]) => `${p} ×${n}`).join(', '));
    if (Array.isArray(ev.candidates) && !line) facts.push('could be: ' + ev.candidates.map((c) => `${c.count} × ${c.product} (${pct(c.probability)})`).join(', '));
    if (Array.isArray(ev.flags) && ev.flags.length > 0) facts.push('flags: ' + ev.flags.join(', '));
    if (ev.epc && !line) facts.push(`tag ${ev.epc}`);
    return facts;
  }

  function ledgerList(lines) {
    if (lines.length === 0) return empty('No cart lines behind this.');
    return el(
      'ul',
      { class: 'evidence' },
      lines.map((l) =>
        el('li', {}, [
          el('strong', { text: `${l.quantity > 0 ? '+' : ''}${l.quantity} × ${l.name}` }),
          ` · ${l.source} · ${time(l.at)} · ${pct(l.confidence)} sure`,
          el('ul', {}, evidenceFacts(l.evidence ?? {}, l).map((f) => el('li', { text: f }))),
        ]),
      ),
    );
  }

  // ---- Active carts ----

  async function loadCarts() {
    const data = await api('GET', '/api/carts');
    $('carts-count').textContent = String(data.carts.length);
    $('carts-updated').textContent = `updated ${time(data.at)}`;
    const list = $('carts-list');
    if (data.carts.length === 0) return list.replaceChildren(empty('No shopper in the store.'));
    list.replaceChildren(...data.carts.map((c) => cartCard(c, data.currency)));
  }

  function cartCard(cart, currency) {
    const s = cart.session;
    const inStore = s.members.filter((m) => m.leftAt === null).length;
    const rows = [];
    for (const item of cart.items) {
      const key = `${s.id}:${item.product}`;
      const open = state.openCarts.has(key);
      const detail = el('tr', { class: 'detail', hidden: !open }, [el('td', { colspan: '4' }, [ledgerList(cart.lines.filter((l) => l.product === item.product))])]);
      const toggle = el('button', { type: 'button', class: 'toggle', 'aria-expanded': String(open), text: open ? 'Hide' : 'Evidence' });
      toggle.addEventListener('click', () => {
        const now = !state.openCarts.has(key);
        if (now) state.openCarts.add(key);
        else state.openCarts.delete(key);
        detail.hidden = !now;
        toggle.setAttribute('aria-expanded', String(now));
        toggle.textContent = now ? 'Hide' : 'Evidence';
      });
      rows.push(
        el('tr', {}, [
          el('td', {}, [el('strong', { text: item.name })]),
          el('td', { class: 'num', text: String(item.quantity) }),
          el('td', {}, [badge(pct(item.confidence), item.confidence >= 0.9 ? 'ok' : item.confidence >= 0.6 ? 'warn' : 'bad')]),
          el('td', { class: 'actions' }, [toggle]),
        ]),
        detail,
      );
    }
    return el('article', { class: 'cart', 'data-session': String(s.id) }, [
      el('div', { class: 'carts-head' }, [
        el('h3', { text: `Session ${s.id} · token ${s.token}` }),
        el('span', { class: 'muted', text: `since ${time(s.startedAt)} · ${inStore} in store · ${money(cart.total, currency)}` }),
      ]),
      cart.items.length === 0
        ? empty('Nothing taken yet.')
        : el('table', {}, [el('thead', {}, [el('tr', {}, [el('th', { text: 'Product' }), el('th', { class: 'num', text: 'Qty' }), el('th', { text: 'Confidence' }), el('th', { text: '' })])]), el('tbody', {}, rows)]),
    ]);
  }

  // ---- Closed receipts ----

  async function loadReceipts() {
    const query = state.day ? `?day=${encodeURIComponent(state.day)}` : '';
    const data = await api('GET', `/api/receipts${query}`);
    if (!state.day) {
      state.day = data.day;
      $('day').value = data.day;
    }
    $('receipts-summary').textContent = `${data.receipts.length} receipt${data.receipts.length === 1 ? '' : 's'} on ${data.day ?? 'the range'} (${data.timezone}) · billed ${money(data.total, data.currency)}`;
    const list = $('receipts-list');
    if (data.receipts.length === 0) return list.replaceChildren(empty('No receipt that day.'));
    const rows = [];
    for (const r of data.receipts.slice().reverse()) rows.push(...receiptRows(r));
    list.replaceChildren(
      el('table', { id: 'receipts-table' }, [
        el('thead', {}, [el('tr', {}, [el('th', { text: 'Receipt' }), el('th', { text: 'Closed' }), el('th', { text: 'Status' }), el('th', { class: 'num', text: 'Rev.' }), el('th', { class: 'num', text: 'Total' }), el('th', { text: '' })])]),
        el('tbody', {}, rows),
      ]),
    );
  }

  function receiptLines(r) {
    return el('table', { class: 'lines' }, [
      el('thead', {}, [el('tr', {}, [el('th', { text: 'Product' }), el('th', { class: 'num', text: 'Qty' }), el('th', { class: 'num', text: 'Price' }), el('th', { class: 'num', text: 'Line' }), el('th', { text: 'Status' })])]),
      el(
        'tbody',
        {},
        r.lines.map((l) =>
          el('tr', { class: `line-${l.status}` }, [
            el('td', { text: l.name }),
            el('td', { class: 'num', text: String(l.quantity) }),
            el('td', { class: 'num', text: money(l.unitPrice, r.currency) }),
            el('td', { class: 'num', text: l.status === 'billed' ? money(l.total, r.currency) : '–' }),
            el('td', {}, [badge(l.status, STATUS_BADGE[l.status]), ` ${pct(l.confidence)}`]),
          ]),
        ),
      ),
      el('tfoot', {}, [el('tr', {}, [el('th', { colspan: '3', text: 'Total billed' }), el('th', { class: 'num', text: money(r.total, r.currency) }), el('th', { text: '' })])]),
    ]);
  }

  function receiptRows(r) {
    const open = state.openReceipts.has(r.id);
    const detail = el('tr', { class: 'detail', hidden: !open }, [el('td', { colspan: '6' }, [receiptLines(r)])]);
    const toggle = el('button', { type: 'button', class: 'toggle', 'aria-expanded': String(open), text: open ? 'Hide' : 'Lines' });
    toggle.addEventListener('click', () => {
      const now = !state.openReceipts.has(r.id);
      if (now) state.openReceipts.add(r.id);
      else state.openReceipts.delete(r.id);
      detail.hidden = !now;
      toggle.setAttribute('aria-expanded', String(now));
      toggle.textContent = now ? 'Hide' : 'Lines';
    });
    const status = [badge(r.status, STATUS_BADGE[r.status])];
    if (r.pendingReview > 0) status.push(' ', badge(`${r.pendingReview} to review`, 'warn'));
    return [
      el('tr', { 'data-receipt': String(r.id) }, [
        el('td', { text: `#${r.id} · ${r.token}` }),
        el('td', { text: time(r.closedAt) }),
        el('td', {}, status),
        el('td', { class: 'num revision', text: String(r.revision) }),
        el('td', { class: 'num total', text: money(r.total, r.currency) }),
        el('td', { class: 'actions' }, [toggle]),
      ]),
      detail,
    ];
  }

  // ---- Review queue ----

  async function loadReview(force) {
    const data = await api('GET', `/api/review${state.showDecided ? '?all=true' : ''}`);
    state.products = data.products;
    state.currency = data.currency;
    const open = data.items.filter((i) => i.decidedAt === null).length;
    $('review-count').textContent = String(open);
    $('review-count').className = `badge ${open > 0 ? 'warn' : 'ok'}`;
    if (state.editing !== null && !force) return;
    const list = $('review-list');
    if (data.items.length === 0) return list.replaceChildren(empty('Nothing waits for a decision.'));
    list.replaceChildren(...data.items.slice().reverse().map(reviewCard));
  }

  function reviewCard(item) {
    // A put-back that settled after the receipt proposes a refund: a negative quantity.
    const what = !item.product ? 'Unknown product' : item.quantity < 0 ? `${-item.quantity} × ${item.productName} put back` : `${item.quantity} × ${item.productName}`;
    const receipt = item.receipt
      ? `Receipt #${item.receipt.id} · revision ${item.receipt.revision} · ${money(item.receipt.total, item.receipt.currency)} · ${item.receipt.status}`
      : 'No receipt (no shopper)';
    const error = el('p', { class: 'error', role: 'alert' });
    const card = el('article', { class: 'review-item', 'data-item': String(item.id) }, [
      el('div', { class: 'carts-head' }, [
        el('h3', {}, [badge(KIND[item.kind] ?? item.kind, 'warn'), ` ${what} `, el('span', { class: 'muted', text: `${pct(item.confidence)} sure` })]),
        el('span', { class: 'muted', text: `#${item.id} · ${time(item.createdAt)}` }),
      ]),
      el('p', { class: 'reason', text: item.reason }),
      el('p', { class: 'muted receipt-ref', text: receipt }),
      el('details', {}, [el('summary', { text: 'Evidence' }), item.cartLines.length > 0 ? ledgerList(item.cartLines) : el('ul', { class: 'evidence' }, evidenceFacts(item.evidence ?? {}, null).map((f) => el('li', { text: f })))]),
    ]);
    if (item.decidedAt !== null) {
      const result = item.decision === 'reject' ? 'removed' : item.decision === 'accept' ? 'confirmed' : `corrected to ${item.decidedQuantity} × ${item.decidedProductName}`;
      card.append(el('p', {}, [badge(item.decision, item.decision === 'reject' ? 'bad' : 'ok'), ` ${result} by ${item.decidedBy} at ${time(item.decidedAt)}`]));
      return card;
    }
    if (!canDecide) return card;
    const buttons = el('div', { class: 'decide' }, [
      el('button', { type: 'button', class: 'primary', 'data-action': 'accept', disabled: item.product === null, title: item.product === null ? 'No product proposed: correct it' : undefined, text: 'Confirm', onclick: () => decide(item, { decision: 'accept' }, error) }),
      el('button', { type: 'button', 'data-action': 'change', text: 'Correct', onclick: () => openCorrection(item, card, buttons, error) }),
      el('button', { type: 'button', class: 'danger', 'data-action': 'reject', text: 'Remove', onclick: () => decide(item, { decision: 'reject' }, error) }),
    ]);
    card.append(buttons, error);
    return card;
  }

  function openCorrection(item, card, buttons, error) {
    state.editing = item.id;
    const productId = `correct-product-${item.id}`;
    const qtyId = `correct-quantity-${item.id}`;
    const select = el(
      'select',
      { id: productId, name: 'product' },
      state.products.map((p) => el('option', { value: p.id, selected: p.id === item.product, text: `${p.name} · ${money(p.price, state.currency)}` })),
    );
    const quantity = el('input', { id: qtyId, name: 'quantity', type: 'number', min: '0', max: '999', step: '1', inputmode: 'numeric', required: true, value: String(item.product ? Math.abs(item.quantity) : 1) });
    const form = el('form', { class: 'correct' }, [
      el('div', {}, [el('label', { for: productId, text: 'Product' }), select]),
      el('div', {}, [el('label', { for: qtyId, text: item.quantity < 0 ? 'Quantity put back' : 'Quantity' }), quantity]),
      el('div', { class: 'decide' }, [el('button', { type: 'submit', class: 'primary', text: 'Save correction' }), el('button', { type: 'button', text: 'Cancel', onclick: () => closeCorrection() })]),
    ]);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const n = Number(quantity.value);
      if (!Number.isInteger(n) || n < 0) {
        error.textContent = 'The quantity is a whole number, 0 or more.';
        return;
      }
      decide(item, { decision: 'change', product: select.value, quantity: n }, error);
    });
    buttons.hidden = true;
    card.insertBefore(form, error);
    quantity.focus();
  }

  function closeCorrection() {
    state.editing = null;
    loadReview(true).catch(report);
  }

  async function decide(item, body, error) {
    if (state.busy) return;
    state.busy = true;
    error.textContent = '';
    try {
      const result = await api('POST', `/api/review/${item.id}`, body);
      showOutcome(item, result);
      state.editing = null;
      await Promise.all([loadReview(true), loadReceipts()]);
    } catch (err) {
      if (err.message === 'signed out') return;
      error.textContent = err.message;
      toast(err.message, 'error');
      if (err.status === 409 || err.status === 404) {
        state.editing = null;
        await loadReview(true).catch(report);
      }
    } finally {
      state.busy = false;
    }
  }

  function showOutcome(item, result) {
    const box = $('review-result');
    const verb = result.item.decision === 'reject' ? 'Removed' : result.item.decision === 'accept' ? 'Confirmed' : `Corrected to ${result.item.decidedQuantity} × ${result.item.decidedProductName}`;
    if (result.adjusted) {
      const r = result.adjusted;
      const before = item.receipt ? ` (was ${money(item.receipt.total, item.receipt.currency)})` : '';
      box.replaceChildren(
        el('div', { class: 'adjusted', id: 'adjusted-receipt', 'data-receipt': String(r.id), 'data-revision': String(r.revision) }, [
          el('h3', { text: `Receipt #${r.id} adjusted: revision ${r.revision}, total ${money(r.total, r.currency)}${before}` }),
          el('p', { class: 'muted', text: `${verb}. The adjusted receipt is queued for the cloud.` }),
          receiptLines(r),
          el('button', { type: 'button', text: 'Dismiss', onclick: () => box.replaceChildren() }),
        ]),
      );
    } else {
      const waiting = result.receipt ? ` Receipt #${result.receipt.id} waits for ${result.receipt.pendingReview} more decision${result.receipt.pendingReview === 1 ? '' : 's'}.` : '';
      box.replaceChildren(el('div', { class: 'adjusted' }, [el('p', { text: `${verb} (item #${result.item.id}).${waiting}` })]));
    }
  }

  // ---- wiring ----

  function report(err) {
    if (err && err.message !== 'signed out') toast(err.message || String(err), 'error');
  }

  $('review-note').hidden = canDecide;
  $('review-all').addEventListener('change', (e) => {
    state.showDecided = e.target.checked;
    state.editing = null;
    loadReview(true).catch(report);
  });
  $('receipts-day').addEventListener('submit', (e) => {
    e.preventDefault();
    state.day = $('day').value || null;
    loadReceipts().catch(report);
  });

  const every = (ms, fn) =>
    setInterval(() => {
      if (document.visibilityState === 'visible' && !state.busy) fn().catch(() => {});
    }, ms);

  Promise.all([loadReview(true), loadCarts(), loadReceipts()]).catch(report);
  every(4000, loadCarts);
  every(15000, () => Promise.all([loadReview(false), loadReceipts()]));
})();
