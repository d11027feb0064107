/**
 * @module web/app/main
 * The page: asks the server who we are (`/api/info`), draws the shell (navigation from the
 * views registry, theme, lock), routes hashes to views, and owns the worker's life: created at
 * unlock, terminated at lock or after 15 idle minutes, which drops the keys.
 *
 * The page itself never holds the password (it passes through one message to the worker) nor a
 * key; it gets listings and bytes the user asked for.
 */
import type { SnapshotInfo } from '../protocol.js';
import { clear, h } from './dom.js';
import { Downloads } from './download.js';
import { homeRoute, navViews, parseHash, viewFor, type AppContext } from './views.js';
import { renderUnlock } from './views/unlock.js';
import type { WorkerClient } from './worker-client.js';
import './views/snapshots.js';
import './views/files.js';
import './views/diff.js';
import './views/otp.js';
import './views/status.js';
import '../gallery/timeline.js';
import '../gallery/map.js';
import '../inbox/view.js';
import '../gallery/albums.js';
import '../gallery/search.js';
import '../gallery/hidden.js';

const IDLE_MS = 15 * 60_000;
const THEMES = ['auto', 'light', 'dark'] as const;

interface Info {
  version: string;
  repo: string | null;
  repos: string[];
  user?: string;
  /** The map tile server's URL template, when the server was started with `--map-tiles`. */
  mapTiles?: string;
}

function applyTheme(t: string): void {
  document.documentElement.dataset.theme = t;
}

async function start(): Promise<void> {
  const root = document.getElementById('app')!;
  let theme = localStorage.getItem('coffer-theme') ?? 'auto';
  applyTheme(theme);
  void Downloads.register();

  const res = await fetch('/api/info', { credentials: 'same-origin', cache: 'no-store' });
  if (res.status === 401) {
    const body = (await res.json().catch(() => ({}))) as { login?: string | null };
    clear(root);
    root.appendChild(
      h('main', { class: 'card unlock', testid: 'signed-out' }, h('h1', {}, 'Coffer'),
        body.login
          ? h('p', {}, h('a', { href: body.login, class: 'button primary', testid: 'login' }, 'Sign in'), ' with your account on this server.')
          : h('p', {}, 'Open the address that "coffer web" printed in the terminal (it ends with ?token=…). It signs this browser in once.')),
    );
    return;
  }
  const info = (await res.json()) as Info;

  let client: WorkerClient | undefined;
  let snaps: Promise<SnapshotInfo[]> | undefined;
  let routeAbort = new AbortController();
  let idle = 0;
  let afterUnlock = homeRoute();
  const host = { repos: info.repos, repo: info.repo ?? info.repos[0] ?? '/repo/' };

  const toast = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite', testid: 'toast' });
  const main = h('main', { id: 'main', tabindex: -1 });
  const nav = h('nav', { class: 'nav', 'aria-label': 'Views' });
  const lockButton = h('button', { type: 'button', testid: 'lock', hidden: true, onclick: () => lock() }, 'Lock');
  const themeButton = h('button', {
    type: 'button',
    testid: 'theme',
    'aria-label': 'Theme',
    title: 'Theme: auto, light, dark',
    onclick: () => {
      theme = THEMES[(THEMES.indexOf(theme as (typeof THEMES)[number]) + 1) % THEMES.length]!;
      localStorage.setItem('coffer-theme', theme);
      applyTheme(theme);
      themeButton.textContent = themeLabel();
    },
  });
  const themeLabel = (): string => (theme === 'dark' ? '☾ Dark' : theme === 'light' ? '☀ Light' : '◐ Auto');
  themeButton.textContent = themeLabel();
  clear(root);
  root.append(
    h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
    h('header', { class: 'top' }, h('a', { class: 'brand', href: homeRoute(), 'aria-label': 'Coffer home' }, h('img', { src: '/favicon.svg', alt: '', width: 22, height: 22 }), 'Coffer'), nav, h('div', { class: 'spacer' }), themeButton, lockButton),
    main,
    toast,
  );

  const ctx: AppContext = {
    ...(typeof info.mapTiles === 'string' ? { mapTiles: info.mapTiles } : {}),
    client: () => {
      if (!client) throw new Error('locked');
      return client;
    },
    get repo() {
      return host.repo;
    },
    snapshots: (refresh = false) => {
      if (refresh || !snaps) snaps = ctx.client().call({ op: 'snapshots' });
      snaps.catch(() => (snaps = undefined));
      return snaps;
    },
    downloads: new Downloads(),
    navigate: (hash, replace = false) => {
      if (replace) history.replaceState(null, '', hash);
      else location.hash = hash;
      if (replace) void route();
    },
    notify: (message, kind = 'info') => {
      toast.textContent = message;
      toast.className = `toast show ${kind}`;
      window.setTimeout(() => toast.classList.remove('show'), kind === 'error' ? 8000 : 4000);
    },
    setTitle: (t) => (document.title = `${t} · Coffer`),
  };

  const drawNav = (): void => {
    clear(nav);
    if (!client) return;
    const first = parseHash(location.hash).segments[0] ?? '';
    for (const v of navViews()) {
      const href = v.nav!.href ?? `#/${v.routes[0]}`;
      const current = v.routes.includes(first) || (first === 'diff' && v.id === 'snapshots');
      nav.appendChild(h('a', { href, testid: v.nav!.testid, 'aria-current': current ? 'page' : undefined }, v.nav!.label));
    }
  };

  const lock = (): void => {
    client?.terminate();
    client = undefined;
    snaps = undefined;
    lockButton.hidden = true;
    ctx.navigate('#/unlock');
  };
  const poke = (): void => {
    clearTimeout(idle);
    if (client) idle = window.setTimeout(() => {
      lock();
      ctx.notify('Locked after 15 minutes without activity.');
    }, IDLE_MS);
  };
  for (const ev of ['pointerdown', 'keydown', 'wheel', 'touchstart']) window.addEventListener(ev, poke, { passive: true });

  async function route(): Promise<void> {
    routeAbort.abort();
    routeAbort = new AbortController();
    const signal = routeAbort.signal;
    const r = parseHash(location.hash);
    clear(main);
    drawNav();
    if (!client) {
      if (r.segments[0] && r.segments[0] !== 'unlock') afterUnlock = location.hash;
      document.title = 'Unlock · Coffer';
      renderUnlock(main, {
        get repos() {
          return host.repos;
        },
        get repo() {
          return host.repo;
        },
        set repo(v: string) {
          host.repo = v;
        },
        unlocked: (c) => {
          client = c;
          lockButton.hidden = false;
          poke();
          const target = afterUnlock;
          afterUnlock = homeRoute();
          if (location.hash === target) void route();
          else location.hash = target;
        },
      });
      return;
    }
    const view = r.segments.length ? viewFor(r) : undefined;
    if (!view) {
      ctx.navigate(homeRoute(), true);
      return;
    }
    try {
      await view.render(ctx, r, main, signal);
    } catch (e) {
      if (signal.aborted) return;
      main.appendChild(h('p', { class: 'error', role: 'alert', testid: 'view-error' }, (e as Error).message));
    }
  }
  window.addEventListener('hashchange', () => void route());
  if (!location.hash || location.hash === '#/unlock') history.replaceState(null, '', '#/unlock');
  await route();
}

void start().catch((e: unknown) => {
  const root = document.getElementById('app');
  if (root) root.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Coffer could not start: ${(e as Error).message}`));
});
