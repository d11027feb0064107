// Runs the compiled test suite (dist/test) with Node's built-in runner.
// Usage: node test/run.mjs [subfolder-or-file ...]   (default: every test under dist/test)
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const targets = process.argv.slice(2).map((t) => path.join('dist/test', t.replace(/^test\//, '').replace(/\.ts$/, '.js')));
const args = ['--test', '--test-concurrency=2', ...(targets.length ? targets : ['dist/test'])];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
