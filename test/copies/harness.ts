/**
 * Shared set-up of the copies tests: a private HOME/XDG tree with a tiny source, `coffer` run
 * with an expected exit code, and the real restic's snapshot list of a repository.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';

export interface CopiesHarness {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  coffer(args: string[], code?: number): Promise<{ stdout: string; stderr: string }>;
  resticSnapshots(repo: string): Promise<{ id: string; hostname: string; tags?: string[]; original?: string }[]>;
}

export function copiesHarness(prefix: string): CopiesHarness {
  const dir = tempDir(prefix);
  const env = testEnv({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_DATA_HOME: path.join(dir, 'data') });
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'a\n');
  return {
    dir,
    env,
    async coffer(args, code = 0) {
      const r = await runCoffer(args, { env });
      assert.equal(r.code, code, `coffer ${args.join(' ')} → ${r.code}: ${r.stderr}`);
      return r;
    },
    async resticSnapshots(repo) {
      const r = await runRestic(resticBinaries().at(-1)!, ['-r', repo, 'snapshots', '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    },
  };
}
