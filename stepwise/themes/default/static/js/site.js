/* linuxlab site behaviour, on every page: the header search and wiki-link previews.
   - Search: Pagefind's JS API (pagefind/pagefind.js, written after the build by
     stepwise.search) is imported only when the reader focuses the box or presses "/";
     nothing of it is fetched before. Results: title, section, excerpt.
   - Previews: hovering or focusing an a.wikilink shows its data-preview-title and
     data-preview-desc (written by the build); Escape hides it; off on touch screens.
   Every word shown comes from the page (data-s-* attributes: strings.ui of theme.yaml,
   or of site.yaml where the site overrides them). */
(() => {
  'use strict';
  const MAX = 10; // results shown

  const box = document.getElementById('sw-search');
  if (box) search(box);
  previews();

  function search(box) {
    const s = box.dataset;
    const input = box.querySelector('input');
    const panel = box.querySelector('.search-panel');
    const status = panel.querySelector('.search-status');
    const list = panel.querySelector('.search-list');
    let loading = null, seq = 0, timer = 0;
    box.hidden = false;

    const load = () => loading || (loading = import(new URL(s.pagefind, document.baseURI).href)
      .then(async (pf) => { await pf.options({ excerptLength: 18 }); await pf.init(); return pf; }));
    const open = (on) => { panel.hidden = !on; };
    const say = (text, q, n) => {
      status.textContent = (text || '').replace('{q}', q || '').replace('{n}', String(n || 0));
    };
    const href = (url) => s.root + String(url).replace(/^\//, '');
    const item = (d) => {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = href(d.raw_url || d.url);
      const title = document.createElement('span');
      title.className = 'sr-title';
      title.textContent = (d.meta && d.meta.title) || a.href;
      a.append(title);
      if (d.meta && d.meta.section) {
        const sec = document.createElement('span');
        sec.className = 'sr-section';
        sec.textContent = d.meta.section;
        a.append(sec);
      }
      const ex = document.createElement('span');
      ex.className = 'sr-excerpt';
      ex.append(excerpt(d.excerpt || ''));
      a.append(ex);
      li.append(a);
      return li;
    };
    const run = async () => {
      const q = input.value.trim();
      const mine = ++seq;
      if (!q) { list.replaceChildren(); open(false); return; }
      open(true);
      let found, data;
      try {
        if (!list.childElementCount) say(s.sLoading);
        const pf = await load();
        found = await pf.search(q);
        data = await Promise.all(found.results.slice(0, MAX).map((r) => r.data()));
      } catch (err) {
        loading = null; // try again on the next query
        if (mine === seq) {
          list.replaceChildren();
          say(location.protocol === 'file:' ? s.sFile : s.sError);
        }
        return;
      }
      if (mine !== seq) return; // a newer query is under way
      const n = found.results.length;
      say(n === 0 ? s.sNone : n === 1 ? s.sOne : s.sMany, q, n);
      list.replaceChildren(...data.map(item));
    };

    input.addEventListener('focus', () => { load().catch(() => { loading = null; }); if (input.value.trim()) open(true); });
    input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(run, 120); });
    const links = () => Array.from(list.querySelectorAll('a'));
    box.addEventListener('keydown', (e) => {
      const all = links(), at = all.indexOf(document.activeElement);
      if (e.key === 'Escape') {
        e.preventDefault();
        if (!panel.hidden) { open(false); input.focus(); } else { input.blur(); }
      } else if (e.key === 'ArrowDown' && all.length) {
        e.preventDefault();
        open(true);
        all[Math.min(at + 1, all.length - 1)].focus();
      } else if (e.key === 'ArrowUp' && at >= 0) {
        e.preventDefault();
        (at === 0 ? input : all[at - 1]).focus();
      }
    });
    document.addEventListener('keydown', (e) => {
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
      const t = e.target;
      if (t.isContentEditable || (t.closest && t.closest('input,textarea,select'))) return;
      e.preventDefault();
      input.focus();
      input.select();
    });
    document.addEventListener('pointerdown', (e) => { if (!box.contains(e.target)) open(false); });
    box.addEventListener('focusout', (e) => { if (!box.contains(e.relatedTarget)) open(false); });
  }

  // Pagefind's excerpt is HTML with <mark> around the matches: keep the text and the
  // marks only (parsed inert by DOMParser, nothing else is taken over).
  function excerpt(html) {
    const out = document.createDocumentFragment();
    const body = new DOMParser().parseFromString(html, 'text/html').body;
    for (const node of body.childNodes) {
      if (node.nodeName === 'MARK') {
        const m = document.createElement('mark');
        m.textContent = node.textContent;
        out.append(m);
      } else {
        out.append(node.textContent);
      }
    }
    return out;
  }

  function previews() {
    if (matchMedia('(pointer: coarse)').matches) return;
    if (!document.querySelector('a.wikilink[data-preview-title]')) return;
    const tip = document.createElement('div');
    tip.className = 'link-preview';
    tip.id = 'sw-preview';
    tip.setAttribute('role', 'tooltip');
    tip.hidden = true;
    const title = document.createElement('strong');
    const desc = document.createElement('span');
    tip.append(title, desc);
    document.body.append(tip);
    let current = null, hiding = 0;
    const target = (e) => e.target.closest && e.target.closest('a.wikilink[data-preview-title]');

    const show = (a) => {
      clearTimeout(hiding);
      if (current && current !== a) current.removeAttribute('aria-describedby');
      current = a;
      title.textContent = a.dataset.previewTitle;
      desc.textContent = a.dataset.previewDesc || '';
      desc.hidden = !a.dataset.previewDesc;
      a.setAttribute('aria-describedby', tip.id);
      tip.hidden = false;
      const r = a.getBoundingClientRect(), w = tip.offsetWidth, h = tip.offsetHeight;
      const left = Math.max(8, Math.min(r.left, document.documentElement.clientWidth - w - 8));
      const below = r.bottom + 6 + h <= innerHeight || r.top < h + 6;
      tip.style.left = `${left + scrollX}px`;
      tip.style.top = `${(below ? r.bottom + 6 : r.top - h - 6) + scrollY}px`;
    };
    const hide = () => {
      clearTimeout(hiding);
      if (current) current.removeAttribute('aria-describedby');
      current = null;
      tip.hidden = true;
    };
    const later = () => { clearTimeout(hiding); hiding = setTimeout(hide, 150); };

    document.addEventListener('mouseover', (e) => {
      const a = target(e);
      if (a) show(a);
      else if (current && !tip.contains(e.target)) later();
    });
    document.addEventListener('mouseout', (e) => { if (target(e) === current) later(); });
    tip.addEventListener('mouseover', () => clearTimeout(hiding));
    document.addEventListener('focusin', (e) => { const a = target(e); if (a) show(a); else hide(); });
    document.addEventListener('focusout', (e) => { if (target(e) === current) hide(); });
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && current) hide(); });
    addEventListener('scroll', () => { if (current && document.activeElement !== current) hide(); },
      { passive: true });
  }
})();
