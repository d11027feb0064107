/**
 * @module web/app/views/files
 * `#/snapshots/<id>/<path…>`: one folder of a snapshot in a virtual list (file-row), the
 * selected entry's details and preview, downloads (file-download; folder-download as a zip),
 * and search by name within the snapshot. Keyboard: arrows move, Enter opens, Backspace goes up.
 */
import type { EntryInfo, SnapshotInfo } from '../../protocol.js';
import { clear, h } from '../dom.js';
import { bytes, dateTime, mimeOf, modeString } from '../format.js';
import { VirtualList } from '../virtual-list.js';
import { hashOf, registerView, type AppContext } from '../views.js';
import { renderPreview } from './preview.js';


function joinPath(dir: readonly string[], name?: string): string {
  return '/' + [...dir, ...(name !== undefined ? [name] : [])].join('/');
}

function details(ctx: AppContext, snap: SnapshotInfo, dir: readonly string[], e: EntryInfo, panel: HTMLElement, signal: AbortSignal): () => void {
  clear(panel);
  const path = joinPath(dir, e.name);
  const rows: [string, string][] = [
    ['Type', e.type],
    ['Size', e.type === 'file' ? `${bytes(e.size)} (${e.size.toLocaleString('en-US')} bytes)` : ''],
    ['Modified', `${dateTime(e.mtime)}`],
    ['Mode', `${modeString(e.mode, e.type)} (${(e.mode & 0o7777).toString(8).padStart(4, '0')})`],
    ['Owner', `${e.user ?? e.uid}:${e.group ?? e.gid}`],
  ];
  if (e.linktarget !== undefined) rows.push(['Target', e.linktarget]);
  if (e.blobs !== undefined) rows.push(['Chunks', String(e.blobs)]);
  const dl = h('dl', { class: 'facts', testid: 'file-details', 'data-name': e.name, 'data-size': e.size });
  for (const [k, v] of rows) if (v) dl.append(h('dt', {}, k), h('dd', {}, v));
  const actions = h('div', { class: 'row' });
  if (e.type === 'file') {
    actions.append(
      h('button', { type: 'button', class: 'primary', testid: 'file-download', onclick: () => void download(ctx, { snapshot: snap.id, path, kind: 'file', name: e.name, mime: mimeOf(e.name) }) }, 'Download'),
    );
  } else if (e.type === 'dir') {
    actions.append(
      h('button', { type: 'button', onclick: () => ctx.navigate(hashOf(['snapshots', snap.id, ...dir, e.name])) }, 'Open'),
      h('button', { type: 'button', testid: 'selected-folder-download', onclick: () => void download(ctx, { snapshot: snap.id, path, kind: 'zip', name: `${e.name}.zip`, mime: 'application/zip' }) }, 'Download as zip'),
    );
  }
  const preview = h('div', { class: 'preview', testid: 'file-preview', 'aria-live': 'polite' });
  panel.append(h('h2', { class: 'name' }, e.name), h('p', { class: 'muted path' }, path), actions, dl, preview);
  let cleanup = (): void => undefined;
  if (e.type === 'file') {
    renderPreview(ctx.client(), ctx.downloads, snap.id, path, e, preview, signal)
      .then((c) => (cleanup = c))
      .catch((err) => preview.append(h('p', { class: 'error' }, `Preview failed: ${(err as Error).message}`)));
  }
  return () => cleanup();
}

async function download(ctx: AppContext, d: { snapshot: string; path: string; kind: 'file' | 'zip'; name: string; mime: string }): Promise<void> {
  try {
    ctx.notify(`Downloading ${d.name}…`);
    const how = await ctx.downloads.start(ctx.client(), d);
    if (how === 'blob') ctx.notify(`${d.name}: assembled in memory (no service worker on this address; use https or localhost for streamed downloads).`);
  } catch (e) {
    ctx.notify(`Download failed: ${(e as Error).message}`, 'error');
  }
}

registerView({
  id: 'browse',
  routes: ['snapshots'],
  accepts: (route) => route.segments.length >= 2,
  async render(ctx, route, main, signal) {
    const [, id, ...dir] = route.segments as [string, string, ...string[]];
    const snap = (await ctx.snapshots()).find((s) => s.id === id || s.short === id);
    if (!snap) {
      main.appendChild(h('p', { class: 'error' }, `No snapshot ${id}.`));
      return;
    }
    ctx.setTitle(`${snap.short} ${joinPath(dir)}`);
    const crumbs = h('nav', { class: 'crumbs', 'aria-label': 'Folder path', testid: 'breadcrumbs' });
    crumbs.append(h('a', { href: hashOf(['snapshots']) }, 'Snapshots'), ' / ', h('a', { href: hashOf(['snapshots', snap.id]) }, `${snap.short} (${dateTime(snap.time)}, ${snap.hostname})`));
    dir.forEach((d, i) => crumbs.append(' / ', h('a', { href: hashOf(['snapshots', snap.id, ...dir.slice(0, i + 1)]) }, d)));

    const status = h('p', { class: 'muted', role: 'status' }, 'Loading…');
    const panel = h('aside', { class: 'details', 'aria-label': 'Details' }, h('p', { class: 'muted' }, 'Select a file to see its details.'));
    const search = h('input', { type: 'search', placeholder: 'Search names in this snapshot', testid: 'file-search', 'aria-label': 'Search by name' });
    const zipHere = h(
      'button',
      { type: 'button', testid: 'folder-download', 'data-path': joinPath(dir), onclick: () => void download(ctx, { snapshot: snap.id, path: joinPath(dir), kind: 'zip', name: `${dir[dir.length - 1] ?? `snapshot-${snap.short}`}.zip`, mime: 'application/zip' }) },
      'Download folder (zip)',
    );
    const up = h('button', { type: 'button', disabled: dir.length === 0, onclick: () => ctx.navigate(hashOf(['snapshots', snap.id, ...dir.slice(0, -1)])), 'aria-label': 'Parent folder' }, '↑ Up');

    let entries: EntryInfo[] = [];
    let paths: string[] | undefined; // search results: full paths
    let cleanup = (): void => undefined;
    signal.addEventListener('abort', () => cleanup());
    const rowHeight = window.matchMedia('(max-width: 640px)').matches ? 48 : 34;
    const open = (i: number): void => {
      const e = entries[i];
      if (!e) return;
      if (e.type === 'dir') {
        const p = paths ? paths[i]!.split('/').filter(Boolean) : [...dir, e.name];
        ctx.navigate(hashOf(['snapshots', snap.id, ...p]));
      }
    };
    const list = new VirtualList({
      rowHeight,
      label: 'Files',
      testid: 'file-list',
      render: (el, i) => {
        const e = entries[i]!;
        el.dataset.testid = 'file-row';
        el.dataset.name = e.name;
        el.dataset.type = e.type;
        el.replaceChildren(
          h('span', { class: `icon icon-${e.type}`, 'aria-hidden': 'true' }),
          h('span', { class: 'fname' }, paths ? paths[i]! : e.name),
          h('span', { class: 'fsize num' }, e.type === 'file' ? bytes(e.size) : ''),
          h('span', { class: 'ftime' }, dateTime(e.mtime)),
        );
      },
      onSelect: (i) => {
        const e = entries[i];
        if (!e) return;
        cleanup();
        const d = paths ? paths[i]!.split('/').filter(Boolean).slice(0, -1) : dir;
        cleanup = details(ctx, snap, d, e, panel, signal);
      },
      onActivate: open,
      // A single click on a folder opens it (the familiar gesture on phones).
      onClick: (i) => {
        if (entries[i]?.type === 'dir' && !paths) open(i);
      },
      onBack: () => {
        if (dir.length) ctx.navigate(hashOf(['snapshots', snap.id, ...dir.slice(0, -1)]));
      },
    });

    const show = (items: EntryInfo[], p?: string[]): void => {
      entries = items;
      paths = p;
      list.setCount(items.length);
      status.textContent = p ? `${items.length} found` : `${items.length.toLocaleString('en-US')} entries`;
    };
    let searchTimer = 0;
    search.addEventListener('input', () => {
      clearTimeout(searchTimer);
      searchTimer = window.setTimeout(async () => {
        const q = search.value.trim();
        if (!q) return show(listing);
        status.textContent = 'Searching…';
        const found = await ctx.client().call({ op: 'search', snapshot: snap.id, query: q, limit: 5000 });
        if (search.value.trim() === q && !signal.aborted) show(found.map((f) => f.entry), found.map((f) => f.path));
      }, 250);
    });

    main.append(
      crumbs,
      h('div', { class: 'toolbar' }, up, search, zipHere),
      status,
      h('div', { class: 'browser' }, list.element, panel),
    );
    // Focus before the listing arrives, so a quick Backspace (or arrow) is not lost on <body>.
    list.element.focus();
    const listing = await ctx.client().call({ op: 'list', snapshot: snap.id, path: joinPath(dir) });
    if (signal.aborted) return;
    performance.mark('coffer-listed');
    show(listing);
    if (!main.contains(document.activeElement)) list.element.focus();
  },
});
