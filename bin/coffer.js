#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (built by `npm ci` / `npm run build`).
// Until main() installs its own handler, Ctrl-C ends the program as an interrupt (exit 130),
// not as a death by signal: nothing has been started yet.
const early = () => {
  process.stderr.write('signal interrupt received before start-up finished\n');
  process.exit(130);
};
process.once('SIGINT', early);
import('../dist/src/cli/main.js')
  .then((m) => {
    process.off('SIGINT', early);
    return m.main(process.argv.slice(2));
  })
  .catch((e) => {
    if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/src/cli/main.js')) {
      process.stderr.write('coffer is not built yet: run "npm ci" (or "npm run build") in the project folder\n');
    } else {
      process.stderr.write(`coffer: ${e && e.message ? e.message : e}\n`);
    }
    process.exit(1);
  });
