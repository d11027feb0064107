/**
 * The drill engine runs in the browser unchanged (the web app's sampled drill): headless Chromium
 * imports dist/src/core/engine/drill/drill.js, reaches a repository written by the CLI through
 * RestBackend, opens it with a kit-style key, checks structure, restores a sample into an
 * in-page memory target, verifies it and records the result in the repository.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';
import { prng } from '../helpers/tree.js';
import { requireBrowser, withBrowserPage } from '../browser/harness.js';

interface Args {
  base: string;
  key: string;
  repositoryId: string;
}

async function drillInPage(a: Args): Promise<unknown> {
  const dist = '/dist/src/core/';
  const { webPlatform } = await import(dist + 'platform-web.js');
  const { RestBackend } = await import(dist + 'backend/rest.js');
  const { runDrill } = await import(dist + 'engine/drill/drill.js');
  const { parseRecoveryKey } = await import(dist + 'kit/recovery-key.js');
  const key = parseRecoveryKey(a.key.toLowerCase()).key; // the kit code path, in the page
  const platform = await webPlatform();
  const files = new Map<string, Uint8Array[]>();
  const k = (p: readonly Uint8Array[]) => p.map((x) => new TextDecoder().decode(x)).join('/');
  const sink = {
    mkdir: async () => undefined,
    createFile: async (p: readonly Uint8Array[]) => {
      const parts: Uint8Array[] = [];
      files.set(k(p), parts);
      return { write: async (_o: number, d: Uint8Array) => void parts.push(new Uint8Array(d)), close: async () => undefined, abandon: async () => undefined };
    },
    createSpecial: async () => undefined,
    hardlink: async () => undefined,
    setMetadata: async () => undefined,
    readFile: async function* (p: readonly Uint8Array[]) {
      yield* files.get(k(p)) ?? [];
    },
  };
  const report = await runDrill(
    { kitId: 'browser', kitCreated: '2026-01-01T00:00:00Z', recoveryKey: key, copies: [{ name: 'web', url: a.base + '/repo/', repositoryId: a.repositoryId, keyId: '', options: [], needsEnv: [], needs: [] }], mode: 'sample', sample: 3, seed: '01' },
    { platform, backend: () => new RestBackend(a.base + '/repo/'), sink: async () => sink, now: () => performance.now(), owner: { hostname: 'browser', username: 'web', pid: 1 } },
  );
  return JSON.parse(JSON.stringify(report));
}

test('the drill engine runs a sampled drill in the browser', { timeout: 180_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-drill-browser-');
  const repo = path.join(dir, 'repo');
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'a'), { recursive: true });
  fs.writeFileSync(path.join(src, 'a', 'one.txt'), 'one\n');
  fs.writeFileSync(path.join(src, 'two.bin'), prng('drill-browser', 1_500_000));
  fs.writeFileSync(path.join(src, 'three.txt'), 'three\n');
  // A recovery key (valid checksum) as the repository's password, as a kit's key file would hold.
  const { generateRecoveryKey } = await import('../../src/core/kit/recovery-key.js');
  const real = generateRecoveryKey((n) => new Uint8Array(n).fill(7)).key;
  const env = testEnv({ COFFER_REPOSITORY: repo, COFFER_PASSWORD: real });
  for (const args of [['init'], ['backup', src]]) {
    const r = await runCoffer(args, { env });
    assert.equal(r.code, 0, r.stderr);
  }
  const id = JSON.parse((await runCoffer(['cat', 'config'], { env })).stdout).id as string;
  const report = (await withBrowserPage({ repoDir: repo }, (page, base) => page.evaluate(drillInPage, { base, key: real, repositoryId: id }))) as {
    verdict: string;
    copies: { verdict: string; filesVerified: number; bytesVerified: number; recorded: boolean; packsChecked: number; failures: unknown[] }[];
  };
  assert.equal(report.verdict, 'pass', JSON.stringify(report));
  const c = report.copies[0]!;
  assert.equal(c.filesVerified, 3);
  assert.equal(c.bytesVerified, 4 + 6 + 1_500_000);
  assert.ok(c.packsChecked >= 1);
  assert.equal(c.recorded, true);
});
