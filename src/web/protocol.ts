/**
 * @module web/protocol
 * The typed messages between the page and its dedicated worker (design web-gallery.md §1), and
 * between the worker and the service worker for streamed downloads. Only plain data crosses:
 * listings, metadata and plaintext bytes the user asked for; never the password after unlock,
 * never a key. Add an operation here, in worker/worker.ts and in app/worker-client.ts.
 */
import type { DrillReport } from '../core/engine/drill/drill.js';
import type { Geo, Months, Shard } from '../core/gallery/index-files.js';
import type { GalleryItem } from '../core/gallery/item.js';
import type { GalleryEdit, StateView } from './gallery/state-edit.js';
import type { GallerySearchQuery } from './gallery/search-query.js';

export interface SnapshotInfo {
  readonly id: string;
  readonly short: string;
  /** ms since the epoch */
  readonly time: number;
  /** restic's RFC 3339 text, with the zone it was written in */
  readonly timeText: string;
  readonly hostname: string;
  readonly username: string;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  readonly tree: string;
  readonly parent?: string;
  /** From the summary (restic ≥ 0.17 and Coffer): bytes and files processed. */
  readonly size?: number;
  readonly files?: number;
  /** Bytes the backup added to the repository (packed), from the summary. */
  readonly added?: number;
  /** Seconds the backup took, from the summary. */
  readonly duration?: number;
  /** Coffer's own records (tag coffer-internal): hidden by default. */
  readonly internal: boolean;
}

export interface EntryInfo {
  readonly name: string;
  readonly type: string;
  readonly size: number;
  /** ms since the epoch */
  readonly mtime: number;
  readonly mtimeText: string;
  /** POSIX mode bits (type and permissions) */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly user?: string;
  readonly group?: string;
  readonly linktarget?: string;
  /** Number of content blobs (files). */
  readonly blobs?: number;
}

export interface DiffInfo {
  readonly changes: readonly { path: string; modifier: string }[];
  /** Changes past the limit are counted, not listed. */
  readonly truncated: number;
  readonly added: { files: number; dirs: number; bytes: number };
  readonly removed: { files: number; dirs: number; bytes: number };
}

/** One OTP entry as the page sees it: a code, never the secret. */
export interface OtpCodeInfo {
  readonly index: number;
  readonly issuer: string;
  readonly name: string;
  readonly type: string;
  /** Absent for types the web app does not compute (HOTP needs a counter write: use the CLI). */
  readonly code?: string;
  readonly period?: number;
  readonly secondsLeft?: number;
  readonly note?: string;
}

/** The gallery as the timeline first needs it (design web-gallery.md §4). */
export interface GalleryInfo {
  /** The gallery snapshot's id (originals stream from it). */
  readonly snapshot: string;
  readonly months: Months;
  readonly favorites: readonly string[];
  /** Favourites, albums, hidden and trashed ids (the latter two are left out of `months`). */
  readonly state: StateView;
  /** The library shown (`galleryLibrary` switches), and whether a private one exists. */
  readonly library: 'main' | 'private';
  readonly hasPrivate: boolean;
}

/** Search results (gallery/search-query.ts) and the choices the search form offers. */
export interface GallerySearchResult {
  readonly cameras: readonly string[];
  readonly countries: readonly string[];
  /** Matches, before the limit. */
  readonly total: number;
  readonly items: readonly GalleryItem[];
}

/** Where an original sits in the gallery snapshot: download it with the `stream` operation. */
export interface GalleryOriginal {
  readonly snapshot: string;
  readonly path: string;
  readonly size: number;
}

/** One pending inbox item as the review grid shows it (web/inbox/worker-inbox.ts). */
export interface InboxItemInfo {
  /** The stage id (32 hex). */
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly type: string | null;
  readonly taken: string | null;
  /** ISO time it entered the inbox. */
  readonly added: string;
  /** `upload:<device>`, `watch:<folder>` or `add:<host>`. */
  readonly source: string;
  readonly sha256: string;
  /** The snapshot path it will be stored under. */
  readonly root: string;
  /** WebP bytes of the thumbnail, when there is one. */
  readonly thumb?: ArrayBuffer;
  /** Set when the item cannot be opened (sealed for another key, damaged): it can only be rejected. */
  readonly error?: string;
}

export interface InboxListing {
  /** False until the repository has an inbox key (`coffer inbox` makes it). */
  readonly hasKey: boolean;
  readonly items: readonly InboxItemInfo[];
}

export interface InboxDecisionResult {
  readonly decision: 'approve' | 'private' | 'reject';
  readonly items: readonly string[];
  /** The snapshot written (approve, private). */
  readonly snapshot?: string;
  readonly paths?: readonly string[];
  readonly tags?: readonly string[];
}

export type WorkerRequest =
  | { op: 'unlock'; repo: string; password: string; remember: boolean }
  | { op: 'unlockRemembered'; repo: string }
  | { op: 'remembered'; repo: string }
  | { op: 'forget'; repo: string }
  | { op: 'snapshots' }
  | { op: 'list'; snapshot: string; path: string }
  | { op: 'stat'; snapshot: string; path: string }
  | { op: 'read'; snapshot: string; path: string; max: number }
  | { op: 'diff'; a: string; b: string; limit: number }
  | { op: 'search'; snapshot: string; query: string; limit: number }
  /** Opens the OTP vault with the password typed again (the worker does not keep it after unlock). */
  | { op: 'otpOpen'; password: string }
  | { op: 'otpCodes' }
  /** Streams a file or a folder (as a zip) into the transferred MessagePort (see StreamPull). */
  | { op: 'stream'; snapshot: string; path: string; kind: 'file' | 'zip' }
  /** Serves byte ranges of a file over the transferred MessagePort (see RangeRequest), for media. */
  | { op: 'ranges'; snapshot: string; path: string }
  /** The gallery (src/web/gallery/worker-gallery.ts): months, a month's items, images by item id. */
  | { op: 'galleryMonths' }
  | { op: 'galleryShard'; month: string }
  | { op: 'galleryThumb'; id: string }
  | { op: 'galleryPreview'; id: string }
  | { op: 'galleryOriginal'; id: string; name: string }
  /** A share link of gallery items (web/share/worker-share.ts): sealed here, uploaded with the session. */
  | { op: 'shareCreate'; ids: readonly string[]; expiresIn?: number }
  /** `/geo.json`: every geotagged item's [lat, lon, id]. */
  | { op: 'galleryGeo' }
  /** Marks or unmarks a favourite: a new gallery snapshot whose `/state.json` alone changed. */
  | { op: 'galleryFavorite'; id: string; on: boolean }
  /** Items by id (albums), in that order; hidden, trashed and unknown ids are left out. */
  | { op: 'galleryItems'; ids: readonly string[] }
  | { op: 'gallerySearch'; query: GallerySearchQuery }
  /** One edit of `/state.json` (albums, favourites, hide, trash): a new gallery snapshot. */
  | { op: 'galleryEdit'; edit: GalleryEdit }
  /** Hidden (the password is needed once per session) or trashed items, most recent first. */
  | { op: 'galleryHidden'; what: 'hidden' | 'trash'; password?: string }
  /** Which library the gallery operations use from now on (the private gallery switch). */
  | { op: 'galleryLibrary'; library: 'main' | 'private' }
  /** A sampled drill of this repository with the kit's recovery key (worker/drill.ts). */
  | { op: 'drill'; repo: string; kit: string; key?: string; sample: number }
  /** The inbox (src/web/inbox/worker-inbox.ts): pending items with their opened thumbnails. */
  | { op: 'inboxList' }
  /** One pending item's content (opened and checked), for a larger look before deciding. */
  | { op: 'inboxOriginal'; id: string }
  /** Makes (or reads) the repository's inbox key pair and hands the public half to the server. */
  | { op: 'inboxSetup'; hostname: string; username: string }
  /** Stores (approve, private: one snapshot in the primary) or rejects items, then unstages them. */
  | { op: 'inboxDecide'; ids: readonly string[]; decision: 'approve' | 'private' | 'reject'; hostname: string; username: string; album?: string };

export interface WorkerResults {
  unlock: { repoId: string; version: number; remembered: boolean };
  unlockRemembered: { repoId: string; version: number; remembered: boolean };
  remembered: boolean;
  forget: true;
  snapshots: SnapshotInfo[];
  list: EntryInfo[];
  stat: EntryInfo;
  read: { size: number; bytes: ArrayBuffer };
  diff: DiffInfo;
  search: { path: string; entry: EntryInfo }[];
  otpOpen: { entries: number; exists: boolean };
  otpCodes: OtpCodeInfo[] | null;
  stream: { size?: number };
  ranges: { size: number };
  galleryMonths: GalleryInfo | null;
  galleryShard: Shard;
  /** WebP bytes */
  galleryThumb: ArrayBuffer;
  galleryPreview: ArrayBuffer;
  galleryOriginal: GalleryOriginal;
  /** `url` carries the key in its fragment: show it to the user, nowhere else. */
  shareCreate: { id: string; url: string; expires: string; items: number };
  galleryGeo: Geo;
  galleryFavorite: { favorites: string[] };
  galleryItems: GalleryItem[];
  gallerySearch: GallerySearchResult;
  galleryEdit: StateView;
  galleryHidden: GalleryItem[];
  galleryLibrary: GalleryInfo | null;
  drill: DrillReport;
  inboxList: InboxListing;
  inboxOriginal: { bytes: ArrayBuffer; type: string | null; name: string };
  inboxSetup: { created: boolean };
  inboxDecide: InboxDecisionResult;
}

export interface WorkerEnvelope {
  readonly id: number;
  readonly req: WorkerRequest;
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: { code: string; message: string } };

/** Over a download's MessagePort: the reader asks, the worker answers one message per pull. */
export type StreamPull = { pull: true } | { cancel: true };
/** One answer per pull: a piece, and/or the end (the last piece comes with `done`), or an error. */
export interface StreamPush {
  readonly chunk?: ArrayBuffer;
  readonly done?: boolean;
  readonly error?: string;
}

/**
 * Service worker -> worker over a `ranges` port: bytes [start, end) of the file; one answer per
 * id. `start` < 0 ends the session (the preview went away): the worker drops its cache.
 */
export interface RangeRequest {
  readonly id: number;
  readonly start: number;
  readonly end: number;
}
export interface RangeAnswer {
  readonly id: number;
  readonly chunk?: ArrayBuffer;
  readonly error?: string;
}

/**
 * Page -> service worker: a download to answer once at /_stream/<token>/<name> ('coffer-stream'),
 * or a file to serve with Range requests for <video>/<audio> ('coffer-media', until the page
 * goes away).
 */
export interface StreamRegistration {
  readonly type: 'coffer-stream' | 'coffer-media' | 'coffer-media-end';
  readonly token: string;
  readonly name: string;
  readonly mime: string;
  readonly size?: number;
}
