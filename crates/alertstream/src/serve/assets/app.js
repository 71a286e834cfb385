// alertstream live view: the list of saved alerts (/) and one alert (/alerts/<id>).
// Plain DOM: every piece of data goes through textContent or an attribute, never innerHTML.
'use strict';

const PAGE = 50;
const POLL_MS = 2000;
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

// Fetches JSON; resolves to {ok, status, body} for any HTTP answer, rejects when the server is unreachable.
async function api(url, signal) {
  const r = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  let body = null;
  try { body = await r.json(); } catch (_) { /* not JSON */ }
  return { ok: r.ok, status: r.status, body };
}

function brightness(r) {
  if (typeof r.mag === 'number') return r.mag.toFixed(2);
  if (typeof r.flux_njy === 'number') return r.flux_njy.toFixed(1) + ' nJy';
  return '';
}

function match(r) {
  if (r.matches && r.matches.length) return r.matches.join(', ');
  if (typeof r.probdensity === 'number') return r.probdensity.toPrecision(3);
  return '';
}

function alertHref(id) { return '/alerts/' + encodeURIComponent(id); }

function setConn(ok) {
  const c = $('conn');
  c.textContent = ok ? '' : 'disconnected';
  c.classList.toggle('down', !ok);
}

// One <tr class="alert" data-id> with the seven cells shared by #alerts and #others.
function alertRow(r, isNew) {
  const tr = el('tr', 'alert');
  tr.dataset.id = r.id;
  if (isNew) tr.classList.add('new');
  const thumb = el('td', 'thumb');
  if (r.thumbnail) {
    const img = el('img');
    img.loading = 'lazy';
    img.alt = '';
    img.src = r.thumbnail;
    thumb.append(img);
  }
  const object = el('td', 'object');
  const a = el('a', null, r.object_id || r.alert_id || r.id);
  a.href = alertHref(r.id);
  object.append(a);
  if (r.survey) object.append(' ', el('span', 'survey', r.survey));
  const m = el('td', 'match', match(r));
  if (!(r.matches && r.matches.length) && typeof r.probdensity === 'number') m.title = 'sky map probability density';
  tr.append(thumb, el('td', 'time', r.time_utc || ''), object, el('td', 'band', r.band || ''),
    el('td', 'brightness', brightness(r)), el('td', 'class', r.class || ''), m);
  return tr;
}

// Clicking anywhere on a row opens its alert (the object link does it by itself; selecting text does not).
function rowsOpen(tbody) {
  tbody.addEventListener('click', (e) => {
    const tr = e.target.closest('tr.alert');
    if (!tr || e.target.closest('a') || String(getSelection())) return;
    const href = alertHref(tr.dataset.id);
    if (e.ctrlKey || e.metaKey || e.shiftKey) window.open(href, '_blank', 'noopener');
    else location.href = href;
  });
}

function emptyRow(text) {
  const tr = el('tr', 'empty');
  const td = el('td', null, text);
  td.colSpan = 7;
  tr.append(td);
  return tr;
}

// ---------------------------------------------------------------- list view

function listView() {
  $('alert-view').remove();
  $('list-view').hidden = false;

  const p = new URLSearchParams(location.search);
  const state = {
    sort: ['time', 'mag', 'class'].includes(p.get('sort')) ? p.get('sort') : 'time',
    order: p.get('order') === 'asc' ? 'asc' : 'desc',
    q: p.get('q') || '',
    where: p.get('where') || '',
    offset: Math.max(0, parseInt(p.get('offset'), 10) || 0),
  };
  const sortEl = $('sort'), orderEl = $('order'), searchEl = $('search'), whereEl = $('where');
  sortEl.value = state.sort; orderEl.value = state.order; searchEl.value = state.q; whereEl.value = state.where;
  const tbody = $('alerts').tBodies[0];

  // Live bookkeeping. `seen`: ids on the default view (first page, time desc) when the page opened;
  // `fresh`: ids that showed up on the default view later, marked .new wherever they are shown.
  let seen = null;
  const fresh = new Set();
  let count0 = null, count = null, newest = null, complete = null, total = 0;
  let ctl = null;
  let stale = false; // the last load could not reach the server

  const isDefault = (s) => s.sort === 'time' && s.order === 'desc' && s.offset === 0 && !s.q && !s.where;
  const query = (s) => {
    const q = new URLSearchParams({ sort: s.sort, order: s.order });
    if (s.q) q.set('q', s.q);
    if (s.where) q.set('where', s.where);
    q.set('offset', s.offset);
    q.set('limit', PAGE);
    return q;
  };

  function newCount() { return count0 == null || count == null ? 0 : Math.max(0, count - count0); }

  function noteRows(rows) {
    const ids = rows.map((r) => r.id);
    if (!seen) { seen = new Set(ids); return; }
    // Unknown ids are new only if the folder grew since the page opened (not merely indexed further).
    for (const id of ids) if (!seen.has(id) && !fresh.has(id)) (newCount() > 0 ? fresh : seen).add(id);
  }

  function header() {
    $('count').textContent = count == null ? '…' : String(count);
    $('total').textContent = String(total);
    $('indexing').hidden = complete !== false;
    const n = newCount();
    $('new-count').textContent = n ? `${n} new since opened` : '';
    const what = isDefault(state) ? `${count ?? '…'} alerts` : `${total} of ${count ?? '…'} alerts`;
    document.title = `${n ? `(${n} new) ` : ''}${what} — alertstream`;
  }

  function syncUrl() {
    const q = new URLSearchParams();
    if (state.sort !== 'time') q.set('sort', state.sort);
    if (state.order !== 'desc') q.set('order', state.order);
    if (state.q) q.set('q', state.q);
    if (state.where) q.set('where', state.where);
    if (state.offset) q.set('offset', state.offset);
    const s = q.toString();
    history.replaceState(null, '', s ? '/?' + s : '/');
  }

  function showError(msg) {
    const e = $('error');
    e.textContent = msg;
    e.hidden = !msg;
    whereEl.setAttribute('aria-invalid', msg ? 'true' : 'false');
    $('alerts').classList.toggle('stale', !!msg);
  }

  async function load() {
    if (ctl) ctl.abort();
    const c = (ctl = new AbortController());
    const s = { ...state };
    syncUrl();
    let res;
    try {
      res = await api('/api/alerts?' + query(s), c.signal);
    } catch (_) {
      if (!c.signal.aborted) { setConn(false); ctl = null; stale = true; }
      return;
    }
    if (c !== ctl) return;
    ctl = null;
    stale = false;
    if (!res.ok || !res.body || !Array.isArray(res.body.alerts)) {
      showError((res.body && res.body.error) || `HTTP ${res.status}`);
      return;
    }
    showError('');
    const d = res.body;
    count = d.count; complete = d.complete; total = d.total;
    if (count0 == null) count0 = d.count;
    if (newest == null) newest = d.newest;
    if (isDefault(s)) noteRows(d.alerts);
    tbody.replaceChildren(...(d.alerts.length ? d.alerts.map((r) => alertRow(r, fresh.has(r.id)))
      : [emptyRow(s.q || s.where ? 'No alert matches.' : 'No alerts in the folder yet.')]));
    $('range').textContent = total ? `${s.offset + 1}-${s.offset + d.alerts.length} of ${total}` : '0 of 0';
    $('prev').disabled = s.offset === 0;
    $('next').disabled = s.offset + PAGE >= total;
    header();
  }

  // When the page opens on another view, the default view is read once to know which alerts exist.
  async function seed() {
    try {
      const res = await api('/api/alerts?limit=' + PAGE);
      if (res.ok && res.body && Array.isArray(res.body.alerts) && !seen) noteRows(res.body.alerts);
    } catch (_) { /* the next default-view load seeds it */ }
  }

  async function poll() {
    try {
      const res = await api('/api/status', AbortSignal.timeout(POLL_MS * 3));
      if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
      setConn(true);
      const s = res.body;
      const grew = newest != null && s.newest !== newest;
      const indexed = complete === false && s.complete === true;
      count = s.count; complete = s.complete; newest = s.newest;
      if (count0 == null) count0 = s.count;
      header();
      if ((grew && isDefault(state)) || indexed || stale) await load();
    } catch (_) {
      setConn(false);
    }
    setTimeout(poll, POLL_MS);
  }

  function restart() { state.offset = 0; load(); }

  sortEl.addEventListener('change', () => { state.sort = sortEl.value; restart(); });
  orderEl.addEventListener('change', () => { state.order = orderEl.value; restart(); });
  let timer = 0;
  searchEl.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.q = searchEl.value.trim(); restart(); }, 250);
  });
  $('controls').addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(timer);
    state.q = searchEl.value.trim();
    state.where = whereEl.value.trim();
    restart();
  });
  $('prev').addEventListener('click', () => { state.offset = Math.max(0, state.offset - PAGE); load(); });
  $('next').addEventListener('click', () => { if (state.offset + PAGE < total) { state.offset += PAGE; load(); } });
  // Clicking a sortable column heading sorts by it; clicking it again flips the order.
  $('alerts').tHead.addEventListener('click', (e) => {
    const th = e.target.closest('th[data-sort]');
    if (!th) return;
    if (state.sort === th.dataset.sort) state.order = state.order === 'desc' ? 'asc' : 'desc';
    else state.sort = th.dataset.sort;
    sortEl.value = state.sort; orderEl.value = state.order;
    restart();
  });
  rowsOpen(tbody);

  if (!isDefault(state)) seed();
  load().then(() => setTimeout(poll, POLL_MS));
}

// ---------------------------------------------------------------- alert view

// The record as nested <details>: objects and arrays are <details data-path data-key> (depth 0 open),
// scalars <div class="leaf" data-path data-key>.
function tree(value, key, path, depth, idx) {
  const isObj = value !== null && typeof value === 'object';
  const entries = isObj ? (Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value)) : [];
  const keyEl = el('span', idx ? 'key idx' : 'key', key);
  keyEl.title = path;
  if (isObj && entries.length) {
    const d = el('details', Array.isArray(value) ? 'arr' : 'obj');
    d.dataset.path = path; d.dataset.key = key; d.dataset.depth = depth;
    d.open = depth === 0;
    const s = el('summary');
    s.append(keyEl, el('span', 'len', Array.isArray(value) ? `[${value.length}]` : `{${entries.length}}`));
    const kids = el('div', 'kids');
    const arr = Array.isArray(value);
    for (const [k, v] of entries) kids.append(tree(v, k, arr ? `${path}[${k}]` : `${path}.${k}`, depth + 1, arr));
    d.append(s, kids);
    return d;
  }
  const leaf = el('div', 'leaf');
  leaf.dataset.path = path; leaf.dataset.key = key;
  let text, kind;
  if (isObj) { text = Array.isArray(value) ? '[]' : '{}'; kind = 'v-empty'; }
  else if (value === null) { text = 'null'; kind = 'v-null'; }
  else if (typeof value === 'string') { text = value === '' ? '""' : value; kind = value === '' ? 'v-empty' : 'v-str'; }
  else { text = String(value); kind = typeof value === 'number' ? 'v-num' : 'v-bool'; }
  leaf.append(keyEl, el('span', 'val ' + kind, text));
  return leaf;
}

// Opens and highlights (.hit) the nodes whose key contains the text (the whole path when it has . or [).
function filterTree(box, text) {
  const t = text.trim().toLowerCase();
  const nodes = box.querySelectorAll('[data-path]');
  for (const n of nodes) n.classList.remove('hit');
  for (const d of box.querySelectorAll('details')) d.open = !t && d.dataset.depth === '0';
  let hits = 0;
  if (t) {
    const byPath = /[.[]/.test(t);
    for (const n of nodes) {
      if (!(byPath ? n.dataset.path : n.dataset.key).toLowerCase().includes(t)) continue;
      n.classList.add('hit');
      hits++;
      for (let p = n.parentElement.closest('details'); p && !p.open; p = p.parentElement.closest('details')) p.open = true;
    }
  }
  $('filter-count').textContent = t ? `${hits} match${hits === 1 ? '' : 'es'}` : '';
  const first = box.querySelector('.hit');
  if (first) first.scrollIntoView({ block: 'nearest' });
}

async function alertView() {
  $('list-view').remove();
  $('alert-view').hidden = false;
  const raw = location.pathname.slice('/alerts/'.length);
  let id = raw;
  try { id = decodeURIComponent(raw); } catch (_) { /* keep it as written */ }

  $('back').addEventListener('click', (e) => {
    // Back to the list as it was left (sort, search, page) when the list is where we came from.
    let ref = null;
    try { ref = new URL(document.referrer); } catch (_) { /* none */ }
    if (ref && ref.origin === location.origin && ref.pathname === '/' && history.length > 1 && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      history.back();
    }
  });

  const fail = (msg, title) => {
    const nf = $('not-found');
    nf.textContent = msg;
    nf.hidden = false;
    document.title = `${title} — alertstream`;
  };
  let res;
  try {
    res = await api('/api/alerts/' + encodeURIComponent(id));
  } catch (_) {
    setConn(false);
    return fail('The server could not be reached; reload the page to try again.', 'Disconnected');
  }
  if (res.status === 404) return fail(`No alert "${id}" in this folder.` + (res.body && res.body.error ? ` (${res.body.error})` : ''), 'Not found');
  if (!res.ok || !res.body || !res.body.row) return fail((res.body && res.body.error) || `HTTP ${res.status}`, 'Error');

  const { row, fields, links, others } = res.body;
  const name = row.object_id || row.alert_id || row.id;
  $('title').textContent = name;
  const meta = $('meta');
  const part = (cls, label, text) => {
    if (!text) return;
    const s = el('span', cls);
    if (label) s.append(el('span', 'label', label + ' '));
    s.append(text);
    meta.append(s);
  };
  part('survey', '', row.survey);
  part('time', '', row.time_utc);
  part('band', 'band', row.band);
  part('brightness', '', typeof row.mag === 'number' ? brightness(row) + ' mag' : brightness(row));
  part('class', 'class', row.class);
  part('matches', 'matches', row.matches && row.matches.join(', '));
  if (!(row.matches && row.matches.length)) part('probdensity', 'sky map density', typeof row.probdensity === 'number' ? row.probdensity.toPrecision(3) : '');
  if (row.alert_id && row.alert_id !== name) part('alert-id', 'alert', row.alert_id);
  part('topic', 'topic', row.topic);
  document.title = [name, row.survey, row.time_utc].filter(Boolean).join(' · ') + ' — alertstream';

  $('picture').src = row.picture;

  const ul = $('links');
  for (const l of links || []) {
    let u = null;
    try { u = new URL(l.url); } catch (_) { /* skipped */ }
    if (!u || !/^https?:$/.test(u.protocol)) continue;
    const a = el('a', null, l.name);
    a.href = u.href; a.target = '_blank'; a.rel = 'noopener';
    const li = el('li');
    li.append(a);
    ul.append(li);
  }
  if (!ul.children.length) ul.append(el('li', 'empty', 'none'));

  const box = $('fields');
  if (fields !== null && typeof fields === 'object' && !Array.isArray(fields)) {
    for (const [k, v] of Object.entries(fields)) box.append(tree(v, k, k, 0));
  } else {
    box.append(tree(fields, 'record', 'record', 0));
  }
  let timer = 0;
  $('filter').addEventListener('input', (e) => {
    clearTimeout(timer);
    timer = setTimeout(() => filterTree(box, e.target.value), 150);
  });

  const tb = $('others').tBodies[0];
  tb.replaceChildren(...((others || []).length ? others.map((r) => alertRow(r, false))
    : [emptyRow('No other alert of this object in the folder.')]));
  rowsOpen(tb);
  $('alert').hidden = false;
}

if (location.pathname.startsWith('/alerts/')) alertView();
else listView();
