/**
 * @module filter/pattern
 * restic's path patterns for --exclude / --include: components separated by `/`; within a
 * component `*`, `?` and `[...]` as Go's filepath.Match; `**` matches any number of whole
 * components. A pattern starting with `/` is anchored at the root; any other pattern may match
 * at any depth (as if it started with `**` + `/`). A trailing `/` is ignored. Patterns are
 * matched against absolute paths.
 */
import { CofferError } from '../errors.js';

export interface Pattern {
  readonly text: string;
  readonly parts: readonly string[];
}

export function parsePattern(text: string): Pattern {
  const trimmed = text.replace(/\/+$/, '');
  if (trimmed === '') throw new CofferError('usage', `empty pattern "${text}"`);
  let parts = trimmed.split('/');
  const anchored = parts[0] === '';
  // As filepath.Clean: empty and "." components are dropped (`/a//b`, `./x`).
  parts = parts.filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) throw new CofferError('usage', `empty pattern "${text}"`);
  if (!anchored) parts = ['**', ...parts];
  for (const p of parts) if (p !== '**') validateGlob(p, text);
  return { text, parts };
}

function validateGlob(glob: string, text: string): void {
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') i++;
    else if (c === '[') depth++;
    else if (c === ']' && depth > 0) depth--;
  }
  if (depth !== 0) throw new CofferError('usage', `bad pattern "${text}": unclosed [`);
}

/** Go filepath.Match for one path component (no `/` inside). */
export function matchComponent(glob: string, name: string): boolean {
  // By code points, as Go matches runes: `?` is one character even outside the BMP.
  return matchAt([...glob], 0, [...name], 0);
}

function matchAt(g: readonly string[], gi: number, s: readonly string[], si: number): boolean {
  while (gi < g.length) {
    const c = g[gi]!;
    if (c === '*') {
      while (g[gi] === '*') gi++;
      if (gi === g.length) return true;
      for (let k = si; k <= s.length; k++) if (matchAt(g, gi, s, k)) return true;
      return false;
    }
    if (si >= s.length) return false;
    if (c === '?') {
      gi++;
      si++;
      continue;
    }
    if (c === '[') {
      const end = classEnd(g, gi);
      if (!matchClass(g.slice(gi + 1, end), s[si]!)) return false;
      gi = end + 1;
      si++;
      continue;
    }
    if (c === '\\' && gi + 1 < g.length) {
      if (g[gi + 1] !== s[si]) return false;
      gi += 2;
      si++;
      continue;
    }
    if (c !== s[si]) return false;
    gi++;
    si++;
  }
  return si === s.length;
}

function classEnd(g: readonly string[], start: number): number {
  let i = start + 1;
  if (g[i] === '^') i++;
  if (g[i] === ']') i++;
  while (i < g.length && g[i] !== ']') i += g[i] === '\\' ? 2 : 1;
  return i;
}

function matchClass(cls: readonly string[], ch: string): boolean {
  let negate = false;
  let i = 0;
  if (cls[0] === '^') {
    negate = true;
    i = 1;
  }
  let hit = false;
  while (i < cls.length) {
    let lo = cls[i]!;
    if (lo === '\\') lo = cls[++i] ?? '';
    i++;
    let hi = lo;
    if (cls[i] === '-' && i + 1 < cls.length) {
      hi = cls[i + 1]!;
      if (hi === '\\') hi = cls[i + 2] ?? '';
      i += hi === cls[i + 1] ? 2 : 3;
    }
    if (ch >= lo && ch <= hi) hit = true;
  }
  return hit !== negate;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '');
}

function matchParts(pp: readonly string[], pi: number, sp: readonly string[], si: number, prefixOk: boolean): boolean {
  if (pi === pp.length) return si === sp.length;
  if (si === sp.length) {
    // Path exhausted: trailing `**` match zero components (restic: `/a/**` matches `/a`);
    // otherwise, as a prefix, it may still lead to a match further down.
    return prefixOk || pp.slice(pi).every((p) => p === '**');
  }
  if (pp[pi] === '**') {
    for (let k = si; k <= sp.length; k++) if (matchParts(pp, pi + 1, sp, k, prefixOk)) return true;
    return false;
  }
  return matchComponent(pp[pi]!, sp[si]!) && matchParts(pp, pi + 1, sp, si + 1, prefixOk);
}

/** Whether the absolute `path` matches `pattern`. */
export function matchPath(pattern: Pattern, path: string): boolean {
  return matchParts(pattern.parts, 0, splitPath(path), 0, false);
}

/** Whether something below the folder `path` could match `pattern` (to decide to descend). */
export function childMayMatch(pattern: Pattern, path: string): boolean {
  return matchParts(pattern.parts, 0, splitPath(path), 0, true);
}

/** Exclusion test for a set of patterns; an empty set excludes nothing. */
export function anyMatch(patterns: readonly Pattern[], path: string): boolean {
  return patterns.some((p) => matchPath(p, path));
}
