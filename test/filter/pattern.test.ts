/**
 * restic's --exclude/--include pattern semantics (internal/filter/filter.go): components split at
 * `/`, Go filepath.Match inside a component, `**` for any number of components, a leading `/`
 * anchors, anything else may match at any depth, patterns are cleaned (filepath.Clean).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CofferError } from '../../src/core/errors.js';
import { anyMatch, childMayMatch, matchComponent, matchPath, parsePattern } from '../../src/core/filter/pattern.js';

function m(pattern: string, path: string): boolean {
  return matchPath(parsePattern(pattern), path);
}
function child(pattern: string, path: string): boolean {
  return childMayMatch(parsePattern(pattern), path);
}

function table(rows: [string, string, boolean][], f: (p: string, s: string) => boolean, label: string) {
  const wrong = rows.filter(([p, s, want]) => f(p, s) !== want).map(([p, s, want]) => `${label}(${JSON.stringify(p)}, ${JSON.stringify(s)}) should be ${want}`);
  assert.deepEqual(wrong, []);
}

test('unanchored patterns match at any depth', () => {
  table(
    [
      ['*.txt', '/a/b/c.txt', true],
      ['*.txt', '/c.txt', true],
      ['*.txt', '/a/b/c.txt.bak', false],
      ['*.txt', '/a/b/ctxt', false],
      ['foo', '/foo', true],
      ['foo', '/a/b/foo', true],
      ['foo', '/a/foo2', false],
      ['foo', '/a/xfoo', false],
      ['b/c', '/a/b/c', true],
      ['b/c', '/b/c', true],
      ['b/c', '/a/bb/c', false],
      ['a/*/c', '/x/a/y/c', true],
      ['a/*/c', '/x/a/y/z/c', false],
    ],
    m,
    'matchPath',
  );
});

test('a leading / anchors at the root', () => {
  table(
    [
      ['/a/*', '/a/b', true],
      ['/a/*', '/a/xyz', true],
      ['/a/*', '/x/a/b', false],
      ['/a', '/a', true],
      ['/a', '/b/a', false],
      ['/a/b', '/a/b', true],
      ['/a/b', '/a/c', false],
      ['/a/b/', '/a/b', true],
      ['/*', '/anything', true],
    ],
    m,
    'matchPath',
  );
});

test('** matches any number of components, including none', () => {
  table(
    [
      ['/a/**/z', '/a/z', true],
      ['/a/**/z', '/a/b/z', true],
      ['/a/**/z', '/a/b/c/d/z', true],
      ['/a/**/z', '/b/a/z', false],
      ['/a/**/z', '/a/b/c/d/y', false],
      ['**/z', '/z', true],
      ['**/z', '/a/b/z', true],
      ['/**', '/a/b', true],
      ['/a/**', '/a/b', true],
      ['/a/**', '/a/b/c', true],
      ['/a/**', '/b/c', false],
      ['x/**/*.go', '/src/x/y/z/main.go', true],
      ['x/**/*.go', '/src/x/main.go', true],
      ['x/**/*.go', '/src/y/main.go', false],
    ],
    m,
    'matchPath',
  );
});

test('a trailing ** also matches the folder itself (restic expands ** to zero components)', () => {
  // restic: filter.Match("/a/**", "/a") == true and Match("foo/**", "/x/foo") == true, so
  // `--exclude 'cache/**'` leaves the folder out, not only its contents.
  table(
    [
      ['/a/**', '/a', true],
      ['foo/**', '/x/foo', true],
      ['foo/**', '/x/foo/bar', true],
      ['foo/**', '/x/foobar', false],
      ['/a/**/**', '/a', true],
    ],
    m,
    'matchPath',
  );
});

test('patterns are cleaned like filepath.Clean (doubled slashes, "." components)', () => {
  table(
    [
      ['/a//b', '/a/b', true],
      ['a//b', '/x/a/b', true],
      ['/a/./b', '/a/b', true],
      ['./b', '/x/b', true],
    ],
    m,
    'matchPath',
  );
});

test('component globs follow Go filepath.Match: ?, [a-c], [^x], escapes', () => {
  const rows: [string, string, boolean][] = [
    ['?', 'a', true],
    ['?', '', false],
    ['?', 'ab', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*', '', true],
    ['*', 'anything', true],
    ['a*', 'a', true],
    ['*a*b*', 'xaxxbx', true],
    ['*a*b*', 'xbxa', false],
    ['[a-c]', 'b', true],
    ['[a-c]', 'd', false],
    ['[a-c]x', 'cx', true],
    ['[abc]', 'c', true],
    ['[^a-c]', 'd', true],
    ['[^a-c]', 'a', false],
    ['[a-cx-z]', 'y', true],
    ['[a-cx-z]', 'm', false],
    ['\\*', '*', true],
    ['\\*', 'a', false],
    ['\\?', '?', true],
    ['\\[a]', '[a]', true],
    ['[\\]]', ']', true],
    ['[\\-]', '-', true],
    ['[\\-]', 'a', false],
    ['a\\b', 'ab', true],
    ['ß*', 'ßtraße', true],
    ['x', 'X', false],
    // Go matches runes: one ? or class entry per character, also outside the BMP.
    ['?', '😀', true],
    ['a?b', 'a😀b', true],
    ['[😀]', '😀', true],
    ['[^😀]', '😀', false],
    ['??', '😀', false],
  ];
  table(rows, matchComponent, 'matchComponent');
});

test('globs in full paths', () => {
  table(
    [
      ['/home/*/.cache', '/home/alice/.cache', true],
      ['/home/*/.cache', '/home/alice/x/.cache', false],
      ['.cache', '/home/alice/.cache', true],
      ['*.t?t', '/x/a.txt', true],
      ['/[a-c]*/file', '/beta/file', true],
      ['/[a-c]*/file', '/delta/file', false],
      ['*', '/a/b/c', true],
    ],
    m,
    'matchPath',
  );
});

test('childMayMatch: whether to descend into a folder for an include pattern', () => {
  table(
    [
      ['/a/b/c', '/a', true],
      ['/a/b/c', '/a/b', true],
      ['/a/b/c', '/x', false],
      ['/a/b/c', '/a/x', false],
      ['/a/*/c', '/a/anything', true],
      ['/a/**/c', '/a/x/y/z', true],
      ['/a/**/c', '/b', false],
      ['c', '/anything/at/all', true],
      ['*.txt', '/x', true],
      ['/a/b', '/a', true],
      ['/a/b', '/a/b', true],
    ],
    child,
    'childMayMatch',
  );
});

test('parsePattern: empty and malformed patterns are usage errors', () => {
  for (const bad of ['', '/', '//', '.', '/.', './', '[abc', '/a/[b']) {
    assert.throws(() => parsePattern(bad), (e: unknown) => e instanceof CofferError && e.code === 'usage', bad);
  }
  assert.equal(parsePattern('/a/').text, '/a/');
});

test('anyMatch: an empty list excludes nothing; any pattern suffices', () => {
  assert.equal(anyMatch([], '/a'), false);
  const ps = ['*.tmp', '/var/cache'].map(parsePattern);
  assert.equal(anyMatch(ps, '/x/y.tmp'), true);
  assert.equal(anyMatch(ps, '/var/cache'), true);
  assert.equal(anyMatch(ps, '/var/log'), false);
});
