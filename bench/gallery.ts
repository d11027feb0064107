/**
 * `npx tsc -p tsconfig.json && node dist/bench/gallery.js [--photos 40] [--concurrency 2]
 * [--preview 1920] [--build]`: the gallery's speed on 12 MP JPEGs (issue 11, design
 * web-gallery.md §5: a gallery build of >= 20 photos/s on the developers' 2-core machine).
 *
 * The photos are 4000×3000 JPEGs (quality 90, 4:2:0, ~3 MB, as phones write them) made from
 * the bench corpus' real photographs (`../shared/bench/make-corpus`, in
 * ~/.cache/coffer-bench/corpus) with sensor-like noise added, one in four with EXIF orientation
 * 6 (a phone held upright); without the corpus, a noisy gradient. They are made once into
 * $TMPDIR/coffer-bench-gallery-v2 and reused.
 *
 * Default: `renderImage` (decode, upright, preview, thumbnail, ThumbHash) over the photos,
 * `--concurrency` at a time as the build runs them, after one warm-up photo; `--preview N`
 * renders previews N px long instead. `--build`: the whole `coffer gallery build` over a backup
 * of the photos (see build()). CPU ms per photo is the figure to compare on a shared machine:
 * wall time there mostly measures the neighbours. Not a test. The table goes to stdout and
 * bench/results/gallery-<timestamp>.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { forEachLimit } from '../src/core/async.js';
import * as thumbs from '../src/node/gallery-thumbs.js';

const { PREVIEW_LONG } = thumbs;
const renderImage = (b: Uint8Array) => thumbs.renderImage(b, PREVIEW ? { previewLong: PREVIEW } : undefined);
/** The renderer's knobs, when it reports them. */
const settings = (): unknown => ('renderSettings' in thumbs ? (thumbs as { renderSettings: () => unknown }).renderSettings() : {});

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return Number(i > 0 ? process.argv[i + 1] : dflt);
};
const PHOTOS = arg('photos', 40);
const CONCURRENCY = arg('concurrency', 2);
const PREVIEW = arg('preview', 0);
const BUILD = process.argv.includes('--build');
const DISTINCT = 8;
const CORPUS = path.join(os.homedir(), '.cache', 'coffer-bench', 'corpus', 'photos');
const CACHE = path.join(os.tmpdir(), 'coffer-bench-gallery-v2');

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** The 12 MP test photos: real photographs scaled to 4000×3000 when the corpus is there. */
async function photos(): Promise<{ files: Buffer[]; source: string }> {
  fs.mkdirSync(CACHE, { recursive: true });
  const made = [...Array(DISTINCT).keys()].map((i) => path.join(CACHE, `photo-${i}.jpg`));
  const sources = walk(path.join(CORPUS, 'wallpapers'))
    .filter((f) => /\.jpe?g$/i.test(f) && fs.statSync(f).size > 300_000)
    .sort()
    .slice(0, DISTINCT);
  const source = sources.length === DISTINCT ? 'bench corpus photographs scaled to 4000×3000' : 'generated textures, 4000×3000';
  for (let i = 0; i < DISTINCT; i++) {
    if (fs.existsSync(made[i]!)) continue;
    let raw: Buffer;
    if (sources.length === DISTINCT) {
      raw = await sharp(sources[i]!).resize(4000, 3000, { fit: 'cover' }).removeAlpha().raw().toBuffer();
    } else {
      // A gradient: no photograph, but with the noise below it costs the codec about as much.
      raw = Buffer.alloc(4000 * 3000 * 3);
      for (let p = 0; p < raw.length; p += 3) {
        const x = (p / 3) % 4000;
        raw[p] = x / 16;
        raw[p + 1] = p / 3 / 4000 / 12;
        raw[p + 2] = i * 30;
      }
    }
    // Sensor-like noise: wallpapers scaled up are smoother than camera photos, which at 12 MP
    // are 3-5 MB JPEGs; the decoder's cost follows the entropy-coded size.
    let s = 12345 + i;
    for (let p = 0; p < raw.length; p++) {
      s = (s * 1103515245 + 12345) >>> 0;
      raw[p] = Math.max(0, Math.min(255, raw[p]! + ((s >>> 24) % 25) - 12));
    }
    let img = sharp(raw, { raw: { width: 4000, height: 3000, channels: 3 } });
    img = img.jpeg({ quality: 90, chromaSubsampling: '4:2:0' });
    if (i % 4 === 3) img = img.withMetadata({ orientation: 6 });
    await img.toFile(made[i]!);
  }
  return { files: made.map((f) => fs.readFileSync(f)), source };
}

/**
 * `--build`: the whole `coffer gallery build` (read from the repository, decrypt, render, store)
 * over a backup of PHOTOS distinct photos (the 8 with a counter after the JPEG's end, so each
 * is a new item), timed by the build's own `ms`.
 */
function build(files: Buffer[], source: string): string[][] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-bench-gallery-build-'));
  try {
    const src = path.join(dir, 'photos');
    fs.mkdirSync(src);
    for (let i = 0; i < PHOTOS; i++) {
      const tail = Buffer.alloc(4);
      tail.writeUInt32BE(i);
      fs.writeFileSync(path.join(src, `IMG_${String(i).padStart(4, '0')}.jpg`), Buffer.concat([files[i % files.length]!, tail]));
    }
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('COFFER_') || k.startsWith('RESTIC_')) delete env[k];
    Object.assign(env, { COFFER_KDF: '1024,8,1', COFFER_PASSWORD: 'bench-gallery', ...(PREVIEW ? { COFFER_GALLERY_PREVIEW_PX: String(PREVIEW) } : {}) });
    let cpuSecs = 0;
    // Through bash for its `times` (the child's CPU): on a shared machine wall time says little.
    const coffer = (args: string[]) => {
      const script = '"$0" "$@"; s=$?; times >&2; exit $s';
      const r = spawnSync('bash', ['-c', script, process.execPath, path.join(ROOT, 'bin', 'coffer.js'), '-r', path.join(dir, 'repo'), ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`coffer ${args.join(' ')} failed: ${r.stderr}`);
      const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(r.stderr.trim());
      cpuSecs = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : NaN;
      return r.stdout;
    };
    coffer(['init']);
    coffer(['backup', src, '--host', 'bench']);
    const t0 = performance.now();
    const out = coffer(['gallery', 'build', '--json']);
    const wall = performance.now() - t0;
    const summary = out.trim().split('\n').map((l) => JSON.parse(l) as { message_type?: string; gallery?: { processed: number; ms: number } }).find((j) => j.message_type === 'summary');
    const g = summary?.gallery;
    if (!g || g.processed !== PHOTOS) throw new Error(`the build processed ${g?.processed} photos, not ${PHOTOS}`);
    return [
      ['photos', `${PHOTOS} × 4000×3000 JPEG (${source}), whole \`coffer gallery build\``],
      ['settings', JSON.stringify({ ...(settings() as object), ...(PREVIEW ? { previewLong: PREVIEW } : {}) })],
      ['photos/s (build ms)', ((PHOTOS * 1000) / g.ms).toFixed(1)],
      ['build ms / photo', (g.ms / PHOTOS).toFixed(0)],
      ['process wall s (start-up included)', (wall / 1000).toFixed(1)],
      ['process CPU ms / photo (start-up included)', ((cpuSecs * 1000) / PHOTOS).toFixed(0)],
      ['load average', os.loadavg().map((l) => l.toFixed(2)).join(' ')],
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { files, source } = await photos();
  if (BUILD) return report(build(files, source));
  const mb = files.reduce((s, f) => s + f.length, 0) / files.length / 1e6;
  await renderImage(files[0]!); // warm-up: libvips' caches, the WebP encoder
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let previewBytes = 0;
  let thumbBytes = 0;
  await forEachLimit([...Array(PHOTOS).keys()], CONCURRENCY, async (i) => {
    const r = await renderImage(files[i % files.length]!);
    if (r.warning) throw new Error(r.warning);
    previewBytes += r.preview.length;
    thumbBytes += r.thumb.length;
  });
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const rows = [
    ['photos', `${PHOTOS} × 4000×3000 JPEG (${mb.toFixed(1)} MB avg; ${source})`],
    ['settings', `${JSON.stringify({ ...(settings() as object), ...(PREVIEW ? { previewLong: PREVIEW } : {}) })}, ${CONCURRENCY} at a time`],
    ['photos/s', (PHOTOS / secs).toFixed(1)],
    ['wall ms / photo', ((secs * 1000) / PHOTOS).toFixed(0)],
    ['CPU ms / photo', ((cpuSecs * 1000) / PHOTOS).toFixed(0)],
    ['preview KiB avg', (previewBytes / PHOTOS / 1024).toFixed(0)],
    ['thumb KiB avg', (thumbBytes / PHOTOS / 1024).toFixed(1)],
    ['load average', os.loadavg().map((l) => l.toFixed(2)).join(' ')],
  ];
  report(rows);
}

function report(rows: string[][]): void {
  const table = ['| measure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
  console.log(table);
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `gallery-${new Date().toISOString().replace(/[:.]/g, '-')}.md`), `# gallery ${BUILD ? 'build' : 'render'} bench (preview ${PREVIEW || PREVIEW_LONG} px)\n\n${table}\n`);
}

await main();
