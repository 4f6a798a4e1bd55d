// Inferno dashboard: polls GET /inferno/status every second and streams chats from
// POST /v1/chat/completions. Every piece of server data reaches the page through
// textContent or an SVG attribute, never as HTML.
'use strict';

(() => {
  const POLL_MS = 1000;
  const POLL_TIMEOUT_MS = 5000;
  const HISTORY = 120; // points kept per chart: two minutes of polls
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);

  // el builds an element; string children become text nodes.
  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const c of children) node.append(c);
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  const num = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  const str = (x) => (typeof x === 'string' ? x : x === undefined || x === null ? '' : String(x));

  function fmtCount(n) {
    n = num(n);
    for (const [div, unit] of [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'K']]) {
      if (n >= div) return (n / div).toFixed(n / div >= 100 ? 0 : 1) + ' ' + unit;
    }
    return String(n);
  }

  function fmtBytes(n) {
    n = num(n);
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + ' ' + units[i];
  }

  const fmtRate = (x) => num(x).toFixed(1);

  // ---- the API key (inferno serve --api-key) ----

  // The key is kept for the tab only (sessionStorage) and sent with every API call.
  const KEY_STORE = 'inferno-api-key';
  let key = (() => {
    try { return sessionStorage.getItem(KEY_STORE) || ''; } catch (e) { return ''; }
  })();

  function setAPIKey(k) {
    key = k;
    try {
      if (k) sessionStorage.setItem(KEY_STORE, k); else sessionStorage.removeItem(KEY_STORE);
    } catch (e) { /* storage off: the key lasts until the page reloads */ }
  }

  // withKey adds Authorization: Bearer KEY to headers when a key is set.
  function withKey(headers) {
    if (key) headers.Authorization = 'Bearer ' + key;
    return headers;
  }

  // httpError is a failed response's message; a 401 says where the key goes.
  async function httpError(resp) {
    const msg = 'HTTP ' + resp.status + ': ' + (await errorMessage(resp));
    return new Error(resp.status === 401 ? msg + ' (enter the server\'s API key at the top)' : msg);
  }

  // ---- status polling ----

  const history = [];

  function setConnection(ok, message) {
    const conn = $('conn');
    conn.textContent = ok ? 'connected' : 'server unreachable';
    conn.classList.toggle('down', !ok);
    const banner = $('error');
    banner.hidden = ok;
    banner.textContent = ok ? '' : message;
  }

  // errorMessage reads an OpenAI-style {"error": {"message"}} body, or the text.
  async function errorMessage(resp) {
    let text = '';
    try { text = await resp.text(); } catch (e) { return resp.statusText; }
    try {
      const j = JSON.parse(text);
      if (j && j.error) return str(j.error.message || j.error);
    } catch (e) { /* not JSON: use the text */ }
    return text.trim().slice(0, 200) || resp.statusText;
  }

  async function poll() {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), POLL_TIMEOUT_MS);
    try {
      const resp = await fetch('/inferno/status', { signal: abort.signal, cache: 'no-store', headers: withKey({}) });
      if (!resp.ok) throw await httpError(resp);
      const status = await resp.json();
      render(status);
      setConnection(true);
    } catch (e) {
      const why = e.name === 'AbortError' ? 'no answer in ' + POLL_TIMEOUT_MS / 1000 + ' s' : e.message;
      setConnection(false, 'Status unavailable (' + why + '); retrying every second.');
    } finally {
      clearTimeout(timer);
      setTimeout(poll, POLL_MS);
    }
  }

  function render(s) {
    if (!s || typeof s !== 'object') throw new Error('status is not a JSON object');
    $('version').textContent = s.version ? 'v' + str(s.version) : '';
    renderSystem(s.system || {});
    const models = Array.isArray(s.models) ? s.models : [];
    renderModels(models);
    updateModelPicker(models);
    const slots = Array.isArray(s.slots) ? s.slots : [];
    renderSlots(slots);

    const st = s.stats || {};
    history.push({
      prompt: num(st.prompt_tokens_per_second),
      gen: num(st.generation_tokens_per_second),
      queue: num(s.queue_depth),
      busy: slots.filter((x) => x && x.busy).length,
    });
    if (history.length > HISTORY) history.shift();
    const last = history[history.length - 1];
    $('prompt-now').textContent = fmtRate(last.prompt);
    $('gen-now').textContent = fmtRate(last.gen);
    $('queue-now').textContent = String(last.queue);
    $('busy-now').textContent = last.busy + ' / ' + slots.length;
    $('totals').textContent = num(st.requests) + ' requests · ' + fmtCount(st.prompt_tokens) +
      ' prompt tokens · ' + fmtCount(st.generated_tokens) + ' generated tokens';
    drawChart($('chart-tps'), [['prompt', 'prompt'], ['gen', 'gen']]);
    drawChart($('chart-load'), [['queue', 'queue'], ['busy', 'busy']]);
  }

  function renderSystem(sys) {
    $('cpu').textContent = str(sys.cpu) || '–';
    $('features').textContent = Array.isArray(sys.features) && sys.features.length ? sys.features.map(str).join(' ') : '–';
    $('threads').textContent = String(num(sys.threads));
    const gpu = sys.gpu;
    const meter = $('gpu-meter');
    if (gpu && typeof gpu === 'object') {
      $('gpu').textContent = str(gpu.name) || '–';
      const used = num(gpu.memory_used), total = num(gpu.memory_total);
      $('gpu-memory').textContent = fmtBytes(used) + ' / ' + fmtBytes(total) +
        (total > 0 ? ' (' + (100 * used / total).toFixed(0) + ' %)' : '');
      meter.hidden = total <= 0;
      meter.value = total > 0 ? used / total : 0;
      $('unified').textContent = gpu.unified ? 'yes' : 'no';
    } else {
      $('gpu').textContent = 'none';
      $('gpu-memory').textContent = '–';
      meter.hidden = true;
      $('unified').textContent = '–';
    }
  }

  function typeMix(mix) {
    if (!mix || typeof mix !== 'object') return '–';
    return Object.entries(mix)
      .sort((a, b) => num(b[1]) - num(a[1]) || a[0].localeCompare(b[0]))
      .map(([type, count]) => type + ' ×' + num(count))
      .join(', ');
  }

  function renderModels(models) {
    const body = $('models').tBodies[0];
    clear(body);
    if (models.length === 0) {
      const td = el('td', 'muted', 'no model loaded');
      td.colSpan = 7;
      body.append(el('tr', '', td));
      return;
    }
    for (const m of models) {
      const name = el('td', 'model-name', str(m.name));
      name.title = str(m.path);
      body.append(el('tr', '', name,
        el('td', 'arch', str(m.architecture)),
        el('td', 'num', fmtCount(m.parameters)),
        el('td', 'types', typeMix(m.type_mix)),
        el('td', 'num', String(num(m.context))),
        el('td', 'backend', str(m.backend)),
        el('td', 'num', num(m.layers_gpu) + ' / ' + num(m.layers))));
    }
  }

  function updateModelPicker(models) {
    const picker = $('model');
    const names = models.map((m) => str(m.name));
    const current = Array.from(picker.options, (o) => o.value);
    if (names.join('\n') === current.join('\n')) return;
    const selected = picker.value;
    clear(picker);
    for (const n of names) picker.append(new Option(n, n));
    if (names.includes(selected)) picker.value = selected;
  }

  // niceMax rounds a chart's top up to 1, 2 or 5 times a power of ten.
  function niceMax(x) {
    if (x <= 1) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(x)));
    for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
    return 10 * p;
  }

  // drawChart draws one polyline per [field, class] over the kept history.
  function drawChart(chart, series) {
    const W = 600, H = 160, left = 44, right = 8, top = 8, bottom = 8;
    const max = niceMax(Math.max(0, ...history.flatMap((p) => series.map(([f]) => p[f]))));
    const x = (i) => left + (W - left - right) * (HISTORY - history.length + i) / (HISTORY - 1);
    const y = (v) => H - bottom - (H - top - bottom) * v / max;
    clear(chart);
    for (const v of [0, max / 2, max]) {
      chart.append(svg('line', { x1: left, x2: W - right, y1: y(v), y2: y(v), class: 'grid' }));
      chart.append(svg('text', { x: left - 6, y: y(v) + 4, class: 'axis' }, String(+v.toFixed(1))));
    }
    for (const [field, cls] of series) {
      const points = history.map((p, i) => x(i).toFixed(1) + ',' + y(p[field]).toFixed(1)).join(' ');
      chart.append(svg('polyline', { points, class: 'series ' + cls }));
    }
    chart.dataset.points = String(history.length);
  }

  function renderSlots(slots) {
    const chart = $('slots');
    const row = 24, W = 600, left = 150, right = 130;
    clear(chart);
    chart.setAttribute('viewBox', '0 0 ' + W + ' ' + row * Math.max(1, slots.length));
    slots.forEach((s, i) => {
      const used = num(s.kv_used), size = num(s.kv_size);
      const frac = size > 0 ? Math.min(1, used / size) : 0;
      const yTop = i * row + 4;
      const model = str(s.model).length > 14 ? str(s.model).slice(0, 13) + '…' : str(s.model);
      const label = 'slot ' + num(s.id) + (model ? ' · ' + model : '') + (s.busy ? ' · busy' : '');
      const text = svg('text', { x: 0, y: yTop + 13, class: 'label' }, label);
      text.append(svg('title', {}, str(s.model)));
      chart.append(text);
      chart.append(svg('rect', { x: left, y: yTop, width: W - left - right, height: 16, class: 'track' }));
      chart.append(svg('rect', { x: left, y: yTop, width: ((W - left - right) * frac).toFixed(1), height: 16, class: s.busy ? 'fill busy' : 'fill' }));
      chart.append(svg('text', { x: W - right + 6, y: yTop + 13, class: 'label' }, used + ' / ' + size));
    });
    chart.dataset.slots = String(slots.length);
  }

  // ---- chat ----

  let conversation = []; // the messages sent with the next request
  let chatting = false;

  // readSSE calls onEvent with each event's data (its data: lines joined), as the
  // EventSource rules say: events end at a blank line; other fields and comments are skipped.
  async function readSSE(body, onEvent) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let data = [];
    try {
      for (;;) {
        const { value, done } = await reader.read();
        buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, '');
          buffer = buffer.slice(nl + 1);
          if (line === '') {
            if (data.length && onEvent(data.join('\n')) === false) return;
            data = [];
          } else if (line.startsWith('data:')) {
            data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
          }
        }
        if (done) {
          if (data.length) onEvent(data.join('\n'));
          return;
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  // The reply's token budget (a chat's later turns must still fit the context).
  function maxTokens() {
    const n = parseInt(document.getElementById('max-tokens').value, 10);
    return Number.isFinite(n) && n > 0 ? n : 128;
  }

  async function streamChat(model, messages, onText) {
    const started = performance.now();
    const resp = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: withKey({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ model: model || undefined, messages, stream: true, stream_options: { include_usage: true }, max_tokens: maxTokens() }),
    });
    if (!resp.ok) throw await httpError(resp);
    if (!resp.body) throw new Error('the response has no body');
    const r = { text: '', pieces: 0, usage: null, timings: null, finish: '', done: false, first: 0 };
    await readSSE(resp.body, (data) => {
      if (data === '[DONE]') { r.done = true; return false; }
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(str(chunk.error.message || chunk.error));
      const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : null;
      const piece = choice && choice.delta ? choice.delta.content : null;
      if (typeof piece === 'string' && piece !== '') {
        if (!r.first) r.first = performance.now();
        r.text += piece;
        r.pieces++;
        onText(r.text);
      }
      if (choice && choice.finish_reason) r.finish = str(choice.finish_reason);
      if (chunk.usage) r.usage = chunk.usage;
      if (chunk.timings) r.timings = chunk.timings;
      return true;
    });
    if (!r.done) throw new Error('the stream ended before [DONE]');
    r.seconds = (performance.now() - (r.first || started)) / 1000;
    return r;
  }

  // speedLine is shown under a reply: the server's timings when it sent them, else
  // tokens over the time from the first piece to the end, measured here.
  function speedLine(r) {
    const tokens = r.usage ? num(r.usage.completion_tokens) : r.pieces;
    const parts = [tokens + ' tokens'];
    if (r.timings && r.timings.predicted_per_second !== undefined) {
      parts.push(fmtRate(r.timings.predicted_per_second) + ' tok/s');
      if (r.timings.prompt_per_second !== undefined) parts.push('prompt ' + fmtRate(r.timings.prompt_per_second) + ' tok/s');
    } else {
      parts.push(fmtRate(r.seconds > 0 ? tokens / r.seconds : 0) + ' tok/s (measured here)');
    }
    if (r.finish && r.finish !== 'stop') parts.push('stopped: ' + r.finish);
    return parts.join(' · ');
  }

  function addMessage(role, text) {
    const body = el('div', 'text', text);
    const meta = el('div', 'meta');
    const msg = el('div', 'msg ' + role, el('div', 'role', role), body, meta);
    const list = $('messages');
    list.append(msg);
    list.scrollTop = list.scrollHeight;
    return { msg, body, meta };
  }

  async function send() {
    const box = $('message');
    const text = box.value.trim();
    const model = $('model').value;
    if (chatting || text === '') return;
    chatting = true;
    $('send').disabled = true;
    addMessage('user', text);
    box.value = '';
    const reply = addMessage('assistant', '');
    reply.meta.textContent = model ? 'waiting for ' + model + '…' : '';
    const user = { role: 'user', content: text };
    try {
      // without a model (the status not read yet, e.g. no API key) the server picks its
      // only one, or answers why not
      const r = await streamChat(model, conversation.concat([user]), (soFar) => {
        reply.body.textContent = soFar;
        reply.meta.textContent = 'streaming…';
        $('messages').scrollTop = $('messages').scrollHeight;
      });
      conversation.push(user, { role: 'assistant', content: r.text });
      reply.meta.textContent = speedLine(r);
      reply.meta.classList.add('speed');
    } catch (e) {
      // The exchange is left out of the conversation, so the next message can retry.
      reply.msg.classList.add('failed');
      reply.meta.textContent = 'Error: ' + e.message;
    } finally {
      chatting = false;
      $('send').disabled = false;
      box.focus();
    }
  }

  function start() {
    const keyBox = $('api-key');
    keyBox.value = key;
    keyBox.addEventListener('input', () => setAPIKey(keyBox.value.trim()));
    $('chat-form').addEventListener('submit', (e) => { e.preventDefault(); send(); });
    $('message').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
    });
    $('new-chat').addEventListener('click', () => {
      if (chatting) return;
      conversation = [];
      clear($('messages'));
    });
    poll();
  }

  start();
})();
