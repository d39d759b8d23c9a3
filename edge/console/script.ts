/**
 * The console's browser script (served as /console/console.js). Plain ES2020 for the browser, kept as text
 * because the Worker serves it as is: wrangler's bundler and the workerd test pool would each need their own
 * build rule to import a browser file. tests/e2e/console.test.ts runs every page of it in Chromium.
 *
 * The loss curve is an SVG polyline drawn here rather than a charting library: a library's browser build
 * would have to be inlined into this text the same way, and one line of loss against step needs none.
 *
 * Everything the API returns is put in the page as text (textContent), never as markup.
 */
export const CONSOLE_SCRIPT = String.raw`
const KEY = 'rankgate.apiKey';
const TERMINAL = ['succeeded', 'failed', 'cancelled'];
const POLL_MS = 2000;

const $ = (sel) => document.querySelector(sel);
const apiKey = () => sessionStorage.getItem(KEY);

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function apiFetch(path, init = {}) {
  const headers = Object.assign({ authorization: 'Bearer ' + apiKey() }, init.body ? { 'content-type': 'application/json' } : {});
  const res = await fetch(path, { method: init.method || (init.body ? 'POST' : 'GET'), headers, body: init.body ? JSON.stringify(init.body) : undefined });
  if (!res.ok) {
    let err = { code: 'http_' + res.status, message: res.status + ' ' + res.statusText };
    try {
      err = (await res.json()).error || err;
    } catch {}
    if (res.status === 401 && init.signingIn !== true) signOut(err.message);
    throw new ApiError(res.status, err.code, err.message);
  }
  return res;
}

const api = async (path, init) => (await apiFetch(path, init)).json();

/** Every item of a list route, following its cursor (lists are newest first). */
async function listAll(path) {
  const items = [];
  for (let after = null; ; ) {
    const page = await api(path + '?limit=100' + (after ? '&after=' + encodeURIComponent(after) : ''));
    items.push(...page.data);
    if (!page.has_more) return items;
    after = page.last_id;
  }
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') node.textContent = v;
    else if (k === 'onclick') node.addEventListener('click', v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

const cell = (value) => el('td', { text: value === null || value === undefined ? '—' : String(value) });

function formatBytes(n) {
  if (n === null || n === undefined) return null;
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
}

const errorText = (err) => (err.code ? err.code + ': ' : '') + err.message;

function showError(page, err) {
  $('#page-' + page + ' .error').textContent = err ? errorText(err) : '';
}

// ---- Adapters ----
/** Each page's renderer fills its section and returns true while something on it is still running. */
async function renderAdapters() {
  const adapters = await listAll('/v1/adapters');
  const rows = adapters.map((a) =>
    el(
      'tr',
      { 'data-adapter': a.name },
      cell(a.name),
      cell(a.model),
      cell('v' + a.version),
      el('td', { class: 'status', text: a.status + (a.rejection ? ' (' + a.rejection.message + ')' : '') }),
      cell(a.rank),
      cell(a.target_modules ? a.target_modules.join(', ') : null),
      cell(formatBytes(a.size_bytes)),
      cell(a.source + (a.source_id ? ' ' + a.source_id : '')),
      pinCell(a),
      el('td', {}, el('button', { type: 'button', class: 'versions', text: 'Versions', onclick: () => showVersions(a.name) })),
    ),
  );
  $('#adapters-table tbody').replaceChildren(...rows);
  if (openVersions) await renderVersions();
  return false;
}

// The name whose versions are shown under the adapters (null: none).
let openVersions = null;

async function showVersions(name) {
  openVersions = name;
  $('#promote-result').textContent = '';
  await renderVersions();
}

/** The versions of the open name, newest first, each ready one but the served one with a Promote button. */
async function renderVersions() {
  const versions = await listAll('/v1/adapters/' + encodeURIComponent(openVersions) + '/versions');
  $('#adapter-versions-name').textContent = openVersions;
  $('#versions-table tbody').replaceChildren(
    ...versions.map((v) =>
      el(
        'tr',
        { 'data-version': String(v.version) },
        cell('v' + v.version),
        cell(v.current ? 'yes' : ''),
        cell(v.model),
        el('td', { class: 'status', text: v.status + (v.rejection ? ' (' + v.rejection.message + ')' : '') }),
        cell(v.rank),
        cell(v.source + (v.source_id ? ' ' + v.source_id : '')),
        cell(new Date(v.created_at * 1000).toISOString().slice(0, 19).replace('T', ' ')),
        el(
          'td',
          {},
          ...(v.status === 'ready' && !v.current
            ? [el('button', { type: 'button', class: 'promote', text: 'Promote', onclick: () => promote(v) })]
            : []),
        ),
      ),
    ),
  );
  $('#adapter-versions').hidden = false;
}

async function promote(v) {
  const out = $('#promote-result');
  out.className = '';
  try {
    const p = await api('/v1/adapters/' + encodeURIComponent(v.name) + '/versions/' + v.version + '/promote', { method: 'POST' });
    out.textContent = p.name + ' now serves v' + p.version + ' (' + p.id + ')';
    await refresh('adapters');
  } catch (err) {
    out.className = 'error';
    out.textContent = 'Promote refused: ' + errorText(err);
  }
}

/** Whether the adapter is pinned (kept loaded on its backend), with a button that flips it; ready adapters only. */
function pinCell(a) {
  const td = el('td', { class: 'pinned', text: a.pinned ? 'pinned ' : '' });
  if (a.status === 'ready' || a.pinned)
    td.append(el('button', { type: 'button', class: 'pin', text: a.pinned ? 'Unpin' : 'Pin', onclick: () => setPinned(a, !a.pinned) }));
  return td;
}

async function setPinned(a, pin) {
  showError('adapters', null);
  try {
    await api('/v1/adapters/' + encodeURIComponent(a.id) + '/pin', { method: pin ? 'POST' : 'DELETE' });
    await refresh('adapters');
  } catch (err) {
    // The API's refusal as it words it, e.g. pin_limit_reached with the limit and the adapters pinned.
    showError('adapters', err);
  }
}

// ---- Jobs and their loss curves ----
let openJob = null;

async function renderJobs() {
  const jobs = await listAll('/v1/fine_tuning/jobs');
  const rows = jobs.map((j) =>
    el(
      'tr',
      { 'data-job': j.id },
      cell(j.id),
      cell(j.model),
      el('td', { class: 'status', text: j.status + (j.error ? ' (' + j.error.message + ')' : '') }),
      cell(j.fine_tuned_model),
      cell(j.trained_tokens),
      el('td', {}, el('button', { type: 'button', class: 'show-loss', text: 'Loss curve', onclick: () => showJob(j.id) })),
    ),
  );
  $('#jobs-table tbody').replaceChildren(...rows);
  if (openJob) await showJob(openJob);
  const quantizing = await renderQuantizations();
  // Live while a job runs: the tables follow their status and the open curve grows as the backend reports steps.
  return quantizing || jobs.some((j) => !TERMINAL.includes(j.status));
}

/** Every base model's quantization jobs; a succeeded one names the model id it made callable. */
async function renderQuantizations() {
  const bases = await listAll('/v1/base-models');
  const perBase = await Promise.all(bases.map((b) => listAll('/v1/base-models/' + encodeURIComponent(b.id) + '/quantizations')));
  const jobs = bases.flatMap((b, i) => perBase[i].map((q) => ({ q, base: b.name })));
  const rows = jobs.map(({ q, base }) =>
    el(
      'tr',
      { 'data-quantization': q.id },
      cell(q.id),
      cell(base),
      cell(q.bits),
      cell(q.group_size),
      el('td', { class: 'status', text: q.status + (q.error ? ' (' + q.error.message + ')' : '') }),
      el('td', { class: 'serves', text: q.status === 'succeeded' ? base + '@int' + q.bits : '—' }),
      cell(q.result ? formatBytes(q.result.packed_bytes) : null),
    ),
  );
  $('#quantizations-table tbody').replaceChildren(...rows);
  return jobs.some(({ q }) => !TERMINAL.includes(q.status));
}

async function showJob(id) {
  openJob = id;
  const [job, events] = await Promise.all([api('/v1/fine_tuning/jobs/' + encodeURIComponent(id)), listAll('/v1/fine_tuning/jobs/' + encodeURIComponent(id) + '/events')]);
  if (openJob !== id) return;
  const points = events
    .filter((e) => e.type === 'metrics' && e.data && typeof e.data.step === 'number')
    .map((e) => e.data)
    .sort((a, b) => a.step - b.step);
  $('#job-detail').hidden = false;
  $('#job-detail-id').textContent = id;
  $('#job-detail-status').textContent = job.status;
  drawLoss($('#loss-chart'), points);
  const last = points[points.length - 1];
  $('#loss-summary').textContent = last
    ? points.length + ' steps reported; step ' + last.step + ', train loss ' + Number(last.train_loss).toFixed(4)
    : 'No metrics yet.';
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawLoss(container, points) {
  const W = 520, H = 240, L = 56, R = 12, T = 12, B = 32;
  const series = [
    ['train', points.filter((p) => typeof p.train_loss === 'number').map((p) => [p.step, p.train_loss])],
    ['valid', points.filter((p) => typeof p.valid_loss === 'number').map((p) => [p.step, p.valid_loss])],
  ];
  const all = series.flatMap(([, s]) => s);
  const chart = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'loss against step' });
  if (all.length > 0) {
    const maxStep = Math.max(...all.map((p) => p[0]), 1);
    const minStep = Math.min(...all.map((p) => p[0]), maxStep - 1);
    const lo = Math.min(...all.map((p) => p[1]));
    const hi = Math.max(...all.map((p) => p[1]), lo + 1e-9);
    const x = (s) => L + ((s - minStep) / (maxStep - minStep || 1)) * (W - L - R);
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    chart.append(
      svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }),
      svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }),
      svg('text', { x: L - 4, y: T + 8, 'text-anchor': 'end' }, hi.toFixed(3)),
      svg('text', { x: L - 4, y: H - B, 'text-anchor': 'end' }, lo.toFixed(3)),
      svg('text', { x: L, y: H - 10 }, 'step ' + minStep),
      svg('text', { x: W - R, y: H - 10, 'text-anchor': 'end' }, 'step ' + maxStep),
    );
    for (const [name, s] of series) {
      if (s.length === 0) continue;
      chart.append(
        svg('polyline', {
          class: name,
          fill: 'none',
          'stroke-width': 2,
          'data-points': s.length,
          points: s.map(([st, v]) => x(st).toFixed(1) + ',' + y(v).toFixed(1)).join(' '),
        }),
        svg('text', { x: W - R, y: name === 'train' ? T + 8 : T + 22, 'text-anchor': 'end', class: name }, name + ' loss'),
      );
    }
  }
  container.replaceChildren(chart);
}

// ---- Merges ----
async function renderMerges() {
  const merges = await listAll('/v1/merges');
  const rows = merges.map((m) => {
    const errors = new Map(((m.result && m.result.tasks) || []).map((t) => [t.adapter_id, t.relative_error]));
    const members = el(
      'td',
      {},
      ...m.members.map((member) =>
        el(
          'div',
          { class: 'member', 'data-member': member.name },
          el('span', { text: member.name + ' v' + member.version }),
          el('span', { class: 'task-error', text: errors.has(member.adapter_id) ? 'error ' + errors.get(member.adapter_id).toFixed(4) : 'error —' }),
          el('button', { type: 'button', class: 'revert', text: 'Revert', onclick: () => revert(m, member) }),
        ),
      ),
    );
    const storage = m.result ? (m.result.storage_fraction * 100).toFixed(1) + '% of the members' : null;
    const reverts = m.reverts.map((r) => r.adapter + ': ' + r.status + (r.error ? ' (' + r.error.message + ')' : '')).join('; ');
    return el(
      'tr',
      { 'data-merge': m.name },
      cell(m.name),
      cell(m.method + (m.basis_size ? ' p=' + m.basis_size : '')),
      el('td', { class: 'status', text: m.status + (m.error ? ' (' + m.error.message + ')' : '') }),
      cell(storage),
      members,
      el('td', { class: 'reverts', text: reverts || '—' }),
    );
  });
  $('#merges-table tbody').replaceChildren(...rows);
  return merges.some((m) => !TERMINAL.includes(m.status) || m.reverts.some((r) => !TERMINAL.includes(r.status)));
}

async function revert(merge, member) {
  const out = $('#revert-result');
  out.textContent = 'Reverting ' + member.name + ' from ' + merge.name + '…';
  out.className = '';
  try {
    const r = await api('/v1/merges/' + encodeURIComponent(merge.id) + '/revert', { body: { adapter: member.name + '@v' + member.version } });
    out.textContent = 'Revert ' + r.id + ' of ' + r.adapter + ': ' + r.status + ' (new adapter ' + r.name + ')';
    // Through refresh, so the page follows the new revert until it ends.
    await refresh('merges');
  } catch (err) {
    out.className = 'error';
    out.textContent = 'Revert refused: ' + errorText(err);
  }
}

// ---- Playground ----
/** The model ids the API serves now (quantized bases and merge tasks too), and the adapters a mix can name. */
async function fillModels() {
  const [models, adapters] = await Promise.all([api('/v1/models'), listAll('/v1/adapters')]);
  $('#playground-models').replaceChildren(...models.data.map((m) => el('option', { value: m.id })));
  const ready = adapters.filter((a) => a.status === 'ready');
  $('#playground-adapters').replaceChildren(...ready.map((a) => el('option', { value: a.name, label: a.model })));
  return false;
}

/** One row of the mix: an adapter of the tenant and its weight (negative subtracts the task). */
function addMixRow() {
  const row = el(
    'div',
    { class: 'mix-row' },
    el('input', { class: 'mix-adapter', list: 'playground-adapters', required: '', placeholder: 'adapter name', 'aria-label': 'adapter' }),
    el('input', { class: 'mix-weight', type: 'number', step: 'any', value: '1', required: '', 'aria-label': 'weight' }),
  );
  row.append(el('button', { type: 'button', class: 'mix-remove', text: 'Remove', onclick: () => row.remove() }));
  $('#playground-mix-rows').append(row);
}

/** The request's "adapters" field, or undefined with no row: the API checks the mix and says what to change. */
function mixOf() {
  const rows = [...document.querySelectorAll('#playground-mix-rows .mix-row')];
  if (rows.length === 0) return undefined;
  return rows.map((r) => ({ name: r.querySelector('.mix-adapter').value.trim(), weight: Number(r.querySelector('.mix-weight').value) }));
}

/** Streams a chat completion: reads the SSE answer and appends each delta as it arrives. */
async function sendPlayground(event) {
  event.preventDefault();
  const out = $('#playground-output');
  const status = $('#playground-status');
  out.textContent = '';
  status.className = '';
  status.textContent = 'Streaming…';
  $('#playground-send').disabled = true;
  try {
    const res = await apiFetch('/v1/chat/completions', {
      body: {
        model: $('#playground-model').value.trim(),
        messages: [{ role: 'user', content: $('#playground-prompt').value }],
        max_tokens: Number($('#playground-max-tokens').value),
        temperature: Number($('#playground-temperature').value),
        adapters: mixOf(),
        stream: true,
      },
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let done = false;
    while (!done) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer += chunk.value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
        if (data === '[DONE]') {
          done = true;
          break;
        }
        if (!data) continue;
        const message = JSON.parse(data);
        if (message.error) throw new ApiError(200, message.error.code, message.error.message);
        for (const choice of message.choices || []) if (choice.delta && choice.delta.content) out.textContent += choice.delta.content;
      }
    }
    status.textContent = done ? 'Done.' : 'The stream ended before [DONE].';
    status.dataset.state = done ? 'done' : 'cut';
  } catch (err) {
    status.className = 'error';
    status.dataset.state = 'error';
    status.textContent = errorText(err);
  } finally {
    $('#playground-send').disabled = false;
  }
}

// ---- Navigation and sign-in ----
const PAGES = { adapters: renderAdapters, jobs: renderJobs, merges: renderMerges, playground: fillModels };
const currentPage = () => {
  const page = location.hash.slice(1);
  return page in PAGES ? page : 'adapters';
};

async function show() {
  const signedIn = apiKey() !== null;
  $('#sign-in').hidden = signedIn;
  $('#nav').hidden = !signedIn;
  const page = currentPage();
  for (const section of document.querySelectorAll('.page')) section.hidden = !signedIn || section.id !== 'page-' + page;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === page);
  clearTimeout(pageTimer);
  if (!signedIn) return;
  document.body.dataset.loaded = '';
  await refresh(page);
}

let pageTimer = null;

/** Renders a page, and again every POLL_MS while it shows something running and is still the page shown. */
async function refresh(page) {
  let live = false;
  try {
    showError(page, null);
    live = await PAGES[page]();
  } catch (err) {
    showError(page, err);
  }
  document.body.dataset.loaded = page;
  clearTimeout(pageTimer);
  if (live) pageTimer = setTimeout(() => currentPage() === page && apiKey() !== null && refresh(page), POLL_MS);
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  openJob = null;
  openVersions = null;
  $('#adapter-versions').hidden = true;
  $('#sign-in-error').textContent = message || '';
  show();
}

async function signIn(event) {
  event.preventDefault();
  const key = $('#api-key').value.trim();
  sessionStorage.setItem(KEY, key);
  try {
    // Checked before anything shows: a wrong key is told at once, in the API's words.
    await apiFetch('/v1/adapters?limit=1', { signingIn: true });
    $('#api-key').value = '';
    $('#sign-in-error').textContent = '';
    show();
  } catch (err) {
    sessionStorage.removeItem(KEY);
    $('#sign-in-error').textContent = errorText(err);
  }
}

$('#sign-in').addEventListener('submit', signIn);
$('#sign-out').addEventListener('click', () => signOut());
$('#playground-form').addEventListener('submit', sendPlayground);
$('#playground-add-adapter').addEventListener('click', addMixRow);
window.addEventListener('hashchange', show);
show();
`;
