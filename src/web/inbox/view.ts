/**
 * @module web/inbox/view
 * `#/inbox` (design web-gallery.md §6, §11): the pending items as a grid of thumbnails, oldest
 * first, opened in the worker; a click toggles an item's selection; approve, keep private or
 * reject act on the selection. Each item says which copies will hold it if approved and if kept
 * private (the copies' tag policies from the local config: a copy that excludes `private` never
 * gets a private item). The phone box shows the QR code of the upload page
 * `http://<lan address>:<port>/u/<upload token>`.
 *
 * Hooks: `nav-inbox`; `inbox-item` (`data-item-id`, `data-name`, `aria-selected`,
 * `data-copies-approve`, `data-copies-private`); `inbox-approve`, `inbox-private`,
 * `inbox-reject`; `inbox-view` (per item: a larger look, `inbox-preview` with
 * `inbox-preview-media`, Esc or `inbox-preview-close` closes); `inbox-album` (optional album tag for what is stored); `inbox-grid` (`data-count`), `inbox-empty`, `inbox-upload-url`, `inbox-qr`.
 */
import { admits } from '../../core/engine/sync/sync.js';
import type { Snapshot } from '../../core/format/types.js';
import { decisionTags } from '../../core/inbox/staged.js';
import type { InboxItemInfo } from '../protocol.js';
import { clear, h } from '../app/dom.js';
import { bytes } from '../app/format.js';
import { registerView, type AppContext } from '../app/views.js';
import { installInboxStyle } from './style.js';

const POLL_MS = 4000;

interface Setup {
  hasKey: boolean;
  uploadUrls: string[];
  qrSvg: string | null;
  hostname: string;
  username: string;
  copies: { name: string; excludeTags: string[]; onlyTags: string[] }[];
}

/** Copies (primary first) that will hold a snapshot with `tags` at `root`, by their policies. */
export function copiesFor(setup: Pick<Setup, 'copies' | 'hostname'>, root: string, tags: readonly string[]): string[] {
  const s = { hostname: setup.hostname, paths: [root], tags: [...tags] } as unknown as Snapshot;
  return ['primary', ...setup.copies.filter((c) => admits(s, { excludeTags: c.excludeTags, onlyTags: c.onlyTags })).map((c) => c.name)];
}

async function loadSetup(): Promise<Setup> {
  const res = await fetch('/api/inbox/setup', { cache: 'no-store', credentials: 'same-origin' });
  if (!res.ok) throw new Error(`the inbox is not available (HTTP ${res.status})`);
  return (await res.json()) as Setup;
}

function phoneBox(setup: Setup): HTMLElement {
  const url = setup.uploadUrls[0];
  const box = h('details', { class: 'card inbox-phone-box' }, h('summary', {}, 'Send photos from a phone'));
  if (!url) {
    box.append(h('p', {}, 'Phone uploads are not available here.'));
    return box;
  }
  const loopback = /^http:\/\/(127\.|\[::1\]|localhost)/.test(url);
  box.append(
    h('div', { class: 'inbox-phone' },
      setup.qrSvg ? h('img', { src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(setup.qrSvg)}`, alt: 'QR code of the upload address', testid: 'inbox-qr' }) : null,
      h('div', {},
        h('p', {}, 'Scan this code with the phone (on the same network) or open:'),
        h('p', {}, h('code', { testid: 'inbox-upload-url' }, url)),
        h('p', {}, 'Photos are encrypted on the phone and wait here until you decide. The address can only add items: it cannot see what is in the inbox.'),
        loopback ? h('p', { class: 'error' }, 'coffer web listens on this machine only: start it with --listen 0.0.0.0:8080 so the phone can reach it.') : null)),
  );
  return box;
}

/** A larger look at one item before deciding (its content opened in the worker). Esc closes. */
async function preview(ctx: AppContext, it: InboxItemInfo): Promise<void> {
  const close = h('button', { type: 'button', testid: 'inbox-preview-close' }, 'Close');
  const box = h('div', { class: 'inbox-preview', role: 'dialog', 'aria-modal': 'true', 'aria-label': it.name, testid: 'inbox-preview', 'data-item-id': it.id },
    h('p', {}, 'Opening…'), h('div', { class: 'bar' }, h('span', {}, it.name), close));
  let url: string | undefined;
  const done = (): void => {
    box.remove();
    document.removeEventListener('keydown', onKey);
    if (url) URL.revokeObjectURL(url);
  };
  const onKey = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') done();
  };
  close.addEventListener('click', done);
  document.addEventListener('keydown', onKey);
  document.body.append(box);
  close.focus();
  try {
    const r = await ctx.client().call({ op: 'inboxOriginal', id: it.id });
    if (!box.isConnected) return;
    const type = r.type ?? 'application/octet-stream';
    url = URL.createObjectURL(new Blob([r.bytes], { type }));
    const media = type.startsWith('video/') ? h('video', { src: url, controls: true, testid: 'inbox-preview-media' }) : h('img', { src: url, alt: it.name, testid: 'inbox-preview-media' });
    box.firstElementChild!.replaceWith(media);
  } catch (e) {
    if (box.isConnected) box.firstElementChild!.replaceWith(h('p', { class: 'error', role: 'alert' }, (e as Error).message));
  }
}

async function render(ctx: AppContext, main: HTMLElement, signal: AbortSignal): Promise<void> {
  installInboxStyle();
  ctx.setTitle('Inbox');
  const urls: string[] = [];
  signal.addEventListener('abort', () => urls.forEach((u) => URL.revokeObjectURL(u)));
  const [setup, listing] = await Promise.all([loadSetup(), ctx.client().call({ op: 'inboxList' })]);
  if (signal.aborted) return;

  const selected = new Set<string>();
  const items: InboxItemInfo[] = [...listing.items];
  const count = h('span', { class: 'muted', testid: 'inbox-count' });
  const status = h('span', { role: 'status', testid: 'inbox-status' });
  const approve = h('button', { type: 'button', class: 'primary', testid: 'inbox-approve', disabled: true }, 'Approve');
  const keepPrivate = h('button', { type: 'button', testid: 'inbox-private', disabled: true }, 'Keep private');
  const reject = h('button', { type: 'button', class: 'danger', testid: 'inbox-reject', disabled: true }, 'Reject');
  const all = h('button', { type: 'button', testid: 'inbox-select-all' }, 'Select all');
  const album = h('input', { type: 'text', testid: 'inbox-album', placeholder: 'Album (optional)', 'aria-label': 'Album for approved items', maxlength: 100, autocomplete: 'off' });
  const grid = h('div', { class: 'inbox-grid', role: 'listbox', 'aria-multiselectable': 'true', 'aria-label': 'Pending items', testid: 'inbox-grid' });
  let busy = false;

  const refreshBar = (): void => {
    const n = selected.size;
    for (const b of [approve, keepPrivate, reject]) b.disabled = busy || n === 0;
    // Items that cannot be opened can only be rejected.
    if (items.some((i) => selected.has(i.id) && i.error)) approve.disabled = keepPrivate.disabled = true;
    count.textContent = `${items.length} pending${n ? `, ${n} selected` : ''}`;
    all.textContent = n === items.length && n > 0 ? 'Select none' : 'Select all';
    grid.dataset.count = String(items.length);
  };

  const cell = (it: InboxItemInfo): HTMLElement => {
    const onApprove = it.error ? [] : copiesFor(setup, it.root, decisionTags('approve'));
    const onPrivate = it.error ? [] : copiesFor(setup, it.root, decisionTags('private'));
    let thumb: HTMLElement;
    if (it.thumb) {
      const u = URL.createObjectURL(new Blob([it.thumb], { type: 'image/webp' }));
      urls.push(u);
      thumb = h('img', { class: 'thumb', src: u, alt: '' });
    } else thumb = h('span', { class: 'thumb' });
    const el = h('div', {
      class: 'inbox-item', role: 'option', tabindex: 0, testid: 'inbox-item',
      'data-item-id': it.id, 'data-name': it.name, 'aria-selected': String(selected.has(it.id)),
      'data-copies-approve': onApprove.join(','), 'data-copies-private': onPrivate.join(','),
      title: it.error ?? it.name,
    },
    h('span', { class: 'check', 'aria-hidden': 'true' }, '✓'),
    thumb,
    it.error ? null : h('button', { type: 'button', class: 'view', testid: 'inbox-view', 'aria-label': `View ${it.name}`, title: 'View', onclick: (e: Event) => {
      e.stopPropagation();
      void preview(ctx, it);
    } }, '⤢'),
    h('span', { class: 'name' }, it.error ? 'Cannot be opened' : it.name),
    h('span', { class: 'sub' }, it.error ? it.error : `${bytes(it.size)}${it.taken ? ' · ' + it.taken.replace('T', ' ') : ''} · ${it.source.replace(/^upload:/, 'from ').replace(/^watch:/, 'in ').replace(/^add:/, 'added on ')}`),
    it.error ? null : h('span', { class: 'copies-line', testid: 'inbox-copies' }, `Approved: ${onApprove.join(', ')}. Private: ${onPrivate.join(', ')}.`));
    const toggle = (): void => {
      if (selected.has(it.id)) selected.delete(it.id);
      else selected.add(it.id);
      el.setAttribute('aria-selected', String(selected.has(it.id)));
      refreshBar();
    };
    el.addEventListener('click', toggle);
    el.addEventListener('keydown', (e) => {
      if (e.key === ' ' || e.key === 'Enter') {
        e.preventDefault();
        toggle();
      }
    });
    return el;
  };

  const draw = (): void => {
    clear(grid);
    if (!listing.hasKey || !setup.hasKey) {
      const go = h('button', { type: 'button', class: 'primary', testid: 'inbox-setup' }, 'Set up the inbox');
      go.addEventListener('click', async () => {
        go.disabled = true;
        try {
          await ctx.client().call({ op: 'inboxSetup', hostname: setup.hostname, username: setup.username });
          ctx.navigate('#/inbox', true);
        } catch (e) {
          go.disabled = false;
          ctx.notify((e as Error).message, 'error');
        }
      });
      grid.append(h('div', { class: 'inbox-empty', testid: 'inbox-empty' },
        h('p', {}, listing.hasKey
          ? 'This device does not know the inbox key yet: set it up here, so phones and watched folders can add items.'
          : 'The inbox is not set up: setting it up makes its key pair (the private half is kept in the repository), then phones and watched folders can add items.'),
        go));
    } else if (items.length === 0) {
      grid.append(h('p', { class: 'inbox-empty', testid: 'inbox-empty' }, 'Nothing is waiting. New photos from a watched folder, "coffer inbox add" or a phone show up here.'));
    }
    for (const it of items) grid.append(cell(it));
    refreshBar();
  };

  const decide = async (decision: 'approve' | 'private' | 'reject'): Promise<void> => {
    const ids = items.filter((i) => selected.has(i.id)).map((i) => i.id);
    if (!ids.length || busy) return;
    busy = true;
    refreshBar();
    status.textContent = decision === 'reject' ? 'Removing…' : 'Encrypting into the repository…';
    try {
      const name = album.value.trim();
      const r = await ctx.client().call({ op: 'inboxDecide', ids, decision, hostname: setup.hostname, username: setup.username, ...(name && decision !== 'reject' ? { album: name } : {}) });
      for (const id of r.items) {
        selected.delete(id);
        const i = items.findIndex((x) => x.id === id);
        if (i >= 0) items.splice(i, 1);
      }
      const n = r.items.length;
      ctx.notify(decision === 'reject'
        ? `${n} item${n === 1 ? '' : 's'} rejected.`
        : `${n} item${n === 1 ? '' : 's'} stored${decision === 'private' ? ' as private' : ''} (snapshot ${r.snapshot?.slice(0, 8)}). The next "coffer gallery build" adds ${n === 1 ? 'it' : 'them'} to the ${decision === 'private' ? 'private ' : ''}gallery.`);
      status.textContent = '';
      if (r.snapshot) void ctx.snapshots(true).catch(() => undefined);
    } catch (e) {
      status.textContent = '';
      ctx.notify((e as Error).message, 'error');
    } finally {
      busy = false;
      if (!signal.aborted) draw();
    }
  };
  approve.addEventListener('click', () => void decide('approve'));
  keepPrivate.addEventListener('click', () => void decide('private'));
  reject.addEventListener('click', () => void decide('reject'));
  all.addEventListener('click', () => {
    const none = selected.size === items.length;
    selected.clear();
    if (!none) for (const i of items) selected.add(i.id);
    for (const el of Array.from(grid.querySelectorAll<HTMLElement>('[data-testid=inbox-item]'))) el.setAttribute('aria-selected', String(selected.has(el.dataset.itemId!)));
    refreshBar();
  });

  // New items (a phone sending, a watched folder scanned) show up while the view is open: the
  // server's list of stage ids is cheap to ask; the worker opens the items only when it changed.
  const poll = window.setInterval(async () => {
    if (busy || document.hidden || !listing.hasKey) return;
    try {
      const res = await fetch('/api/inbox/items', { cache: 'no-store', credentials: 'same-origin' });
      if (!res.ok) return;
      const ids = ((await res.json()) as { items: { id: string }[] }).items.map((i) => i.id).sort().join();
      if (ids === items.map((i) => i.id).sort().join()) return;
      const next = await ctx.client().call({ op: 'inboxList' });
      if (signal.aborted || busy) return;
      items.splice(0, items.length, ...next.items);
      for (const id of [...selected]) if (!items.some((i) => i.id === id)) selected.delete(id);
      draw();
    } catch {
      // Locked or offline: the next tick tries again.
    }
  }, POLL_MS);
  signal.addEventListener('abort', () => clearInterval(poll));

  main.append(
    h('div', { class: 'inbox-head' }, h('h1', {}, 'Inbox'), count, h('span', { class: 'spacer' })),
    phoneBox(setup),
    h('div', { class: 'inbox-bar' }, all, approve, keepPrivate, reject, album, status),
    grid,
  );
  draw();
}

registerView({
  id: 'inbox',
  routes: ['inbox'],
  nav: { testid: 'nav-inbox', label: 'Inbox', order: 9 },
  render: (ctx, _route, main, signal) => render(ctx, main, signal),
});
