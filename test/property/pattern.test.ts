/**
 * Path pattern invariants (--exclude/--include): escaped names match exactly themselves, globs
 * agree with an independent regular-expression model, whatever matches a path is reachable
 * (childMayMatch holds for every ancestor, so the walk descends to it), and any pattern text
 * either parses or is refused with CofferError 'usage'; matching never throws.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { isCofferError } from '../../src/core/errors.js';
import { childMayMatch, matchComponent, matchPath, parsePattern } from '../../src/core/filter/pattern.js';
import { RUNS } from './arbitraries.js';

const escapeGlob = (s: string): string => s.replace(/[*?[\]\\]/g, (c) => '\\' + c);
const component = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'b', '.', '*', '?', '[', ']', '\\', '-', '^', ' '), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 8 })
  .filter((s) => !s.includes('/'));

test('pattern: an escaped name matches exactly that name', () => {
  fc.assert(
    fc.property(component, component, (a, b) => {
      assert.equal(matchComponent(escapeGlob(a), a), true);
      assert.equal(matchComponent(escapeGlob(a), b), a === b);
      assert.equal(matchComponent('*', a), true);
      assert.equal(matchComponent('?'.repeat([...a].length), a), true);
    }),
    { numRuns: RUNS * 2 },
  );
});

/** Globs over a small alphabet, and the same glob as a regular expression. */
const globToken = fc.constantFrom('a', 'b', 'c', '*', '?', '[ab]', '[^a]', '[a-b]', '\\*');
const small = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '*'), maxLength: 6 });

function globRegex(tokens: string[]): RegExp {
  const re = tokens.map((t) => (t === '*' ? '[^/]*' : t === '?' ? '.' : t === '\\*' ? '\\*' : t.startsWith('[') ? t : t)).join('');
  return new RegExp(`^${re}$`, 'su');
}

test('pattern: matchComponent agrees with a regular-expression model of the glob', () => {
  fc.assert(
    fc.property(fc.array(globToken, { maxLength: 6 }), small, (tokens, name) => {
      assert.equal(matchComponent(tokens.join(''), name), globRegex(tokens).test(name), `glob ${tokens.join('')} vs ${name}`);
    }),
    { numRuns: RUNS * 3 },
  );
});

const seg = fc.constantFrom('a', 'b', 'ab', 'c');
const pathArb = fc.array(seg, { minLength: 1, maxLength: 5 }).map((s) => '/' + s.join('/'));
const patternText = fc
  .tuple(fc.boolean(), fc.array(fc.constantFrom('a', 'b', '*', '**', 'a*', '?', '[ab]', 'c'), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([anchored, parts, slash]) => (anchored ? '/' : '') + parts.join('/') + (slash ? '/' : ''));

test('pattern: whatever matches a path keeps every ancestor open for descent', () => {
  fc.assert(
    fc.property(patternText, pathArb, (text, path) => {
      const p = parsePattern(text);
      if (!matchPath(p, path)) return;
      const parts = path.split('/').filter(Boolean);
      for (let i = 0; i < parts.length; i++) {
        const ancestor = '/' + parts.slice(0, i).join('/');
        assert.ok(childMayMatch(p, ancestor), `${text} matches ${path} but childMayMatch(${ancestor}) is false`);
      }
    }),
    { numRuns: RUNS * 3 },
  );
});

test('pattern: a literal anchored pattern matches its path; an unanchored name matches it at any depth', () => {
  fc.assert(
    fc.property(fc.array(component.filter((c) => c !== '.'), { minLength: 1, maxLength: 4 }), fc.array(seg, { maxLength: 3 }), (comps, prefix) => {
      const path = '/' + comps.join('/');
      assert.ok(matchPath(parsePattern('/' + comps.map(escapeGlob).join('/')), path));
      const last = comps[comps.length - 1]!;
      assert.ok(matchPath(parsePattern(escapeGlob(last)), '/' + [...prefix, last].join('/')));
    }),
    { numRuns: RUNS },
  );
});

test('pattern: any text parses or is refused as usage; matching never throws', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.oneof(fc.constantFrom('/', '*', '**', '[', ']', '\\', '.', 'a'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 12 }), pathArb, (text, path) => {
      let p;
      try {
        p = parsePattern(text);
      } catch (e) {
        assert.ok(isCofferError(e, 'usage'), `parsePattern(${JSON.stringify(text)}) threw ${String(e)}`);
        return;
      }
      matchPath(p, path);
      childMayMatch(p, path);
    }),
    { numRuns: RUNS * 2 },
  );
});
