/**
 * @module web/gallery/search
 * Search, `#/search?from=&to=&place=&camera=&q=` (design web-gallery.md §1, §4; nav hook
 * `nav-search`): by date range, place (country), camera and file name. The worker runs it over
 * `/search.json` (search-query.ts) and answers the matching items, newest first; they show as a
 * grid (`search-results`, `data-count` = every match) that opens the viewer. The query lives in
 * the hash (never sent to the server), so a search can be bookmarked and the back button works.
 */
import { h } from '../app/dom.js';
import { registerView, type AppContext, type Route } from '../app/views.js';
import { Grid } from './grid.js';
import type { GallerySearchQuery } from './search-query.js';
import { GalleryStore } from './store.js';
import { installGalleryStyle } from './style.js';

const FIELDS = ['from', 'to', 'place', 'camera', 'q'] as const;

function countryName(code: string): string {
  try {
    return new Intl.DisplayNames(undefined, { type: 'region' }).of(code) ?? code;
  } catch {
    return code;
  }
}

function queryOf(route: Route): GallerySearchQuery {
  const q: Record<string, string> = {};
  for (const f of FIELDS) {
    const v = route.query.get(f)?.trim();
    if (v) q[f] = v;
  }
  return q;
}

async function render(ctx: AppContext, route: Route, main: HTMLElement, signal: AbortSignal): Promise<void> {
  installGalleryStyle();
  ctx.setTitle('Search');
  const info = await ctx.client().call({ op: 'galleryMonths' });
  if (signal.aborted) return;
  if (!info) {
    main.appendChild(h('p', { class: 'g-empty', testid: 'gallery-empty' }, 'No photos yet (coffer backup --gallery).'));
    return;
  }
  const store = new GalleryStore(ctx, info.state);
  const facets = await ctx.client().call({ op: 'gallerySearch', query: {} });
  if (signal.aborted) return;
  const q0 = queryOf(route);
  const field = (label: string, input: HTMLElement): HTMLElement => h('label', {}, h('span', {}, label), input);
  const from = h('input', { type: 'date', testid: 'search-from', value: q0.from ?? '' });
  const to = h('input', { type: 'date', testid: 'search-to', value: q0.to ?? '' });
  const opt = (value: string, text: string, selected: boolean): HTMLOptionElement => h('option', { value, selected }, text);
  const place = h('select', { testid: 'search-place' }, opt('', 'Anywhere', !q0.place),
    ...[...facets.countries].sort((a, b) => countryName(a).localeCompare(countryName(b))).map((c) => opt(c, countryName(c), q0.place === c)));
  const camera = h('select', { testid: 'search-camera' }, opt('', 'Any camera', !q0.camera), ...[...facets.cameras].sort().map((c) => opt(c, c, q0.camera === c)));
  const text = h('input', { type: 'search', testid: 'search-q', placeholder: 'File name', value: q0.q ?? '', 'aria-label': 'File name' });
  const status = h('p', { class: 'muted', testid: 'search-status', role: 'status' });
  const grid = new Grid(ctx, store, { testid: 'search-results', label: 'Search results', removed: () => (grid.element.dataset.count = String(grid.list.length)) }, signal);
  let seq = 0;
  const run = async (q: GallerySearchQuery): Promise<void> => {
    const n = ++seq;
    if (!Object.keys(q).length) {
      grid.set([]);
      delete grid.element.dataset.done;
      status.textContent = 'Choose dates, a place, a camera or words of a file name.';
      return;
    }
    status.textContent = 'Searching…';
    try {
      const r = await ctx.client().call({ op: 'gallerySearch', query: q });
      if (n !== seq || signal.aborted) return;
      grid.set(r.items);
      grid.element.dataset.count = String(r.total);
      grid.element.dataset.done = '';
      status.textContent = r.total === 0 ? 'Nothing matches.' : r.total > r.items.length ? `${r.total} matches; the first ${r.items.length} are shown.` : `${r.total} ${r.total === 1 ? 'match' : 'matches'}.`;
    } catch (e) {
      if (n === seq) status.textContent = `Search failed: ${(e as Error).message}`;
    }
  };
  const submit = (e?: Event): void => {
    e?.preventDefault();
    const q: Record<string, string> = {};
    const vals: Record<(typeof FIELDS)[number], string> = { from: from.value, to: to.value, place: place.value, camera: camera.value, q: text.value.trim() };
    for (const f of FIELDS) if (vals[f]) q[f] = vals[f];
    // The hash keeps the query (back button, bookmarks) without re-rendering the view.
    history.replaceState(null, '', '#/search' + (Object.keys(q).length ? '?' + new URLSearchParams(q).toString() : ''));
    void run(q);
  };
  const clear = (): void => {
    from.value = to.value = text.value = '';
    place.value = camera.value = '';
    submit();
  };
  for (const el of [from, to, place, camera]) el.addEventListener('change', () => submit());
  main.append(
    h('h1', {}, 'Search'),
    h('form', { class: 'g-search-form', role: 'search', testid: 'search-form', onsubmit: submit },
      field('Words of the name', text), field('From', from), field('To', to), field('Place', place), field('Camera', camera),
      h('button', { type: 'submit', class: 'primary', testid: 'search-submit' }, 'Search'),
      h('button', { type: 'button', testid: 'search-clear', onclick: clear }, 'Clear')),
    status,
    grid.element,
  );
  text.focus();
  await run(q0);
}

registerView({
  id: 'search',
  routes: ['search'],
  nav: { testid: 'nav-search', label: 'Search', order: 8 },
  render,
});
