/* stepwise simulator: the reader drives the TCP model, step by step.

   Markup: templates/layouts/simulator.html (#sim). Every step, every state, every
   refusal comes from the site's own Python model (stepwise.playground), run by Pyodide
   in a Web Worker (static/js/simworker.js): this file only asks and draws, with the
   lesson player (static/js/player.js). Nothing loads until the reader presses Start,
   or the URL carries a scenario (#do=...), which then opens by itself.

   The scenario lives in the URL's fragment (see stepwise/playground.py): it is
   replaced after every change, so the address bar can always be shared. */
(() => {
  'use strict';
  const root = document.getElementById('sim');
  if (!root) return;
  const $ = (s) => root.querySelector(s);
  const $$ = (s) => Array.from(root.querySelectorAll(s));
  let S = {};
  try { S = JSON.parse(root.dataset.strings); } catch (e) { /* keys are shown */ }
  const fmt = (key, o) => (S[key] || key).replace(/\{(\w+)\}/g, (m, k) => (o && k in o ? o[k] : m));
  const ROLES = ['client', 'server'];
  const VARS = ['ISS', 'IRS', 'SND.UNA', 'SND.NXT', 'RCV.NXT'];

  // at the top: loading, and what is wrong with a scenario; by the buttons: what the
  // last action did, and why the model refuses one (where the reader's eyes are)
  const app = $('.sim-app'), status = $('.sim-status'), alertBox = $('.sim-alert'),
    main = $('.sim-main'), startBox = $('.sim-start'), feedback = $('.sim-feedback'),
    why = $('.sim-why');
  $('.sim-nojs').hidden = true;
  app.hidden = false;

  const say = (text) => { status.textContent = text; };
  const warn = (text) => {
    alertBox.textContent = text;
    alertBox.hidden = !text;
  };
  const refuse = (text) => {
    why.textContent = text;
    why.hidden = !text;
    if (text) why.scrollIntoView({ block: 'nearest' });
  };
  // an address with its port, as a reader writes it: [2001:db8::1]:443
  const hostPort = (ip, port) => (String(ip).includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  if (location.protocol === 'file:') {
    startBox.hidden = true;
    warn(fmt('from_file'));
    return;
  }
  if (typeof WebAssembly !== 'object' || !window.Worker) {
    startBox.hidden = true;
    warn(fmt('no_wasm'));
    return;
  }

  let defaults = {};
  try { defaults = JSON.parse(root.dataset.settings); } catch (e) { /* Python says what is wrong */ }

  // ---- the worker ------------------------------------------------------------------
  let worker = null, seq = 0;
  const pending = new Map();
  const post = (message) => new Promise((resolve, reject) => {
    const id = ++seq;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, ...message });
  });
  const abs = (u) => new URL(u, location.href).href;
  const boot = () => {
    worker = new Worker(abs(root.dataset.worker), { type: 'module' });
    worker.onmessage = (e) => {
      const { id, ready, response, failed } = e.data;
      const p = pending.get(id);
      if (!p) return;
      pending.delete(id);
      if (failed) p.reject(new Error(failed));
      else p.resolve(ready ? true : JSON.parse(response));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      for (const p of pending.values()) p.reject(new Error(e.message || 'worker error'));
      pending.clear();
    };
    return post({ init: { runtime: abs(root.dataset.runtime), bundle: abs(root.dataset.bundle),
      module: root.dataset.module } });
  };
  // one request at a time: each answer is the whole scenario, applied in order
  let busy = Promise.resolve();
  const ask = (request) => {
    const run = busy.then(() => post({ request: JSON.stringify({ defaults, ...request }) }));
    busy = run.catch(() => {});
    return run;
  };

  // ---- what is shown ---------------------------------------------------------------
  const form = $('.sim-form'), formError = $('.sim-form-error');
  const showFormError = (text) => {
    formError.textContent = text;
    formError.hidden = !text;
  };
  let state = null; // the last good answer: settings, steps, trace, start, flights, choices, fragment
  let frame = 0;
  const player = window.stepwisePlayer($('figure.player'), {}, {
    hash: false, start: null, onFrame: (i) => { frame = i; showFrame(); },
  });

  // a message of the scene in a few words: "#3 SYN,ACK nginx → curl"
  const messages = () => {
    const byId = {};
    for (const f of state.scene.frames) for (const m of f.messages) if (!m.arrival) byId[m.id] = m;
    return byId;
  };
  const laneName = (id) => (state.scene.lanes.find((l) => l.id === id) || { name: id }).name;
  const segText = (m) => `#${m.id} ${m.labels.map((l) => l.head).join(' / ')} ` +
    `${laneName(m.from)} → ${laneName(m.to)}`;
  const last = () => (state ? state.steps.length : 0);

  const showChoices = () => {
    const earlier = frame < last();
    const note = $('.sim-earlier');
    note.hidden = !earlier;
    if (earlier) {
      $('.sim-earlier-text').textContent = fmt('earlier', { n: frame, total: last() });
      $('.sim-branch').textContent = fmt('branch', { n: frame });
      $('.sim-to-last').textContent = fmt('to_last', { total: last() });
    }
    for (const c of state.choices) {
      const sel = c.endpoint ? `.sim-do[data-endpoint="${c.endpoint}"][data-verb="${c.verb}"]`
        : `.sim-do[data-verb="${c.verb}"]:not([data-endpoint])`;
      const b = $(sel);
      if (!b) continue;
      const reason = earlier ? fmt('earlier_refused', { n: frame, total: last() }) : c.reason;
      b.setAttribute('aria-disabled', String(!!reason));
      b.dataset.reason = reason || '';
      if (reason) b.title = reason; else b.removeAttribute('title');
      // what the action acts on: the oldest segment in flight, the timer that fires
      const what = $(`[data-what="${c.action.split(' ').slice(0, 2).join(' ')}"]`);
      if (what) {
        what.textContent = c.segment && c.verb === 'deliver' ? segText(messages()[c.segment.id])
          : c.timer ? fmt('timer_fires', { timer: `${timerName(c.timer.name)} ${c.timer.seconds} s` }) : '';
      }
    }
    $('.sim-undo').disabled = !last();
    $('.sim-reset').disabled = !last();
  };
  let words = {};
  try { words = JSON.parse($('figure.player').dataset.words); } catch (e) { /* raw names */ }
  const timerName = (n) => words['timer_' + String(n).toLowerCase().replace(/[- ]/g, '_')] || n;

  const showFrame = () => {
    if (!state) return;
    const shown = frame === 0 ? state.start : state.scene.frames[frame - 1];
    for (const v of VARS) {
      for (const r of ROLES) {
        const cell = $(`tr[data-var="${v}"] td[data-role="${r}"]`);
        const value = shown.variables[r][v];
        cell.textContent = value == null ? '–' : String(value);
      }
    }
    const ids = frame === 0 ? [] : state.flights[frame - 1];
    const byId = messages();
    const list = $('.sim-flight');
    list.replaceChildren(...ids.map((id) => {
      const li = document.createElement('li');
      li.textContent = segText(byId[id]);
      return li;
    }));
    if (!ids.length) {
      const li = document.createElement('li');
      li.className = 'sim-none';
      li.textContent = fmt('nothing_in_flight');
      list.append(li);
    }
    $$('.sim-steps li').forEach((li, n) => (n === frame ? li.setAttribute('aria-current', 'step')
      : li.removeAttribute('aria-current')));
    showChoices();
  };

  const showSteps = () => {
    const list = $('.sim-steps');
    const item = (n, text) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'sim-step';
      b.dataset.frame = n;
      b.textContent = text;
      li.append(b);
      return li;
    };
    list.replaceChildren(item(0, fmt('start_frame')),
      ...state.trace.steps.map((s, i) => item(i + 1, s.title)));
  };

  const showSettings = () => {
    for (const r of ROLES) {
      $(`.sim-${r} .sim-name`).textContent =
        `${state.settings[r].name} ${hostPort(state.settings[r].ip, state.settings[r].port)}`;
    }
    if (form.dataset.edited) return;
    showFormError('');
    for (const r of ROLES) {
      const ep = state.settings[r];
      form.elements[r].value = ep.name;
      form.elements[`${r}_ip`].value = ep.ip;
      form.elements[`${r}_port`].value = ep.port;
      form.elements[`${r}_isn`].value = state.settings.isn[r];
      form.elements[`${r}_delayed_ack`].checked = ep.delayed_ack;
    }
  };

  // Apply an answer of the worker: the scenario it describes becomes the page's.
  const show = (answer, moving, fromUrl) => {
    if (fromUrl) delete form.dataset.edited;  // a new scenario: its own settings
    state = answer;
    player.load({ trace: answer.trace, scene: answer.scene }, answer.steps.length, moving,
      answer.start);
    showSteps();
    showSettings();
    showFrame();
    const hash = '#' + answer.fragment;
    if (location.hash !== hash) history.replaceState(history.state, '', hash);
    $('.sim-link').value = location.href;
    if (exportPanel.open) refreshExport();
    const n = answer.steps.length, e = answer.trace.endpoints;
    const s = n ? answer.trace.steps[n - 1] : { title: '' };
    const f = n ? answer.scene.frames[n - 1] : answer.start, layer = answer.scene.layers[0];
    feedback.textContent = fmt(n ? 'announce' : 'announce_start', {
      n, title: s.title, client: e.client.name, server: e.server.name,
      client_state: f.states.client[layer], server_state: f.states.server[layer] });
  };

  // Ask for a scenario; on refusal, say why (``onError``, else at the top) and keep the
  // one shown. Returns true (shown), false (refused) or null (not asked, or overtaken).
  // One change at a time: a click made while the model computes the last one would
  // build on a scenario about to be replaced, so it is ignored. If the reader moves
  // through the history (Back) meanwhile, the answer is dropped and the URL they went
  // to is opened instead: an answer never lands on another history entry.
  let changing = false;
  const change = async (request, moving, onError) => {
    if (changing) return null;
    changing = true;
    root.setAttribute('aria-busy', 'true');
    const hashBefore = location.hash;
    try {
      const answer = await ask(request);
      if (location.hash !== hashBefore) return null;
      if (!answer.ok) {
        if (onError) onError(answer.error);
        else warn(request.op === 'open' ? fmt('scenario_error', { error: answer.error }) : answer.error);
        return false;
      }
      warn('');
      refuse('');
      show(answer, moving, request.op === 'open');
      return true;
    } catch (err) {
      warn(fmt('failed', { error: err.message }));
      return false;
    } finally {
      changing = false;
      root.removeAttribute('aria-busy');
      if (state && location.hash !== hashBefore) setTimeout(followHash);
    }
  };
  const runSteps = (steps, moving, settings) =>
    change({ op: 'run', settings: settings || state.settings, steps }, moving);

  // ---- starting --------------------------------------------------------------------
  let started = null;
  const start = () => {
    if (started) return started;
    performance.mark('sim-start');
    startBox.hidden = true;
    say(fmt('loading'));
    root.setAttribute('aria-busy', 'true');
    started = boot().then(async () => {
      const fragment = location.hash;
      const opened = hasScenario() && await change({ op: 'open', fragment }, false);
      if (!opened) {
        const message = alertBox.textContent;
        await change({ op: 'run', settings: defaults, steps: [] }, false);
        warn(message);
      }
      main.hidden = false;
      root.removeAttribute('aria-busy');
      performance.mark('sim-first-step');
      say(last() ? '' : fmt('ready'));
    }).catch((err) => {
      root.removeAttribute('aria-busy');
      say('');
      warn(fmt('failed', { error: err.message }));
    });
    return started;
  };
  // "#main" (the skip link) and other ids of the page are places, not scenarios
  const isPlace = () => {
    try { return !!document.getElementById(decodeURIComponent(location.hash.slice(1))); } catch (e) { return false; }
  };
  const hasScenario = () => location.hash.length > 1 && !isPlace();
  $('.sim-start-btn').addEventListener('click', start);
  if (hasScenario()) start();
  // a link of the page's text opens a scenario: bring the simulator into view
  const reveal = () => root.scrollIntoView({ block: 'start',
    behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
  // the URL changed (a link, Back, a hand edit): open its scenario, or keep ours and
  // put our URL back when it cannot be opened
  const followHash = async () => {
    if (!state || changing || location.hash === '#' + state.fragment) return;
    const keep = '#' + state.fragment;
    if (isPlace()) {
      history.replaceState(history.state, '', keep);
      return;
    }
    reveal();
    const ok = await change({ op: 'open', fragment: location.hash }, false);
    if (ok === false) history.replaceState(history.state, '', keep);
  };
  addEventListener('hashchange', () => {
    if (!state) {
      if (hasScenario()) { start(); reveal(); }
      return;
    }
    followHash();  // while a change runs, it follows the URL when it ends
  });

  // ---- the reader's actions --------------------------------------------------------
  root.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b || !state) return;
    if (b.classList.contains('sim-do')) {
      if (b.getAttribute('aria-disabled') === 'true') {
        refuse(fmt('refused', { reason: b.dataset.reason }));
        return;
      }
      let action = b.dataset.endpoint ? `${b.dataset.endpoint} ${b.dataset.verb}` : b.dataset.verb;
      if (b.dataset.verb === 'send') {
        action += ' ' + $(`input[data-bytes="${b.dataset.endpoint}"]`).value.trim();
      }
      runSteps([...state.steps, [action]], true);
    } else if (b.classList.contains('sim-undo')) {
      runSteps(state.steps.slice(0, -1), false);
    } else if (b.classList.contains('sim-reset')) {
      runSteps([], false);
    } else if (b.classList.contains('sim-branch')) {
      runSteps(state.steps.slice(0, frame), false);
    } else if (b.classList.contains('sim-to-last')) {
      player.go(last(), false);
    } else if (b.classList.contains('sim-step')) {
      player.go(+b.dataset.frame, true);
      $('figure.player').scrollIntoView({ block: 'nearest' });
    } else if (b.classList.contains('sim-copy')) {
      copy($(b.dataset.copy), b);
    }
  });

  // the clipboard API needs a secure context (https, localhost); elsewhere the text is
  // selected for the reader to copy, and the page says so rather than claim it copied
  const copy = (field, button) => {
    const note = (key) => { button.nextElementSibling.textContent = fmt(key); };
    field.select();
    const byHand = () => {
      let ok = false;
      try { ok = document.execCommand('copy'); } catch (e) { /* not allowed */ }
      note(ok ? 'copied' : 'copy_by_hand');
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(() => note('copied'), byHand);
    } else {
      byHand();
    }
    button.focus();
  };

  // what the reader typed and did not apply stays in the form, with its error
  form.addEventListener('input', () => { form.dataset.edited = '1'; });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const el = form.elements;
    const num = (v) => (/^\d{1,12}$/.test(v.trim()) ? Number(v.trim()) : v);
    const settings = { isn: {} };
    for (const r of ROLES) {
      settings[r] = { name: el[r].value, ip: el[`${r}_ip`].value.trim(),
        port: num(el[`${r}_port`].value), delayed_ack: el[`${r}_delayed_ack`].checked };
      settings.isn[r] = num(el[`${r}_isn`].value);
    }
    delete form.dataset.edited;
    change({ op: 'run', settings, steps: state.steps }, false, (error) => {
      form.dataset.edited = '1';
      showFormError(error);
    });
  });

  const exportPanel = $('.sim-export');
  const refreshExport = () => {
    const fragment = state.fragment;
    ask({ op: 'export', settings: state.settings, steps: state.steps }).then((answer) => {
      if (!answer.ok) return;
      $('.sim-yaml').value = answer.yaml;
      $('.sim-json').value = answer.json;
      // which scenario the texts show (the export may lag a quick click behind)
      exportPanel.dataset.fragment = fragment;
    }, () => {});
  };
  exportPanel.addEventListener('toggle', () => { if (exportPanel.open && state) refreshExport(); });
})();
