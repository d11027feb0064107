#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (built by `npm ci` / `npm run build`).
import('../dist/src/cli/main.js')
  .then((m) => m.main(process.argv.slice(2)))
  .catch((e) => {
    if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/src/cli/main.js')) {
      process.stderr.write('coffer is not built yet: run "npm ci" (or "npm run build") in the project folder\n');
    } else {
      process.stderr.write(`coffer: ${e && e.message ? e.message : e}\n`);
    }
    process.exit(1);
  });
