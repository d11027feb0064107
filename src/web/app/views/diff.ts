/**
 * @module web/app/views/diff
 * `#/diff/<a>/<b>`: what changed between two snapshots, with the core's diff (restic's
 * modifiers: + added, - removed, M modified, T type changed, ? content changed alone).
 */
import { h } from '../dom.js';
import { bytes, dateTime } from '../format.js';
import { hashOf, registerView } from '../views.js';

const LIMIT = 20_000;
const WHAT: Record<string, string> = { '+': 'added', '-': 'removed', M: 'modified', T: 'type changed', U: 'metadata', '?': 'content changed, same metadata' };

registerView({
  id: 'diff',
  routes: ['diff'],
  async render(ctx, route, main, signal) {
    const [, a, b] = route.segments;
    const snaps = await ctx.snapshots();
    const sa = snaps.find((s) => s.id === a);
    const sb = snaps.find((s) => s.id === b);
    if (!sa || !sb) {
      main.appendChild(h('p', { class: 'error' }, 'Pick two snapshots to compare.'));
      return;
    }
    ctx.setTitle(`${sa.short} → ${sb.short}`);
    const status = h('p', { class: 'muted', role: 'status' }, 'Comparing…');
    main.append(h('nav', { class: 'crumbs' }, h('a', { href: hashOf(['snapshots']) }, 'Snapshots'), ` / ${sa.short} (${dateTime(sa.time)}) → ${sb.short} (${dateTime(sb.time)})`), status);
    const d = await ctx.client().call({ op: 'diff', a: sa.id, b: sb.id, limit: LIMIT });
    if (signal.aborted) return;
    status.textContent = `${d.changes.length + d.truncated} changes · added ${d.added.files} files, ${d.added.dirs} folders (${bytes(d.added.bytes)}) · removed ${d.removed.files} files, ${d.removed.dirs} folders (${bytes(d.removed.bytes)})`;
    const list = h('ul', { class: 'diff', testid: 'diff-list' });
    for (const c of d.changes) {
      const path = c.path.split('/').filter(Boolean);
      const target = c.modifier === '-' ? sa : sb;
      const dirPath = c.path.endsWith('/') ? path : path.slice(0, -1);
      list.appendChild(
        h('li', { testid: 'diff-row', 'data-modifier': c.modifier, class: `m-${c.modifier === '+' ? 'add' : c.modifier === '-' ? 'del' : 'mod'}` },
          h('span', { class: 'mod mono', title: WHAT[c.modifier] ?? c.modifier }, c.modifier),
          h('a', { href: hashOf(['snapshots', target.id, ...dirPath]) }, c.path)),
      );
    }
    main.appendChild(d.changes.length ? list : h('p', { class: 'empty' }, 'No differences.'));
    if (d.truncated) main.appendChild(h('p', { class: 'muted' }, `… and ${d.truncated} more.`));
  },
});
