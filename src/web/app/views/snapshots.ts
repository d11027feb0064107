/**
 * @module web/app/views/snapshots
 * `#/snapshots`: every snapshot, newest first (time, ID, host, paths, tags, size, files), a
 * filter over all of those, Coffer's internal records hidden unless asked, and "compare" for
 * two ticked snapshots (`#/diff/<a>/<b>`). `#/files` opens the newest snapshot's files.
 */
import type { SnapshotInfo } from '../../protocol.js';
import { clear, h } from '../dom.js';
import { bytes, count, dateTime } from '../format.js';
import { hashOf, registerView } from '../views.js';

function matches(s: SnapshotInfo, q: string): boolean {
  if (!q) return true;
  const hay = [s.id, s.hostname, s.username, ...s.paths, ...s.tags, dateTime(s.time)].join('\n').toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

registerView({
  id: 'snapshots',
  routes: ['snapshots'],
  nav: { testid: 'nav-snapshots', label: 'Snapshots', order: 50 },
  accepts: (route) => route.segments.length <= 1,
  async render(ctx, route, main, signal) {
    ctx.setTitle('Snapshots');
    const all = await ctx.snapshots();
    if (signal.aborted) return;
    const picked = new Set<string>();
    const filter = h('input', { type: 'search', placeholder: 'Filter: host, path, tag, ID, date', testid: 'snapshot-filter', 'aria-label': 'Filter snapshots', value: route.query.get('q') ?? '' });
    const internal = h('input', { type: 'checkbox', testid: 'snapshot-show-internal' });
    const compare = h('button', { type: 'button', testid: 'snapshot-compare', disabled: true }, 'Compare two');
    const summary = h('p', { class: 'muted', role: 'status' });
    const body = h('tbody');
    const table = h(
      'table',
      { class: 'snapshots', testid: 'snapshot-list' },
      h('thead', {}, h('tr', {}, h('th', { class: 'pick' }, h('span', { class: 'sr' }, 'Select')), h('th', {}, 'Time'), h('th', {}, 'ID'), h('th', {}, 'Host'), h('th', {}, 'Paths'), h('th', {}, 'Tags'), h('th', { class: 'num' }, 'Size'), h('th', { class: 'num' }, 'Files'))),
      body,
    );
    compare.addEventListener('click', () => {
      const [a, b] = all.filter((s) => picked.has(s.id)); // oldest first
      if (a && b) ctx.navigate(hashOf(['diff', a.id, b.id]));
    });

    const draw = (): void => {
      clear(body);
      const shown = all.filter((s) => (internal.checked || !s.internal) && matches(s, filter.value.trim())).reverse();
      for (const s of shown) {
        // One backed-up path: open it directly rather than the folders above it.
        const open = (): void => ctx.navigate(hashOf(['snapshots', s.id, ...(s.paths.length === 1 ? s.paths[0]!.split('/').filter(Boolean) : [])]));
        const box = h('input', {
          type: 'checkbox',
          testid: 'snapshot-select',
          'aria-label': `Select ${s.short} to compare`,
          checked: picked.has(s.id),
          onclick: (e: Event) => e.stopPropagation(),
          onchange: (e: Event) => {
            if ((e.target as HTMLInputElement).checked) picked.add(s.id);
            else picked.delete(s.id);
            compare.disabled = picked.size !== 2;
          },
        });
        body.appendChild(
          h(
            'tr',
            {
              testid: 'snapshot-row',
              'data-id': s.id,
              'data-short-id': s.short,
              tabindex: 0,
              class: s.internal ? 'internal' : undefined,
              onclick: open,
              onkeydown: (e: Event) => {
                const k = (e as KeyboardEvent).key;
                const row = e.currentTarget as HTMLElement;
                if (k === 'Enter') open();
                else if (k === 'ArrowDown') (row.nextElementSibling as HTMLElement | null)?.focus();
                else if (k === 'ArrowUp') (row.previousElementSibling as HTMLElement | null)?.focus();
                else return;
                e.preventDefault();
              },
            },
            h('td', { class: 'pick' }, box),
            h('td', { 'data-label': 'Time' }, h('time', { datetime: s.timeText, title: s.timeText }, dateTime(s.time))),
            h('td', { 'data-label': 'ID', class: 'mono' }, s.short),
            h('td', { 'data-label': 'Host' }, s.hostname),
            h('td', { 'data-label': 'Paths', class: 'paths' }, s.paths.join(', ')),
            h('td', { 'data-label': 'Tags' }, ...s.tags.map((t) => h('span', { class: 'tag' }, t))),
            h('td', { 'data-label': 'Size', class: 'num' }, bytes(s.size)),
            h('td', { 'data-label': 'Files', class: 'num' }, count(s.files)),
          ),
        );
      }
      summary.textContent = `${shown.length} of ${all.length} snapshots`;
    };
    filter.addEventListener('input', draw);
    internal.addEventListener('change', draw);
    draw();
    main.append(
      h('div', { class: 'toolbar' }, filter, h('label', { class: 'check' }, internal, " Coffer's records"), compare),
      summary,
      all.length ? table : h('p', { class: 'empty' }, 'No snapshots yet: run "coffer backup" first.'),
    );
    filter.focus();
  },
});

registerView({
  id: 'files',
  routes: ['files'],
  nav: { testid: 'nav-files', label: 'Files', order: 40 },
  async render(ctx, _route, main) {
    const all = (await ctx.snapshots()).filter((s) => !s.internal);
    const last = all[all.length - 1];
    if (!last) {
      main.appendChild(h('p', { class: 'empty' }, 'No snapshots yet: run "coffer backup" first.'));
      return;
    }
    ctx.navigate(hashOf(['snapshots', last.id]), true);
  },
});
