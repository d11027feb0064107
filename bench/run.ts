/**
 * `npm run bench [-- --quick] [--rounds N] [--tools coffer,restic-0.18,restic-0.14,borg]`
 *
 * Coffer against restic 0.18, restic 0.14 and borg 1.2 on the shared corpus, side by side in one
 * run (issue 3). Per round and tool, on a fresh tmpfs copy of the corpus: init (not timed), first
 * backup, unchanged re-backup, mutate-corpus (not timed), backup after the changes, full restore
 * of that last snapshot, check with a full data read. Rounds interleave the tools, so a load
 * change on the machine hits every tool alike; medians of the rounds are reported.
 *
 * Measured per step with /usr/bin/time: wall time, CPU (user+sys, the child and its threads),
 * peak RSS; the repository size after the first backup and at the end. Every tool uses its
 * normal key derivation (restic offers no cheap one), and init is not timed. Compression: restic
 * and Coffer `auto`, borg `zstd,3`. The table goes to bench/results/<timestamp>.md and stdout.
 *
 * Not a test: nothing in `npm test` runs it. Needs /usr/bin/time, restic (/usr/bin/restic and
 * `shared/services/restic-latest`), borg (`apt-get install borgbackup`); a missing tool is left out.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env.COFFER_SHARED ?? path.resolve(ROOT, '..', 'shared');
const CACHE = process.env.COFFER_BENCH_DIR ?? path.join(os.homedir(), '.cache', 'coffer-bench');
const SHM = process.env.COFFER_BENCH_TMP ?? '/dev/shm';
const PASSWORD = 'bench-password';
const MiB = 1024 * 1024;

type StepName = 'backup1' | 'backup2' | 'backup3' | 'restore' | 'check';
const STEPS: { key: StepName; label: string }[] = [
  { key: 'backup1', label: 'first backup' },
  { key: 'backup2', label: 'unchanged re-backup' },
  { key: 'backup3', label: 'backup after mutate' },
  { key: 'restore', label: 'full restore' },
  { key: 'check', label: 'check --read-data' },
];
/** Targets: Coffer's wall time / restic 0.18's (issue 3); first backup also ≤ 0.8× borg. */
const TARGET: Record<StepName, number> = { backup1: 0.6, backup2: 0.7, backup3: 0.7, restore: 0.7, check: 0.8 };

interface Measure {
  wall: number;
  cpu: number;
  rssMiB: number;
  ok: boolean;
  note?: string;
}

interface Ctx {
  src: string;
  repo: string;
  target: string;
  work: string;
  env: NodeJS.ProcessEnv;
}

interface Tool {
  name: string;
  available(): string | undefined; // undefined = ok, else why not
  init(c: Ctx): string[];
  backup(c: Ctx): string[];
  restore(c: Ctx): string[];
  check(c: Ctx): string[] | undefined;
  env(c: Ctx): NodeJS.ProcessEnv;
  /** Exit codes that still mean success (e.g. 3: some source files unreadable). */
  okCodes?: number[];
}

// ---------------------------------------------------------------------------------------------
// arguments

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const argVal = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ROUNDS = Number(argVal('--rounds') ?? 3);
const onlyTools = argVal('--tools')?.split(',');

// ---------------------------------------------------------------------------------------------
// tools

function resticLatest(): string | undefined {
  if (process.env.RESTIC_LATEST && fs.existsSync(process.env.RESTIC_LATEST)) return process.env.RESTIC_LATEST;
  try {
    const out = execFileSync('bash', [path.join(SHARED, 'services', 'restic-latest')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /RESTIC_LATEST=(\S+)/.exec(out);
    return m && fs.existsSync(m[1]!) ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The build under test is copied first (bin, dist/src, package.json; node_modules linked): the
 * working tree may be rebuilt while a long run goes on.
 */
let COFFER_HOME = ROOT;
function pinBuild(stamp: string): void {
  const home = path.join(CACHE, 'builds', stamp);
  fs.mkdirSync(path.join(home, 'dist'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'dist', 'src'), path.join(home, 'dist', 'src'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'bin'), path.join(home, 'bin'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(home, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(home, 'node_modules'));
  COFFER_HOME = home;
}
const cofferBin = () => path.join(COFFER_HOME, 'bin', 'coffer.js');
const cofferHasCheck = () => fs.existsSync(path.join(COFFER_HOME, 'dist', 'src', 'cli', 'commands', 'check.js'));

function resticTool(name: string, bin: string | undefined): Tool {
  return {
    name,
    available: () => (bin && fs.existsSync(bin) ? undefined : `${name} not found`),
    env: (c) => ({ RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: c.repo, RESTIC_CACHE_DIR: path.join(c.work, 'cache-' + name) }),
    init: () => [bin!, 'init'],
    backup: (c) => [bin!, 'backup', '--compression', 'auto', c.src],
    restore: (c) => [bin!, 'restore', 'latest', '--target', c.target],
    check: () => [bin!, 'check', '--read-data'],
    okCodes: [3],
  };
}

const TOOLS: Tool[] = [
  {
    name: 'coffer',
    available: () => (fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js')) ? undefined : 'not built'),
    env: (c) => ({ COFFER_PASSWORD: PASSWORD, COFFER_REPOSITORY: c.repo }),
    init: () => [process.execPath, cofferBin(), 'init'],
    backup: (c) => [process.execPath, cofferBin(), 'backup', c.src],
    restore: (c) => [process.execPath, cofferBin(), 'restore', 'latest', '--target', c.target],
    check: () => (cofferHasCheck() ? [process.execPath, cofferBin(), 'check', '--read-data'] : undefined),
    okCodes: [3],
  },
  resticTool('restic-0.18', resticLatest()),
  resticTool('restic-0.14', '/usr/bin/restic'),
  {
    name: 'borg',
    available: () => (spawnSync('borg', ['--version']).status === 0 ? undefined : 'borg not installed (apt-get install borgbackup)'),
    env: (c) => ({ BORG_PASSPHRASE: PASSWORD, BORG_REPO: c.repo, BORG_BASE_DIR: path.join(c.work, 'borg-base'), BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes' }),
    init: () => ['borg', 'init', '--encryption', 'repokey'],
    // Three archives: names must differ.
    backup: (c) => ['borg', 'create', '--compression', 'zstd,3', `::s${Date.now()}`, c.src],
    // borg extracts into the current folder (run with cwd = target), paths without the leading '/'.
    restore: () => ['borg', 'extract', '::' + 'LAST'],
    check: () => ['borg', 'check', '--verify-data'],
    okCodes: [1], // 1 = warning (e.g. a file changed while read)
  },
];

// ---------------------------------------------------------------------------------------------
// corpus

function sh(cmd: string, a: string[], opts: { cwd?: string; quiet?: boolean } = {}): void {
  const r = spawnSync(cmd, a, { stdio: opts.quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', ...(opts.cwd ? { cwd: opts.cwd } : {}) });
  if (r.status !== 0) throw new Error(`${cmd} ${a.join(' ')} failed (${r.status ?? r.signal})`);
}

function fullCorpus(): string {
  const dir = path.join(CACHE, 'corpus');
  const marker = path.join(CACHE, 'corpus.done');
  if (!fs.existsSync(marker)) {
    console.log(`building the corpus in ${dir} (make-corpus; about 1.6 GiB, a few minutes)`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(CACHE, { recursive: true });
    sh('bash', [path.join(SHARED, 'bench', 'make-corpus'), dir]);
    fs.writeFileSync(marker, new Date().toISOString() + '\n');
  }
  return dir;
}

/** A ~350 MiB, ~18k-file subset with the same kinds of data, still valid for mutate-corpus. */
const QUICK_PARTS = [
  'photos/camera/2023',
  'photos/wallpapers/gnome-backgrounds',
  'documents/linux-6.1/fs',
  'documents/linux-6.1/include',
  'documents/linux-6.1/kernel',
  'documents/linux-6.1/mm',
  'documents/linux-6.1/Documentation',
];
const QUICK_VM_MIB = 64;

function quickCorpus(): string {
  const dir = path.join(CACHE, 'corpus-quick');
  const marker = path.join(CACHE, 'corpus-quick.done');
  if (fs.existsSync(marker)) return dir;
  const full = fullCorpus();
  console.log(`building the quick corpus in ${dir}`);
  fs.rmSync(dir, { recursive: true, force: true });
  for (const p of QUICK_PARTS) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    sh('cp', ['-a', path.join(full, p), path.join(dir, p)]);
  }
  fs.mkdirSync(path.join(dir, 'large'), { recursive: true });
  const vm = path.join(dir, 'large', 'vm-disk.img');
  const fd = fs.openSync(path.join(full, 'large', 'vm-disk.img'), 'r');
  const buf = Buffer.alloc(QUICK_VM_MIB * MiB);
  fs.readSync(fd, buf, 0, buf.length, 0);
  fs.closeSync(fd);
  fs.writeFileSync(vm, buf);
  const st = fs.statSync(path.join(full, 'large', 'vm-disk.img'));
  fs.utimesSync(vm, st.atime, st.mtime);
  fs.writeFileSync(marker, new Date().toISOString() + '\n');
  return dir;
}

function treeStats(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        files++;
        bytes += fs.lstatSync(p).size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

// ---------------------------------------------------------------------------------------------
// measuring

function timed(argv: string[], env: NodeJS.ProcessEnv, cwd: string, log: string, okCodes: number[] = []): Promise<Measure> {
  const tfile = log + '.time';
  return new Promise((resolve) => {
    const out = fs.openSync(log, 'a');
    fs.writeSync(out, `\n$ ${argv.join(' ')}\n`);
    const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', tfile, ...argv], { env: { ...process.env, ...env }, cwd, stdio: ['ignore', out, out] });
    child.on('close', (code) => {
      fs.closeSync(out);
      const [e, u, s, m] = fs.readFileSync(tfile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
      const ok = code === 0 || okCodes.includes(code ?? -1);
      resolve({ wall: e!, cpu: u! + s!, rssMiB: m! / 1024, ok, ...(ok ? {} : { note: `exit ${code}, see ${log}` }) });
    });
  });
}

function dirSize(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else n += fs.lstatSync(p).size;
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return n;
}

interface RoundResult {
  steps: Partial<Record<StepName, Measure>>;
  repoAfterFirst: number;
  repoFinal: number;
  restoreCheck?: string;
}

async function runRound(tool: Tool, corpus: string, work: string, round: number, logDir: string): Promise<RoundResult> {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const c: Ctx = { src: path.join(work, 'src'), repo: path.join(work, 'repo'), target: path.join(work, 'restore'), work, env: {} };
  c.env = tool.env(c);
  sh('cp', ['-a', corpus, c.src]);
  const log = path.join(logDir, `${tool.name}-r${round}.log`);
  const res: RoundResult = { steps: {}, repoAfterFirst: 0, repoFinal: 0 };
  const init = await timed(tool.init(c), c.env, work, log);
  if (!init.ok) throw new Error(`${tool.name} init failed, see ${log}`);
  const step = async (k: StepName, argv: string[] | undefined, cwd = work) => {
    if (!argv) return;
    res.steps[k] = await timed(argv, c.env, cwd, log, tool.okCodes);
    const m = res.steps[k]!;
    console.log(`  ${tool.name.padEnd(12)} round ${round} ${k.padEnd(8)} ${m.wall.toFixed(2).padStart(7)} s wall ${m.cpu.toFixed(2).padStart(7)} s cpu ${m.rssMiB.toFixed(0).padStart(5)} MiB${m.ok ? '' : '  FAILED ' + m.note}`);
  };
  await step('backup1', tool.backup(c));
  res.repoAfterFirst = dirSize(c.repo);
  await step('backup2', tool.backup(c));
  sh('bash', [path.join(SHARED, 'bench', 'mutate-corpus'), c.src], { quiet: true });
  await step('backup3', tool.backup(c));
  fs.mkdirSync(c.target, { recursive: true });
  let restoreArgv = tool.restore(c);
  if (tool.name === 'borg') {
    const last = execFileSync('borg', ['list', '--short', '--last', '1'], { env: { ...process.env, ...c.env }, encoding: 'utf8' }).trim();
    restoreArgv = ['borg', 'extract', '::' + last];
  }
  await step('restore', restoreArgv, c.target);
  // Sanity: the restored tree has the source's regular files and bytes.
  const restoredRoot = path.join(c.target, c.src.replace(/^\//, ''));
  const a = treeStats(c.src);
  const b = fs.existsSync(restoredRoot) ? treeStats(restoredRoot) : { files: 0, bytes: 0 };
  if (a.files !== b.files || a.bytes !== b.bytes) {
    res.restoreCheck = `restored ${b.files} files/${b.bytes} B, source has ${a.files}/${a.bytes}`;
    console.log(`  ${tool.name}: RESTORE MISMATCH: ${res.restoreCheck}`);
    if (res.steps.restore) res.steps.restore.ok = false;
  }
  fs.rmSync(c.target, { recursive: true, force: true });
  fs.rmSync(c.src, { recursive: true, force: true }); // free tmpfs before the read-everything check
  await step('check', tool.check(c));
  res.repoFinal = dirSize(c.repo);
  fs.rmSync(work, { recursive: true, force: true });
  return res;
}

// ---------------------------------------------------------------------------------------------
// report

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmtS = (x: number | undefined) => (x === undefined ? 'n/a' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const fmtR = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(2) + '×');

interface Summary {
  wall?: number;
  wallMin?: number;
  wallMax?: number;
  cpu?: number;
  rss?: number;
}

function summarize(rounds: RoundResult[], k: StepName): Summary {
  const ms = rounds.map((r) => r.steps[k]).filter((m): m is Measure => !!m && m.ok);
  if (ms.length === 0) return {};
  const walls = ms.map((m) => m.wall);
  return { wall: median(walls), wallMin: Math.min(...walls), wallMax: Math.max(...walls), cpu: median(ms.map((m) => m.cpu)), rss: median(ms.map((m) => m.rssMiB)) };
}

function report(results: Map<string, RoundResult[]>, meta: string[]): string {
  const names = [...results.keys()];
  const sum = new Map(names.map((n) => [n, Object.fromEntries(STEPS.map((s) => [s.key, summarize(results.get(n)!, s.key)])) as Record<StepName, Summary>]));
  const L: string[] = [];
  L.push(`# Coffer benchmark ${new Date().toISOString()}`, '', ...meta.map((m) => `- ${m}`), '');
  L.push('Medians of the rounds; wall time in seconds (min–max), CPU = user+sys seconds, RSS = peak MiB.', '');
  L.push(`| step | ${names.map((n) => `${n} wall | cpu | RSS`).join(' | ')} |`);
  L.push(`| --- | ${names.map(() => '---: | ---: | ---:').join(' | ')} |`);
  for (const s of STEPS) {
    const cells = names.map((n) => {
      const x = sum.get(n)![s.key];
      if (x.wall === undefined) return 'n/a | n/a | n/a';
      return `${fmtS(x.wall)} (${fmtS(x.wallMin)}–${fmtS(x.wallMax)}) | ${fmtS(x.cpu)} | ${x.rss!.toFixed(0)}`;
    });
    L.push(`| ${s.label} | ${cells.join(' | ')} |`);
  }
  const repoMiB = (n: string, f: (r: RoundResult) => number) => median(results.get(n)!.map(f)) / MiB;
  L.push(`| repository after first backup (MiB) | ${names.map((n) => `${repoMiB(n, (r) => r.repoAfterFirst).toFixed(1)} | | `).join(' | ')} |`);
  L.push(`| repository at the end (MiB) | ${names.map((n) => `${repoMiB(n, (r) => r.repoFinal).toFixed(1)} | | `).join(' | ')} |`);
  L.push('');
  if (!results.has('coffer')) return L.join('\n');
  const c = sum.get('coffer')!;
  const others = ['restic-0.18', 'restic-0.14', 'borg'].filter((n) => results.has(n));
  L.push('Ratios of median wall times (CPU in brackets), Coffer / other; target against restic 0.18.', '');
  L.push(`| step | ${others.map((o) => `Coffer/${o}`).join(' | ')} | target | verdict |`);
  L.push(`| --- | ${others.map(() => '---:').join(' | ')} | --- | --- |`);
  for (const s of STEPS) {
    const ratio = (o: string, f: keyof Summary) => {
      const a = c[s.key][f];
      const b = sum.get(o)![s.key][f];
      return a === undefined || b === undefined ? undefined : a / b;
    };
    const cells = others.map((o) => `${fmtR(ratio(o, 'wall'))} (${fmtR(ratio(o, 'cpu'))})`);
    const r18 = results.has('restic-0.18') ? ratio('restic-0.18', 'wall') : undefined;
    let target = `≤ ${TARGET[s.key]}× restic 0.18`;
    let verdict: string;
    if (r18 === undefined) verdict = c[s.key].wall === undefined ? 'n/a (Coffer has no result)' : 'n/a (no restic 0.18 result)';
    else {
      const met = r18 <= TARGET[s.key];
      verdict = met ? `met (${r18.toFixed(2)} ≤ ${TARGET[s.key]})` : `NOT met (${r18.toFixed(2)} > ${TARGET[s.key]})`;
      if (s.key === 'backup1' && results.has('borg')) {
        const rb = ratio('borg', 'wall');
        target += ', ≤ 0.8× borg';
        if (rb !== undefined) verdict += rb <= 0.8 ? `; vs borg met (${rb.toFixed(2)} ≤ 0.8)` : `; vs borg NOT met (${rb.toFixed(2)} > 0.8)`;
      }
    }
    L.push(`| ${s.label} | ${cells.join(' | ')} | ${target} | ${verdict} |`);
  }
  if (results.has('restic-0.18')) {
    const peak = (n: string) => Math.max(...STEPS.map((s) => sum.get(n)![s.key].rss ?? 0));
    const pc = peak('coffer');
    const pr = peak('restic-0.18');
    L.push(`| peak RSS (MiB) | ${others.map((o) => fmtR(pc / peak(o))).join(' | ')} | ≤ restic 0.18 | ${pc <= pr ? 'met' : 'NOT met'} (${pc.toFixed(0)} vs ${pr.toFixed(0)} MiB) |`);
    const sc = repoMiB('coffer', (r) => r.repoAfterFirst);
    const sr = repoMiB('restic-0.18', (r) => r.repoAfterFirst);
    const dev = sc / sr - 1;
    L.push(`| repository size | ${others.map((o) => fmtR(sc / repoMiB(o, (r) => r.repoAfterFirst))).join(' | ')} | within 1% of restic 0.18 | ${Math.abs(dev) <= 0.01 ? 'met' : 'NOT met'} (${(dev * 100).toFixed(2)}%) |`);
  }
  const problems = [...results].flatMap(([n, rs]) => rs.flatMap((r, i) => [
    ...Object.entries(r.steps).filter(([, m]) => !m!.ok).map(([k, m]) => `${n} round ${i + 1} ${k}: ${m!.note ?? 'failed'}`),
    ...(r.restoreCheck ? [`${n} round ${i + 1} restore: ${r.restoreCheck}`] : []),
  ]));
  if (problems.length) L.push('', 'Problems:', ...problems.map((p) => `- ${p}`));
  return L.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const tools = TOOLS.filter((t) => !onlyTools || onlyTools.includes(t.name));
  const usable = tools.filter((t) => {
    const why = t.available();
    if (why) console.log(`skipping ${t.name}: ${why}`);
    return !why;
  });
  const corpus = quick ? quickCorpus() : fullCorpus();
  const stats = treeStats(corpus);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  if (usable.some((t) => t.name === 'coffer')) pinBuild(stamp);
  const commit = spawnSync('git', ['log', '-1', '--format=%h %s'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const logDir = path.join(CACHE, 'logs', stamp);
  fs.mkdirSync(logDir, { recursive: true });
  const work = path.join(SHM, `coffer-bench-${process.pid}`);
  const versions = usable.map((t) => {
    const argv = t.name === 'coffer' ? [process.execPath, cofferBin(), 'version'] : t.name === 'borg' ? ['borg', '--version'] : [t.init({} as Ctx)[0]!, 'version'];
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    return `${t.name}: ${(r.stdout || r.stderr).trim().split('\n')[0]}`;
  });
  const meta = [
    `corpus: ${quick ? 'quick subset' : 'full'} ${corpus}: ${stats.files} files, ${(stats.bytes / MiB).toFixed(0)} MiB; rounds: ${ROUNDS}`,
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `source copy, repositories and restore targets on ${SHM} (tmpfs); Node ${process.version}`,
    ...versions,
    `Coffer build: commit ${commit}${spawnSync('git', ['status', '--porcelain', 'src'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() ? ' + uncommitted changes in src/' : ''}, pinned in ${COFFER_HOME}`,
    `Coffer check: ${cofferHasCheck() ? 'coffer check --read-data' : 'n/a (no check command yet)'}`,
    `logs: ${logDir}`,
  ];
  console.log(meta.join('\n'));
  const results = new Map<string, RoundResult[]>(usable.map((t) => [t.name, []]));
  process.on('SIGINT', () => {
    fs.rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of usable) {
      try {
        results.get(t.name)!.push(await runRound(t, corpus, work, round, logDir));
      } catch (e) {
        console.log(`  ${t.name} round ${round} failed: ${(e as Error).message}`);
        fs.rmSync(work, { recursive: true, force: true });
      }
    }
  }
  meta.push(`load at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const text = report(results, meta);
  const outDir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${stamp}${quick ? '-quick' : ''}.md`);
  fs.writeFileSync(file, text);
  console.log('\n' + text + `\nwritten to ${path.relative(process.cwd(), file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
