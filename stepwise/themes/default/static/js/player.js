/* stepwise player: draws and plays a simulation, any model's (docs/models.md).

   It draws a *scene*, which the model computed in Python: lanes (the participants), a
   state badge per lane and per layer (BGP over TCP: two), labelled messages between
   lanes, and timers; frame by frame, one frame per step of the trace. The browser only
   draws: no protocol logic here. Every visible word comes from data-s-* attributes.
   Markup: templates/partials/player.html (figure.player) and, on a lesson page,
   templates/partials/steps.html (.pl-step links).

   window.stepwisePlayer(fig, {trace, scene}, options) makes a player of a figure and
   returns { load({trace, scene}, frame, moving, start), go(frame), frame() }. A lesson
   page's player is made below from its embedded trace and scene (#lesson-trace,
   #lesson-scene); the simulator (simulator.js) makes its own, with options { start: the
   scene frame before any action (frame 0), hash: false (the URL's fragment is the
   simulator's), onFrame(frame, step): called on every frame shown }. */
(() => {
  'use strict';
  const create = (fig, data0, opts) => {
    opts = { hash: true, keys: true, start: null, onFrame: null, ...(opts || {}) };
    let steps = [], N = 0, maxRows = 1, maxT = 0, maxLabels = 1;
    let lanes = [], layers = [], cats = {};
    // the frames drawn (the start, when given, then one per step), and their steps
    let frames = [], texts = [];
    const ds = fig.dataset;
    const T = (k) => ds['s' + k] || '';
    // the player's strings, for the words a scene names: roles, timers
    let words = {};
    try { words = JSON.parse(ds.words || '{}'); } catch (e) { /* keep the scene's own words */ }
    const role = (r) => words[r] || r;
    const timerName = (n) => words['timer_' + String(n).toLowerCase().replace(/[- ]/g, '_')] || n;
    const q = (s) => fig.querySelector(s);
    const sceneEl = q('.pl-scene'), text = q('.pl-text'), count = q('.pl-count'),
      title = q('.pl-title'), bar = q('.pl-bar'), prog = q('.pl-progress');
    // a lesson's "explore from here" link follows the step shown
    const exploreLink = q('.pl-explore');
    let explore = [];
    try { explore = JSON.parse(ds.explore || '[]'); } catch (e) { /* no links */ }
    const SVGNS = 'http://www.w3.org/2000/svg';
    const esc = (v) => String(v == null ? '' : v).replace(/[&<>"]/g, (c) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
    const fmt = (s, o) => s.replace(/\{(\w+)\}/g, (m, k) => (k in o ? o[k] : m));
    const reduced = () => matchMedia('(prefers-reduced-motion: reduce)').matches;

    const timersOf = (f, lane) => (f.timers || []).filter((t) => t.lane === lane);
    const setData = ({ trace, scene }) => {
      steps = (trace && trace.steps) || [];
      lanes = (scene && scene.lanes) || [];
      layers = (scene && scene.layers) || [];
      cats = (scene && scene.categories) || {};
      const drawn = (scene && scene.frames) || [];
      frames = opts.start ? [opts.start, ...drawn] : drawn;
      texts = opts.start ? [{ title: '', html: '' }, ...steps] : steps;
      N = frames.length;
      maxRows = Math.max(1, ...frames.map((f) => (f.messages || []).length));
      maxT = Math.max(0, ...frames.flatMap((f) => lanes.map((l) => timersOf(f, l.id).length)));
      maxLabels = Math.max(1, ...frames.flatMap((f) => (f.messages || []).map((m) => m.labels.length)));
    };

    // Geometry, in CSS pixels (viewBox = rendered width, so text keeps its size on a phone).
    // W=400 gives the numbers templates/partials/player.html uses for the static frame.
    const layout = () => {
      const W = Math.max(300, Math.round(sceneEl.clientWidth || 640));
      const narrow = W < 480;
      const inset = Math.max(narrow ? 58 : 72, (W - 620) / 2);
      const extra = (Math.max(1, layers.length) - 1) * 26; // a badge per layer
      const rowh = 54 + (maxLabels - 1) * 15; // a label per layer of a message
      const top = 116 + extra + (maxLabels - 1) * 15, drop = 22, end = top + maxRows * rowh;
      const X = {};
      lanes.forEach((l, k) => { X[l.id] = inset + (W - 2 * inset) * (lanes.length > 1 ? k / (lanes.length - 1) : 0.5); });
      return { W, H: end + 14 + maxT * 20, X, top, rowh, drop, end, narrow, life: 88 + extra };
    };

    // One label of a message, on two lines when one would not fit the scene's width:
    // its head in bold, then its text parts, the second part on a line of its own.
    const label = (lb, L, x, y, tail) => {
      const parts = lb.text || [];
      const two = (lb.head + parts.join('')).length * (L.narrow ? 6.7 : 7.3) > L.W - 40 && parts.length > 1;
      const rest = parts.slice(1).join('');
      return `<text class="pl-lbl${lb.layer ? ' pl-lbl-' + esc(lb.layer) : ''}" x="${x}" y="${two ? y - 13 : y}" text-anchor="middle">` +
        `<tspan class="pl-flags">${esc(lb.head)}</tspan>${esc(parts[0] || '')}` +
        (two ? `<tspan x="${x}" dy="13">${esc(rest.replace(/^ /, ''))}</tspan>` : esc(rest)) + tail + '</text>';
    };
    const cat = (layer, st) => (cats[layer] || {})[st] || 'c';
    const bw = (st) => String(st).length * 7 + 20;
    const badge = (lane, layer, x, y, st) =>
      `<g class="pl-badge pl-st-${cat(layer, st)}" data-endpoint="${esc(lane)}" data-layer="${esc(layer)}" data-state="${esc(st)}">` +
      `<rect x="${x - bw(st) / 2}" y="${y}" width="${bw(st)}" height="22" rx="11"/>` +
      `<text x="${x}" y="${y + 15}" text-anchor="middle">${esc(st)}</text></g>`;
    const setBadge = (el, st, pulse) => {
      const x = +el.querySelector('text').getAttribute('x'), r = el.querySelector('rect');
      el.setAttribute('class', `pl-badge pl-st-${cat(el.dataset.layer, st)}${pulse ? ' pl-pulse' : ''}`);
      el.dataset.state = st;
      r.setAttribute('x', x - bw(st) / 2);
      r.setAttribute('width', bw(st));
      el.querySelector('text').textContent = st;
    };
    const stateOf = (f, lane, layer) => ((f.states || {})[lane] || {})[layer];

    // One row of the ladder: a message from lane to lane (or from mid-wire when it arrives).
    const seg = (g, r, L) => {
      const x0 = L.X[g.from], x1 = L.X[g.to];
      if (x0 == null || x1 == null) return { svg: '' };
      const y0 = L.top + r * L.rowh, y1 = y0 + L.drop, mx = L.W / 2, my = y0 + L.drop / 2;
      const lost = g.fate === 'lost', done = g.fate === 'delivered';
      const at = (f) => [x0 + (x1 - x0) * f, y0 + (y1 - y0) * f];
      const [sx, sy] = g.arrival ? [mx, my] : [x0, y0];
      const [ex, ey] = done ? [x1, y1] : at(g.arrival ? 0.75 : 0.5);
      const d = Math.sign(x1 - x0), k = L.drop / Math.abs(x1 - x0);
      let h = `<g class="pl-seg pl-${x1 > x0 ? 'c2s' : 's2c'}${lost ? ' pl-lost' : ''}">`;
      if (g.arrival) h += `<path class="pl-ghost" d="M${x0} ${y0}L${mx} ${my}"/>`;
      if (!done && !lost) h += `<path class="pl-ghost" d="M${ex} ${ey}L${x1} ${y1}"/>`;
      h += `<path class="pl-wire" pathLength="1" d="M${sx} ${sy}L${ex} ${ey}"/>`;
      if (done) {
        h += `<path class="pl-arrow" d="M${x1} ${y1}l${-9 * d} ${-9 * k - 4}l0 8z"/>` +
          `<circle class="pl-ripple" cx="${x1}" cy="${y1}" r="10"/>`;
      }
      h += `<g class="pl-pkt${done || lost ? ' pl-gone' : ''}" transform="translate(${ex} ${ey})">` +
        '<rect x="-6" y="-4.5" width="12" height="9" rx="2"/></g>';
      if (lost) {
        h += `<path class="pl-x" d="M${ex - 6} ${ey - 6}l12 12m0 -12l-12 12"/>`;
      }
      // the lowest layer's label next to the wire, the layers above it stacked higher
      const n = g.labels.length;
      g.labels.forEach((lb, i) => {
        const tail = lost && i === n - 1 ? ` <tspan class="pl-lostw">${esc(T('Lost'))}</tspan>` : '';
        h += label(lb, L, mx, y0 - 6 - (n - 1 - i) * 15, tail);
      });
      h += '</g>';
      return { svg: h, sx, sy, ex, ey, done, lost, f: Math.abs(ex - sx) / Math.abs(x1 - x0) };
    };

    const timer = (t, x, y, side) =>
      `<g class="pl-timer"><circle cx="${x}" cy="${y}" r="6"/><path d="M${x} ${y}v-3.5"/>` +
      `<text x="${x + side * 12}" y="${y + 4}" text-anchor="${side > 0 ? 'start' : 'end'}">` +
      `${esc(timerName(t.name))} ${esc(fmt(T('Seconds'), { n: t.seconds }))}</text></g>`;

    let cur = 0, playing = false, next = 0, lastW = 0, anims = [], waits = [];
    const qs = new URLSearchParams(location.search);
    // The pause to read a step while playing: ?interval=ms if given, else by the text's length.
    const readMs = (s) => +qs.get('interval') || Math.max(+ds.interval || 2200,
      Math.min(12000, (s.html || '').replace(/<[^>]*>/g, ' ').split(/\s+/).length * 170));

    const stopMotion = () => {
      anims.forEach((a) => a.cancel());
      waits.forEach(clearTimeout);
      anims = []; waits = [];
    };
    const anim = (el, kf, o) => { if (el && el.animate) anims.push(el.animate(kf, { fill: 'backwards', easing: 'ease-in-out', ...o })); };

    // Draw frame i; animate from the previous frame's states when asked. Returns the motion's length in ms.
    const render = (i, moving) => {
      stopMotion();
      const s = frames[i], prev = i > 0 ? frames[i - 1] : s, L = layout();
      lastW = L.W;
      let h = '';
      lanes.forEach((lane, k) => {
        const x = L.X[lane.id], side = k === 0 ? 1 : -1;
        h += `<g class="pl-ep pl-${esc(lane.id)}">` +
          `<text class="pl-role" x="${x}" y="14" text-anchor="middle">${esc(role(lane.role))}</text>` +
          `<text class="pl-name" x="${x}" y="32" text-anchor="middle">${esc(lane.name)}</text>` +
          `<text class="pl-addr" x="${x}" y="48" text-anchor="middle">${esc(lane.address)}</text>` +
          `<line class="pl-life" x1="${x}" y1="${L.life}" x2="${x}" y2="${L.end}"/>` +
          layers.map((layer, li) => badge(lane.id, layer, x, 58 + li * 26,
            stateOf(moving ? prev : s, lane.id, layer))).join('') +
          timersOf(s, lane.id).map((t, j) => timer(t, x, L.end + 14 + j * 20, side)).join('') + '</g>';
      });
      // several layers: their names between the lanes, level with their badges
      if (layers.length > 1) {
        h += layers.map((layer, li) => `<text class="pl-layer" x="${L.W / 2}" y="${73 + li * 26}" ` +
          `text-anchor="middle">${esc(layer.toUpperCase())}</text>`).join('');
      }
      const rows = (s.messages || []).map((g, r) => ({ g, ...seg(g, r, L) }));
      h += rows.map((r) => r.svg).join('');
      const svg = document.createElementNS(SVGNS, 'svg');
      svg.setAttribute('class', 'pl-svg' + (L.narrow ? ' pl-narrow' : ''));
      svg.setAttribute('viewBox', `0 0 ${L.W} ${L.H}`);
      svg.setAttribute('role', 'img');
      svg.setAttribute('aria-label', lanes.map((lane) =>
        `${role(lane.role)} ${lane.name}: ` +
        layers.map((layer) => (layers.length > 1 ? `${layer.toUpperCase()} ` : '') +
          stateOf(s, lane.id, layer)).join(', ')).join('; '));
      svg.innerHTML = h;
      sceneEl.replaceChildren(svg);
      if (!moving) return 0;

      // The timeline: rows one after another; a badge changes at its lane's last event.
      const segEls = svg.querySelectorAll('.pl-seg');
      const when = {};
      for (const lane of lanes) when[lane.id] = 0;
      let t = 250;
      rows.forEach((r, n) => {
        if (!r.svg) return;
        const el = segEls[n], dur = 380 + 760 * r.f, end = t + dur;
        const [a, b] = [`translate(${r.sx}px,${r.sy}px)`, `translate(${r.ex}px,${r.ey}px)`];
        anim(el.querySelector('.pl-wire'), [{ strokeDashoffset: 1 }, { strokeDashoffset: 0 }], { duration: dur, delay: t });
        anim(el.querySelector('.pl-pkt'), [
          { opacity: 0, transform: a, easing: 'ease-in-out' }, { opacity: 1, offset: 0.05 },
          { transform: b, opacity: 1, offset: dur / (dur + 300) }, { transform: b, opacity: r.done || r.lost ? 0 : 1 },
        ], { duration: dur + 300, delay: t, fill: 'both', easing: 'linear' });
        el.querySelectorAll('.pl-ghost,.pl-lbl').forEach((x) =>
          anim(x, [{ opacity: 0 }, { opacity: 1 }], { duration: 300, delay: t }));
        anim(el.querySelector('.pl-arrow'), [{ opacity: 0 }, { opacity: 1 }], { duration: 120, delay: end - 60 });
        anim(el.querySelector('.pl-ripple'), [{ opacity: 0.7, transform: 'scale(.3)' }, { opacity: 0, transform: 'scale(1.4)' }],
          { duration: 600, delay: end, easing: 'ease-out', fill: 'none' });
        anim(el.querySelector('.pl-x'), [{ opacity: 0, transform: 'scale(.2)' }, { opacity: 1, transform: 'scale(1)' }],
          { duration: 260, delay: end });
        if (!r.g.arrival) when[r.g.from] = Math.max(when[r.g.from], t);
        if (r.done) when[r.g.to] = Math.max(when[r.g.to], end);
        t = end + 140;
      });
      svg.querySelectorAll('.pl-badge').forEach((el) => {
        const lane = el.dataset.endpoint, st = stateOf(s, lane, el.dataset.layer);
        if (st !== el.dataset.state) waits.push(setTimeout(() => setBadge(el, st, 1), when[lane]));
      });
      svg.querySelectorAll('.pl-ep').forEach((ep, k) => {
        const id = lanes[k].id, old = timersOf(prev, id).map((x) => x.name);
        ep.querySelectorAll('.pl-timer').forEach((el, n) => {
          if (!old.includes(timersOf(s, id)[n].name)) anim(el, [{ opacity: 0 }, { opacity: 1 }], { duration: 400, delay: t });
        });
      });
      return t;
    };

    // the step number a frame shows: frame 0 is the start (step 0) when there is one
    const number = (i) => i + (opts.start ? 0 : 1);
    const counter = (i) => fmt(T('Counter'), { n: number(i), total: steps.length });
    const items = opts.hash ? document.querySelectorAll('.pl-step') : [];
    const setPlaying = (on) => {
      playing = on;
      clearTimeout(next);
      fig.classList.toggle('pl-playing', on);
      q('[data-act=play]').setAttribute('aria-label', T(on ? 'Pause' : 'Play'));
    };

    const go = (i, moving, sync) => {
      cur = Math.max(0, Math.min(N - 1, i));
      const s = texts[cur];
      const ms = render(cur, moving && !reduced());
      fig.dataset.step = number(cur);
      count.textContent = counter(cur);
      title.textContent = (opts.start && cur === 0 ? T('Start') : s.title) || '';
      text.innerHTML = s.html || '';
      prog.max = Math.max(1, N);
      prog.value = cur + 1;
      prog.setAttribute('aria-valuetext', counter(cur));
      items.forEach((li, n) => (n === cur ? li.setAttribute('aria-current', 'step') : li.removeAttribute('aria-current')));
      if (exploreLink) {
        exploreLink.hidden = !explore[cur];
        if (explore[cur]) {
          exploreLink.href = explore[cur];
          exploreLink.setAttribute('aria-label', fmt(T('ExploreStep'), { n: number(cur) }));
        }
      }
      if (sync && opts.hash) history.replaceState(history.state, '', '#step-' + (cur + 1));
      if (opts.onFrame) opts.onFrame(cur, frames[cur]);
      if (playing) {
        if (cur >= N - 1) setPlaying(false);
        else next = setTimeout(() => go(cur + 1, true, true), ms + readMs(s));
      }
    };
    const jump = (i, moving) => { setPlaying(false); if (i >= 0 && i < N) go(i, moving, true); };
    const toggle = () => {
      if (playing) return setPlaying(false);
      setPlaying(true);
      go(cur >= N - 1 ? 0 : cur + 1, true, true);
    };
    const act = {
      restart: () => jump(0, false), prev: () => jump(cur - 1, false),
      next: () => jump(cur + 1, true), play: toggle, end: () => jump(N - 1, false),
    };

    bar.addEventListener('click', (e) => {
      const b = e.target.closest('[data-act]');
      if (b) act[b.dataset.act]();
    });
    if (opts.hash) {
      document.addEventListener('click', (e) => {
        const a = e.target.closest && e.target.closest('a[data-goto]');
        if (!a || e.button || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        jump(+a.dataset.goto - 1, true);
        fig.scrollIntoView({ block: 'nearest', behavior: reduced() ? 'auto' : 'smooth' });
      });
    }
    const KEYS = { ArrowRight: 'next', ArrowLeft: 'prev', Home: 'restart', End: 'end', ' ': 'play' };
    document.addEventListener('keydown', (e) => {
      const t = e.target, k = KEYS[e.key];
      if (!opts.keys || !k || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
      if (t.isContentEditable || (t.closest && t.closest('input,textarea,select'))) return;
      if (k === 'play' && (e.shiftKey || (t.closest && t.closest('button,a,summary,[role=button]')))) return;
      e.preventDefault();
      act[k]();
    });
    const fromHash = () => {
      const m = /^#step-(\d+)$/.exec(location.hash);
      return m ? +m[1] - 1 : -1;
    };
    if (opts.hash) {
      addEventListener('hashchange', () => {
        const k = fromHash();
        if (k >= 0 && k < N && k !== cur) jump(k, true);
      });
    }
    if (window.ResizeObserver) {
      new ResizeObserver(() => {
        if (N && Math.abs(Math.round(sceneEl.clientWidth) - lastW) > 1) render(cur, false);
      }).observe(sceneEl);
    }

    fig.classList.add('pl-js');
    bar.hidden = false;
    setData(data0 || {});
    const api = {
      /* Show a new trace and scene (the start frame, when given, is frame 0) at
         ``frame`` (default: the last), animating into it when ``moving``. */
      load(data, frame, moving, start) {
        if (start !== undefined) opts.start = start;
        setPlaying(false);
        setData(data);
        go(frame == null ? N - 1 : frame, !!moving, false);
      },
      go: (frame, moving) => jump(frame, !!moving),
      frame: () => cur,
    };
    if (opts.hash) {
      const h0 = fromHash();
      if (h0 >= 0 && h0 < N) {
        go(h0, true, false);
        requestAnimationFrame(() => fig.scrollIntoView({ block: 'start' }));
        return api;
      }
    }
    if (N) go(0, false, false);
    return api;
  };

  window.stepwisePlayer = create;
  // a lesson page: the player of its embedded trace and scene
  const fig = document.querySelector('figure.player');
  const src = document.getElementById('lesson-trace'), sc = document.getElementById('lesson-scene');
  if (!fig || !src || !sc) return;
  let trace, scene;
  try { trace = JSON.parse(src.textContent); scene = JSON.parse(sc.textContent); } catch (e) { return; }
  if (trace && scene && scene.frames && scene.frames.length) create(fig, { trace, scene });
})();
