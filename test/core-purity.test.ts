/**
 * src/core must run unchanged in the browser: no node:* imports, no Buffer, no process, and no
 * imports reaching out of src/core. (The browser tests prove it for the read path; this guards
 * every file.)
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { it } from 'node:test';
import { ROOT } from './helpers/paths.js';

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

it('src/core uses no Node-only APIs and imports nothing outside src/core', () => {
  const problems: string[] = [];
  const core = path.join(ROOT, 'src', 'core');
  for (const f of files(core)) {
    // Comments may mention Buffer or node:fs; code may not.
    const code = fs.readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
    const rel = path.relative(ROOT, f);
    if (/from\s+['"]node:|require\(/.test(code)) problems.push(`${rel}: imports a Node module`);
    if (/\bBuffer\s*[.(]/.test(code)) problems.push(`${rel}: uses Buffer`);
    if (/\bprocess\s*\./.test(code)) problems.push(`${rel}: uses process`);
    for (const m of code.matchAll(/from\s+['"](\.[^'"]+)['"]/g)) {
      const target = path.resolve(path.dirname(f), m[1]!);
      if (!target.startsWith(core + path.sep)) problems.push(`${rel}: imports ${m[1]} outside src/core`);
    }
  }
  assert.deepEqual(problems, []);
});
