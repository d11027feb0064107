/**
 * @module node/xattr
 * Extended attributes without a native addon: Node has no xattr API, so this drives the
 * `getfattr`/`setfattr` tools (Debian package `attr`), ONE process per directory rather than per
 * file: `find` batches the directory's entries into `getfattr` calls, and only entries that have
 * attributes appear in its dump. Names travel as raw bytes (getfattr octal-escapes control bytes
 * and '\'; other bytes pass through), so non-UTF-8 names work; the directory itself is reached
 * through /proc/<pid>/fd when its path is not UTF-8.
 *
 * Differences from restic 0.14 (which calls listxattr/getxattr): getfattr sorts attribute names,
 * restic keeps the order the kernel lists them; and when the tools are missing, no attributes are
 * read or written (`xattrSupport()` says so, for a warning).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ExtendedAttribute } from '../core/format/types.js';
import { withDirCwd } from './cwd.js';

export type PathLike = string | Buffer;

let support: boolean | undefined;
/** True when getfattr and setfattr can be run (probed once). */
export function xattrSupport(): boolean {
  if (support === undefined) {
    const ok = (tool: string): boolean => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
    support = ok('getfattr') && ok('setfattr');
  }
  return support;
}

/** Map key for a raw name: latin1 maps bytes 1:1 to a string. */
export function nameKey(name: Uint8Array): string {
  return Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1');
}

/**
 * Extended attributes of every entry of `dir` that has any, keyed by `nameKey(name)`. Symlinks
 * are not followed. Entries without attributes are absent. Empty map when the tools are missing.
 */
export async function readDirXattrs(dir: PathLike): Promise<Map<string, ExtendedAttribute[]>> {
  if (!xattrSupport()) return new Map();
  const out = await withDirCwd(dir, (cwd) =>
    run('find', ['.', '-mindepth', '1', '-maxdepth', '1', '-exec', 'getfattr', '--absolute-names', '-h', '-d', '-m', '-', '-e', 'base64', '--', '{}', '+'], cwd),
  );
  return parseDump(out, true);
}

/** Extended attributes of one path (not following a final symlink): via its parent's listing. */
export async function readXattrs(path: Buffer): Promise<ExtendedAttribute[]> {
  const slash = path.lastIndexOf(0x2f);
  const parent = slash < 0 ? Buffer.from('.') : slash === 0 ? Buffer.from('/') : path.subarray(0, slash);
  const name = path.subarray(slash + 1);
  return (await readDirXattrs(parent)).get(nameKey(name)) ?? [];
}

/**
 * Sets attributes on entries of `dir` in one `setfattr --restore` run (getfattr's dump format on
 * stdin, names escaped), without following symlinks. No-op when the tools are missing.
 */
export async function writeDirXattrs(dir: PathLike, entries: readonly { name: Uint8Array; attrs: readonly ExtendedAttribute[] }[]): Promise<void> {
  const todo = entries.filter((e) => e.attrs.length > 0);
  if (todo.length === 0 || !xattrSupport()) return;
  const parts: Buffer[] = [];
  for (const e of todo) {
    parts.push(Buffer.from('# file: ./'), escapeName(e.name), Buffer.from('\n'));
    for (const a of e.attrs) parts.push(escapeName(Buffer.from(a.name, 'utf8')), Buffer.from(`=0s${Buffer.from(a.value).toString('base64')}\n`));
    parts.push(Buffer.from('\n'));
  }
  await withDirCwd(dir, (cwd) => run('setfattr', ['-h', '--restore=-'], cwd, Buffer.concat(parts)));
}

/** Parses getfattr's dump: `# file: <escaped>` then `name=0s<base64>` lines. */
export function parseDump(dump: Buffer, stripDotSlash: boolean): Map<string, ExtendedAttribute[]> {
  const out = new Map<string, ExtendedAttribute[]>();
  let current: ExtendedAttribute[] | undefined;
  let start = 0;
  while (start < dump.length) {
    let end = dump.indexOf(0x0a, start);
    if (end < 0) end = dump.length;
    const line = dump.subarray(start, end);
    start = end + 1;
    if (line.length === 0) continue;
    if (line.subarray(0, 8).toString('latin1') === '# file: ') {
      let name = unescapeName(line.subarray(8));
      if (stripDotSlash && name[0] === 0x2e && name[1] === 0x2f) name = name.subarray(2);
      current = [];
      out.set(nameKey(name), current);
      continue;
    }
    if (!current || line[0] === 0x23) continue;
    const eq = line.indexOf(0x3d);
    const attrName = unescapeName(eq < 0 ? line : line.subarray(0, eq)).toString('utf8');
    const raw = eq < 0 ? '' : line.subarray(eq + 1).toString('latin1');
    current.push({ name: attrName, value: decodeValue(raw) });
  }
  for (const [k, v] of out) if (v.length === 0) out.delete(k);
  return out;
}

function decodeValue(raw: string): Uint8Array {
  if (raw.startsWith('0s')) return new Uint8Array(Buffer.from(raw.slice(2), 'base64'));
  if (raw.startsWith('0x')) return new Uint8Array(Buffer.from(raw.slice(2), 'hex'));
  if (raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2) return new Uint8Array(unescapeName(Buffer.from(raw.slice(1, -1), 'latin1')));
  return new Uint8Array(Buffer.from(raw, 'latin1'));
}

/** getfattr's quoting: `\ooo` octal for control bytes, space-like specials, '=' and '\'. */
function unescapeName(b: Buffer): Buffer {
  if (!b.includes(0x5c)) return b;
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x5c && i + 3 < b.length && isOct(b[i + 1]) && isOct(b[i + 2]) && isOct(b[i + 3])) {
      out.push(((b[i + 1]! - 48) << 6) | ((b[i + 2]! - 48) << 3) | (b[i + 3]! - 48));
      i += 3;
    } else out.push(c);
  }
  return Buffer.from(out);
}

function isOct(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x37;
}

/** The inverse, as setfattr --restore expects: escape every byte that could break the line format. */
function escapeName(name: Uint8Array): Buffer {
  const out: number[] = [];
  for (const c of name) {
    if (c < 0x21 || c === 0x7f || c === 0x5c || c === 0x3d) {
      for (const ch of '\\' + c.toString(8).padStart(3, '0')) out.push(ch.charCodeAt(0));
    } else out.push(c);
  }
  return Buffer.from(out);
}


/** Runs a tool and returns stdout. Exit 1 with per-file complaints (vanished files) is tolerated. */
function run(cmd: string, args: string[], cwd: string, input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 || (code === 1 && out.length > 0) || (code === 1 && input === undefined)) resolve(Buffer.concat(out));
      else reject(new Error(`${cmd} failed (exit ${code}): ${Buffer.concat(err).toString().trim()}`));
    });
    if (input) child.stdin!.end(input);
  });
}
