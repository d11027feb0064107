/**
 * @module engine/backup/node-equal
 * Whether two tree nodes encode to the same JSON (format/tree.ts `encodeNode`): the same fields,
 * with a zero value and an absent field alike (Go's omitempty). The archiver uses it to keep a
 * folder's parent tree ID when every child is unchanged, instead of encoding, hashing and looking
 * up the same tree again (the bulk of an unchanged re-backup's main-thread time).
 *
 * It may answer false for nodes that would encode alike (e.g. the same generic attribute written
 * with other spacing): that only costs the encoding it saves. It must never answer true for nodes
 * that encode differently.
 */
import type { ExtendedAttribute, GoTime, Id, TreeNode } from '../../format/types.js';

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  const la = a?.length ?? 0;
  if (la !== (b?.length ?? 0)) return false;
  for (let i = 0; i < la; i++) if (a![i] !== b![i]) return false;
  return true;
}

/** Same instant and the same zone offset (the offset is part of the encoded text). */
function timeSame(a: GoTime, b: GoTime): boolean {
  return a === b || (a.sec === b.sec && a.nsec === b.nsec && a.offsetSec === b.offsetSec);
}

function xattrsEqual(a: readonly ExtendedAttribute[] | undefined, b: readonly ExtendedAttribute[] | undefined): boolean {
  const la = a?.length ?? 0;
  if (la !== (b?.length ?? 0)) return false;
  for (let i = 0; i < la; i++) if (a![i]!.name !== b![i]!.name || !bytesEqual(a![i]!.value, b![i]!.value)) return false;
  return true;
}

function genericEqual(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ka = a ? Object.keys(a) : [];
  const kb = b ? Object.keys(b) : [];
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!Object.prototype.hasOwnProperty.call(b, k) || a![k] !== b![k]) return false;
  return true;
}

function contentEqual(a: readonly Id[] | null, b: readonly Id[] | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * True only when `a` and `b` would serialize to the same bytes given equal `content` and
 * `subtree` (everything the file system gives; what the archiver fills in is compared apart).
 */
export function metaEncodesAlike(a: Omit<TreeNode, 'content' | 'subtree'>, b: TreeNode): boolean {
  return (
    a.type === b.type &&
    bytesEqual(a.name, b.name) &&
    timeSame(a.mtime, b.mtime) &&
    timeSame(a.ctime, b.ctime) &&
    timeSame(a.atime, b.atime) &&
    (a.size || 0) === (b.size || 0) &&
    (a.inode || 0n) === (b.inode || 0n) &&
    ((a.mode || 0) >>> 0) === ((b.mode || 0) >>> 0) &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    (a.user || '') === (b.user || '') &&
    (a.group || '') === (b.group || '') &&
    (a.deviceId || 0n) === (b.deviceId || 0n) &&
    (a.links || 0n) === (b.links || 0n) &&
    (a.linktarget || '') === (b.linktarget || '') &&
    bytesEqual(a.linktargetRaw, b.linktargetRaw) &&
    xattrsEqual(a.extendedAttributes, b.extendedAttributes) &&
    genericEqual(a.genericAttributes, b.genericAttributes) &&
    (a.device || 0n) === (b.device || 0n) &&
    (a.error || '') === (b.error || '')
  );
}

/** True only when `a` and `b` serialize to the same bytes in a tree. */
export function nodesEncodeAlike(a: TreeNode, b: TreeNode): boolean {
  return a === b || (contentEqual(a.content, b.content) && a.subtree === b.subtree && metaEncodesAlike(a, b));
}

/** True only when the two node lists serialize to the same tree bytes. */
export function treesEncodeAlike(a: readonly TreeNode[], b: readonly TreeNode[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!nodesEncodeAlike(a[i]!, b[i]!)) return false;
  return true;
}
