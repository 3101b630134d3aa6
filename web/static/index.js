// The home page: the public list of brands with their choices.
(async function () {
  const el = document.getElementById('brands');
  try {
    const res = await fetch('/v1/brands?limit=50');
    const data = await res.json();
    el.textContent = '';
    if (!data.items.length) { el.innerHTML = '<p class="muted">No brands yet.</p>'; return; }
    for (const b of data.items) {
      const card = document.createElement('article');
      card.className = 'card';
      const h = document.createElement('h3'); h.textContent = b.name; card.appendChild(h);
      const p = document.createElement('p');
      p.textContent = b.notice ? b.notice.text : 'This brand has not published its notice yet.';
      card.appendChild(p);
      const chips = document.createElement('div'); chips.className = 'chips';
      for (const c of b.choices) {
        const s = document.createElement('span'); s.className = 'chip'; s.textContent = c.label;
        chips.appendChild(s);
      }
      card.appendChild(chips);
      const join = document.createElement('a');
      join.className = 'join';
      join.href = '/me#brand/' + encodeURIComponent(b.slug);
      join.textContent = 'Read and join ' + b.name;
      card.appendChild(join);
      el.appendChild(card);
    }
  } catch (e) {
    el.innerHTML = '<p class="muted">Could not load the brands.</p>';
  }
})();
