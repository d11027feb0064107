/**
 * `npm run build && node dist/bench/web.js [--mib 1024]`: the web app's speed targets (issue 10,
 * design web-gallery.md §5), measured in Debian's Chromium against `coffer web`:
 *
 *   - page interactive after unlock: from the `coffer-unlocked` mark to the first snapshot row
 *     (target < 1 s);
 *   - a snapshot's root listed (target < 300 ms): from the hash change to the first file row;
 *   - a large file downloaded through the service worker, against `coffer restore` of the same
 *     file by the Node CLI (target: within 2× of the CLI's rate).
 *
 * Not a test. The repository uses the cheap test KDF (COFFER_KDF) so unlock time is the app's,
 * not scrypt's. The table goes to stdout and bench/results/web-<timestamp>.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'coffer.js');
const PASSWORD = 'bench-web-password';
const MiB = 1024 * 1024;
const argMib = process.argv.indexOf('--mib');
const SIZE_MIB = Number(argMib > 0 ? process.argv[argMib + 1] : (process.env.COFFER_BENCH_WEB_MIB ?? 1024));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(e)) if (k.startsWith('COFFER_') || k.startsWith('RESTIC_')) delete e[k];
  return { ...e, COFFER_KDF: '1024,8,1', ...extra };
}

function coffer(args: string[], extra: Record<string, string> = {}): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { env: env(extra), stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`coffer ${args.join(' ')} failed (${r.status})`);
  return performance.now() - t;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(process.env.COFFER_BENCH_TMP ?? os.tmpdir(), 'coffer-bench-web-'));
  try {
    const src = path.join(dir, 'src');
    const repo = path.join(dir, 'repo');
    fs.mkdirSync(path.join(src, 'docs'), { recursive: true });
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(src, 'docs', `note-${i}.txt`), randomBytes(2000));
    const big = path.join(src, 'big.bin');
    const fd = fs.openSync(big, 'w');
    for (let i = 0; i < SIZE_MIB; i++) fs.writeSync(fd, randomBytes(MiB));
    fs.closeSync(fd);
    const pw = { COFFER_PASSWORD: PASSWORD };
    coffer(['-r', repo, 'init'], pw);
    const backupMs = coffer(['-r', repo, 'backup', src, '--host', 'bench'], pw);
    process.stderr.write(`backed up ${SIZE_MIB} MiB in ${(backupMs / 1000).toFixed(1)} s\n`);
    const target = path.join(dir, 'restored');
    const restoreMs = coffer(['-r', repo, 'restore', 'latest', '--target', target, '--include', big], pw);
    const cliRate = (SIZE_MIB * MiB) / (restoreMs / 1000);
    fs.rmSync(target, { recursive: true, force: true });

    const server = spawn(process.execPath, [BIN, '-r', repo, 'web', '--listen', '127.0.0.1:0', '--quiet'], { env: env(), stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^http:\S+$/m.exec(out);
        if (m) resolve(m[0]);
      });
      server.once('exit', (c) => reject(new Error(`coffer web exited ${c}`)));
    });
    const profile = fs.mkdtempSync(path.join(dir, 'profile-'));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, acceptDownloads: true, viewport: { width: 1280, height: 800 } });
    const rows: [string, string, string][] = [];
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(url);
      await page.getByTestId('unlock-password').fill(PASSWORD);
      const clicked = await page.evaluate(() => performance.now());
      await page.getByTestId('unlock-submit').click();
      await page.getByTestId('snapshot-row').first().waitFor({ timeout: 120_000 });
      const t = await page.evaluate(() => ({ now: performance.now(), unlocked: performance.getEntriesByName('coffer-unlocked')[0]!.startTime }));
      const interactive = t.now - t.unlocked;
      rows.push(['unlock (submit → key open; cheap KDF)', `${Math.round(t.unlocked - clicked)} ms`, '']);
      rows.push(['page interactive after unlock (key open → snapshot list)', `${Math.round(interactive)} ms`, `< 1000 ms: ${interactive < 1000 ? 'met' : 'MISSED'}`]);

      const id = await page.getByTestId('snapshot-row').first().getAttribute('data-id');
      const listed: number[] = [];
      for (let i = 0; i < 5; i++) {
        // The source folder: every snapshot walks the same few trees from the root down.
        const segs = ['snapshots', id!, ...src.split('/').filter(Boolean)].map(encodeURIComponent).join('/');
        await page.goto(url.replace(/\/\?token=.*$/, '/#/snapshots'));
        await page.getByTestId('snapshot-row').first().waitFor();
        const t0 = await page.evaluate(() => performance.now());
        await page.evaluate((h) => (location.hash = h), `#/${segs}`);
        await page.locator('[data-testid=file-row][data-name="big.bin"]').waitFor();
        listed.push((await page.evaluate(() => performance.now())) - t0);
      }
      listed.sort((a, b) => a - b);
      const med = listed[2]!;
      rows.push(['snapshot folder listed (hash change → rows; median of 5)', `${Math.round(med)} ms`, `< 300 ms: ${med < 300 ? 'met' : 'MISSED'}`]);

      await page.locator('[data-testid=file-row][data-name="big.bin"]').click();
      const d0 = performance.now();
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByTestId('file-download').click()]);
      const saved = await dl.path();
      const dlMs = performance.now() - d0;
      const size = fs.statSync(saved).size;
      if (size !== SIZE_MIB * MiB) throw new Error(`downloaded ${size} bytes, expected ${SIZE_MIB * MiB}`);
      const webRate = size / (dlMs / 1000);
      rows.push([`CLI restore of ${SIZE_MIB} MiB (coffer restore)`, `${(cliRate / MiB).toFixed(0)} MiB/s`, '']);
      // The HTTP path alone: every pack fetched whole by the page, three at a time (as the worker
      // reads ahead), bodies dropped. Separates the server and Chromium's network stack from decryption.
      const packs: string[] = [];
      for (const shard of fs.readdirSync(path.join(repo, 'data'))) for (const f of fs.readdirSync(path.join(repo, 'data', shard))) packs.push(f);
      const fetched = await page.evaluate(async (names: string[]) => {
        const t0 = performance.now();
        let n = 0;
        const q = names.slice();
        await Promise.all(
          [0, 1, 2].map(async () => {
            for (let name = q.shift(); name !== undefined; name = q.shift()) n += (await (await fetch(`/repo/data/${name}`, { cache: 'no-store' })).arrayBuffer()).byteLength;
          }),
        );
        return { n, ms: performance.now() - t0 };
      }, packs);
      const fetchRate = fetched.n / (fetched.ms / 1000);
      rows.push([`plain fetch of the ${packs.length} packs in the page (HTTP path alone)`, `${(fetchRate / MiB).toFixed(0)} MiB/s`, '']);
      rows.push([`download of ${SIZE_MIB} MiB in the browser (service worker stream)`, `${(webRate / MiB).toFixed(0)} MiB/s`, `within 2× of the CLI: ${webRate * 2 >= cliRate ? 'met' : 'MISSED'} (${(cliRate / webRate).toFixed(2)}×)`]);
    } finally {
      await context.close();
      server.kill('SIGTERM');
    }
    const table = ['| measure | result | target |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
    const head = `# Web app benchmark, ${new Date().toISOString()}\n\n${os.cpus().length} CPUs, ${SIZE_MIB} MiB file, Chromium ${spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).stdout.trim()}\n\n`;
    process.stdout.write(head + table + '\n');
    const out = path.join(ROOT, 'bench', 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, `web-${new Date().toISOString().replace(/[:.]/g, '-')}.md`), head + table + '\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/web: ${(e as Error).message}\n`);
  process.exit(1);
});
