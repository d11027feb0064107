/**
 * @module web/app/views
 * The views registry: the extension point for later views (gallery, map, inbox, status, OTP).
 * A view claims hash routes (`#/<first segment>/…`), may add a `nav-*` link, and renders into
 * the main element it is given. A view module registers itself when imported: add its import
 * to main.ts (after the built-in ones). `setHomeRoute` changes the view shown after unlock. E.g.:
 *
 *   registerView({ id: 'photos', routes: ['photos'], nav: { testid: 'nav-gallery', label: 'Photos', order: 10 },
 *                  render: async (ctx, route, main, signal) => { ... } });
 *   setHomeRoute('#/photos');
 *
 * New worker operations go in protocol.ts (WorkerRequest, WorkerResults), worker/worker.ts and
 * worker/session.ts; new server JSON routes in the `api` option of server/web-app.ts.
 */
import type { SnapshotInfo } from '../protocol.js';
import type { Downloads } from './download.js';
import type { WorkerClient } from './worker-client.js';

export interface Route {
  /** Decoded path segments after `#/`. */
  readonly segments: readonly string[];
  /** Query parameters after `?` in the hash. */
  readonly query: URLSearchParams;
}

export interface AppContext {
  /** The unlocked worker (throws when locked). */
  client(): WorkerClient;
  /** URL path of the repository (`/repo/`). */
  readonly repo: string;
  /** The map tile server's URL template from `/api/info` (`--map-tiles`), unchecked. */
  readonly mapTiles?: string;
  /** All snapshots, cached for the session (`refresh` reloads). */
  snapshots(refresh?: boolean): Promise<SnapshotInfo[]>;
  readonly downloads: Downloads;
  /** Sets location.hash; `replace` keeps history clean for redirects. */
  navigate(hash: string, replace?: boolean): void;
  /** A short message for the user (role=status). */
  notify(message: string, kind?: 'info' | 'error'): void;
  setTitle(title: string): void;
}

export interface View {
  readonly id: string;
  /** First hash segments this view answers (`['snapshots']` answers `#/snapshots/…`). */
  readonly routes: readonly string[];
  readonly nav?: { readonly testid: string; readonly label: string; readonly order: number; readonly href?: string };
  /** Narrows `routes` further (e.g. only `#/snapshots/<id>/…`). */
  readonly accepts?: (route: Route) => boolean;
  /** Views that work without unlocking (default false). */
  readonly public?: boolean;
  /** Renders into `main` (already emptied). `signal` aborts when the route changes. */
  render(ctx: AppContext, route: Route, main: HTMLElement, signal: AbortSignal): void | Promise<void>;
}

const views: View[] = [];
let home = '#/snapshots';

/** The view after unlock and for unknown routes (the gallery makes it `#/photos`). */
export function setHomeRoute(hash: string): void {
  home = hash;
}

export function homeRoute(): string {
  return home;
}

export function registerView(v: View): void {
  if (views.some((x) => x.id === v.id)) throw new Error(`view ${v.id} registered twice`);
  views.push(v);
}

export function viewFor(route: Route): View | undefined {
  const first = route.segments[0] ?? '';
  return views.find((v) => v.routes.includes(first) && (v.accepts?.(route) ?? true));
}

export function navViews(): View[] {
  return views.filter((v) => v.nav).sort((a, b) => a.nav!.order - b.nav!.order);
}

/** `#/a/b%2Fc?x=1` -> segments ['a', 'b/c'], query x=1. */
export function parseHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  const q = h.indexOf('?');
  const path = q < 0 ? h : h.slice(0, q);
  const segments = path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { segments, query: new URLSearchParams(q < 0 ? '' : h.slice(q + 1)) };
}

export function hashOf(segments: readonly string[], query?: Record<string, string>): string {
  const qs = query && Object.keys(query).length ? '?' + new URLSearchParams(query).toString() : '';
  return '#/' + segments.map(encodeURIComponent).join('/') + qs;
}
