/**
 * The gallery renderer's Debian decoders, on files made here by the real tools: a video's poster
 * by ffmpeg (the frame at 1 s, 10 % of a short clip, turned by the track matrix, from an MP4 with
 * `moov` after the media, read through a ranged reader) and a HEIC photo's pixels by
 * heif-convert. The expected pixels come from how the files were made (a red half shown only
 * around the poster time; coloured quadrants), and the rotation from the ISO-BMFF `tkhd` matrix
 * read here, not from ffmpeg. Also: the temporary plaintext is gone afterwards, and a missing
 * tool gives the placeholder. With CI=true a missing ffmpeg or heif-convert fails the test.
 * Speed is not tested here (bench/gallery.ts).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import sharp from 'sharp';
import { placeholder, renderImage, renderVideo } from '../../src/node/gallery-thumbs.js';
import { isHeif } from '../../src/node/gallery-heic.js';
import { posterTime, videoPoster } from '../../src/node/gallery-video.js';
import { tempDir } from '../helpers/paths.js';

const dir = tempDir('coffer-render-test-');

/** True when `tool` runs; in CI a missing tool is a failure, elsewhere a skip. */
function need(t: TestContext, tool: string, args: string[]): boolean {
  const r = spawnSync(tool, args, { stdio: 'ignore' });
  if (!r.error) return true;
  if (process.env.CI) assert.fail(`${tool} is missing (CI=true): install it (.ci/run's apt list)`);
  t.skip(`${tool} is not installed`);
  return false;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** A ranged reader over a file, counting what it hands out. */
function fileReader(file: string): { read: (o: number, n: number) => Promise<Uint8Array>; size: number; bytes: () => number } {
  const data = fs.readFileSync(file);
  let bytes = 0;
  return {
    read: async (o, n) => {
      bytes += n;
      return new Uint8Array(data.subarray(o, o + n));
    },
    size: data.length,
    bytes: () => bytes,
  };
}

/** ISO-BMFF boxes of b[start, end): type, payload start, end. */
function boxes(b: Buffer, start: number, end: number): { type: string; data: number; end: number }[] {
  const out = [];
  for (let p = start; p + 8 <= end; ) {
    let size = b.readUInt32BE(p);
    let head = 8;
    if (size === 1) {
      size = Number(b.readBigUInt64BE(p + 8));
      head = 16;
    }
    if (size === 0) size = end - p;
    out.push({ type: b.toString('latin1', p + 4, p + 8), data: p + head, end: p + size });
    p += size;
  }
  return out;
}

/** The first track's tkhd matrix [a, b, c, d] (16.16 fixed point), from the file's own bytes. */
function trackMatrix(file: string): [number, number, number, number] {
  const b = fs.readFileSync(file);
  const moov = boxes(b, 0, b.length).find((x) => x.type === 'moov')!;
  const trak = boxes(b, moov.data, moov.end).find((x) => x.type === 'trak')!;
  const tkhd = boxes(b, trak.data, trak.end).find((x) => x.type === 'tkhd')!;
  const version = b[tkhd.data]!;
  // version/flags, times and ids (v0: 20 bytes, v1: 32), reserved 8, layer..volume 8: then the matrix.
  const m = tkhd.data + 4 + (version === 1 ? 32 : 20) + 8 + 8;
  return [b.readInt32BE(m), b.readInt32BE(m + 4), b.readInt32BE(m + 12), b.readInt32BE(m + 16)];
}

/** Where coded point (p, q) of a W×H frame lands on the displayed frame (ISO 14496-12 tkhd matrix). */
function displayed(mx: [number, number, number, number], w: number, h: number, p: number, q: number): [number, number, number, number] {
  const [a, b, c, d] = mx.map((v) => v / 65536) as [number, number, number, number];
  const map = (x: number, y: number) => [a * x + c * y, b * x + d * y] as const;
  const corners = [map(0, 0), map(w, 0), map(0, h), map(w, h)];
  const minX = Math.min(...corners.map((k) => k[0]));
  const minY = Math.min(...corners.map((k) => k[1]));
  const [x, y] = map(p, q);
  return [x - minX, y - minY, Math.max(...corners.map((k) => k[0])) - minX, Math.max(...corners.map((k) => k[1])) - minY];
}

/**
 * The HEIC with an `irot` property (ISO/IEC 23008-12: rotate `angle` × 90° anti-clockwise)
 * added to its primary item: the way phones store a photo taken upright. heif-enc 1.15 has no
 * option for it, so the boxes are edited here: the property appended to `ipco`, associated in
 * `ipma`, the enclosing sizes and `iloc`'s file offsets (the data moves by the added bytes) fixed.
 */
function withIrot(src: Buffer, angle: 1 | 2 | 3): Buffer {
  const b = Buffer.from(src);
  const meta = boxes(b, 0, b.length).find((x) => x.type === 'meta')!;
  const kids = boxes(b, meta.data + 4, meta.end);
  const iprp = kids.find((x) => x.type === 'iprp')!;
  const [ipco, ipma] = ['ipco', 'ipma'].map((t) => boxes(b, iprp.data, iprp.end).find((x) => x.type === t)!) as [ReturnType<typeof boxes>[0], ReturnType<typeof boxes>[0]];
  const pitm = kids.find((x) => x.type === 'pitm')!;
  assert.equal(b[pitm.data], 0, 'pitm v0');
  const primary = b.readUInt16BE(pitm.data + 4);
  const added = 9 + 1;
  // iloc: move every extent (construction method 0: file offsets) by the added bytes.
  const iloc = kids.find((x) => x.type === 'iloc')!;
  const v = b[iloc.data]!;
  let p = iloc.data + 4;
  const offSize = b[p]! >> 4;
  const lenSize = b[p]! & 15;
  const baseSize = b[p + 1]! >> 4;
  const idxSize = v >= 1 ? b[p + 1]! & 15 : 0;
  p += 2;
  const count = v < 2 ? b.readUInt16BE(p) : b.readUInt32BE(p);
  p += v < 2 ? 2 : 4;
  assert.ok([0, 4].includes(offSize) && [0, 4].includes(baseSize), 'iloc sizes this editor handles');
  for (let i = 0; i < count; i++) {
    p += v < 2 ? 2 : 4;
    const method = v >= 1 ? b.readUInt16BE(p) & 15 : 0;
    if (v >= 1) p += 2;
    p += 2; // data_reference_index
    const base = baseSize ? b.readUInt32BE(p) : 0;
    const movedBase = method === 0 && base > 0;
    if (movedBase) b.writeUInt32BE(base + added, p);
    p += baseSize;
    const extents = b.readUInt16BE(p);
    p += 2;
    for (let e = 0; e < extents; e++) {
      p += idxSize;
      if (method === 0 && !movedBase && offSize) b.writeUInt32BE(b.readUInt32BE(p) + added, p);
      p += offSize + lenSize;
    }
  }
  // ipma: find the primary item's entry; its new association points at the appended property.
  const ipmaV = b[ipma.data]!;
  const wide = (b.readUInt32BE(ipma.data) & 1) === 1;
  assert.equal(wide, false, 'one-byte associations');
  p = ipma.data + 4;
  const entries = b.readUInt32BE(p);
  p += 4;
  let at = -1;
  for (let i = 0; i < entries; i++) {
    const id = ipmaV < 1 ? b.readUInt16BE(p) : b.readUInt32BE(p);
    p += ipmaV < 1 ? 2 : 4;
    const n = b[p]!;
    if (id === primary) {
      b[p] = n + 1;
      at = p + 1 + n;
    }
    p += 1 + n;
  }
  assert.ok(at > 0, 'the primary item has properties');
  const index = boxes(b, ipco.data, ipco.end).length + 1;
  for (const box of [meta, iprp]) b.writeUInt32BE(box.end - box.data + 8 + added, box.data - 8);
  b.writeUInt32BE(ipco.end - ipco.data + 8 + 9, ipco.data - 8);
  b.writeUInt32BE(ipma.end - ipma.data + 8 + 1, ipma.data - 8);
  const irot = Buffer.from([0, 0, 0, 9, 0x69, 0x72, 0x6f, 0x74, angle]);
  // ipco comes before ipma in the file: splice the later position first.
  assert.ok(ipco.end <= at);
  return Buffer.concat([b.subarray(0, ipco.end), irot, b.subarray(ipco.end, at), Buffer.from([0x80 | index]), b.subarray(at)]);
}

async function pixel(webp: Uint8Array, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(webp).raw().toBuffer({ resolveWithObject: true });
  const i = (Math.min(info.height - 1, Math.floor(y)) * info.width + Math.min(info.width - 1, Math.floor(x))) * info.channels;
  return [data[i]!, data[i + 1]!, data[i + 2]!];
}

function near(got: readonly number[], want: readonly number[], what: string): void {
  assert.ok(got.every((v, i) => Math.abs(v - want[i]!) <= 40), `${what}: got rgb(${got.join(',')}), want about rgb(${want.join(',')})`);
}

/**
 * A blue 320×180 H.264 clip of `secs` seconds whose left half is red only while
 * `from <= t <= to`; `rotate` stores a display rotation (remuxed: the track matrix). No
 * +faststart: `moov` comes after `mdat`, as many cameras write it.
 */
function makeClip(name: string, secs: number, from: number, to: number, rotate?: number, audio = false): string {
  const raw = path.join(dir, `${name}-raw.mp4`);
  const out = path.join(dir, `${name}.mp4`);
  const src = `color=c=blue:s=320x180:d=${secs}:r=25,drawbox=x=0:y=0:w=160:h=180:c=red:t=fill:enable='between(t,${from},${to})'`;
  // Noise as a 256 kbit/s AAC track: media data that grows with time, interleaved, as in a phone's clip.
  const sound = audio ? ['-f', 'lavfi', '-i', `anoisesrc=d=${secs}:a=0.5`, '-c:a', 'aac', '-b:a', '256k', '-shortest'] : [];
  run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', src, ...sound, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', raw]);
  run('ffmpeg', ['-v', 'error', '-y', '-i', raw, '-c', 'copy', ...(rotate ? ['-metadata:s:v:0', `rotate=${rotate}`] : []), out]);
  return out;
}

function moovAfterMdat(file: string): boolean {
  const b = fs.readFileSync(file);
  const types = boxes(b, 0, b.length).map((x) => x.type);
  return types.indexOf('moov') > types.indexOf('mdat');
}

/** Directories the renderer left in `tmp` (its private folders are named coffer-render-*). */
function leftovers(tmp: string): string[] {
  return fs.readdirSync(tmp).filter((n) => n.startsWith('coffer-render-'));
}

/** Runs `fn` with TMPDIR set to a fresh folder; returns what the renderer left there. */
async function inTmp<T>(fn: () => Promise<T>): Promise<{ value: T; left: string[] }> {
  const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
  const old = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    const value = await fn();
    return { value, left: leftovers(tmp) };
  } finally {
    if (old === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = old;
  }
}

describe('gallery video posters (ffmpeg)', () => {
  it('poster time: 1 s, or 10 % of a clip under 10 s', () => {
    assert.deepEqual([posterTime(60), posterTime(10), posterTime(3), posterTime(null), posterTime(0)], [1, 1, 0.3, 1, 1]);
  });

  it('a turned 12 s clip: the frame at 1 s, upright by the track matrix, read through ranges, no plaintext left', async (t) => {
    if (!need(t, 'ffmpeg', ['-version']) || !need(t, 'ffprobe', ['-version'])) return;
    const file = makeClip('turned', 12, 0.9, 1.1, 90);
    assert.ok(moovAfterMdat(file), 'the clip has moov at the end');
    const mx = trackMatrix(file);
    assert.notDeepEqual(mx, [65536, 0, 0, 65536], 'the clip carries a rotation');
    const r = fileReader(file);
    const { value: v, left } = await inTmp(() => renderVideo(r.read, r.size));
    assert.equal(v.warning, undefined);
    assert.deepEqual(left, [], 'the temporary copy is removed');
    assert.equal(r.bytes(), r.size, 'the whole file came through the ranged reader');
    assert.ok(v.duration !== null && Math.abs(v.duration - 12) < 0.1, `duration ${v.duration}`);
    assert.ok(v.hash, 'a ThumbHash');
    const ph = await placeholder('video');
    assert.notDeepEqual(Buffer.from(v.preview), Buffer.from(ph.preview), 'not the placeholder');
    // The red half (coded x < 160) and the blue half, where the matrix puts them.
    const [rx, ry, W, H] = displayed(mx, 320, 180, 80, 90);
    const [bx, by] = displayed(mx, 320, 180, 240, 90);
    assert.deepEqual([v.w, v.h, v.previewSize.w, v.previewSize.h], [W, H, W, H], 'upright size');
    near(await pixel(v.preview, rx, ry), [255, 0, 0], 'red half at 1 s');
    near(await pixel(v.preview, bx, by), [0, 0, 255], 'blue half');
    const s = v.thumbSize.w / W;
    assert.deepEqual([v.thumbSize.w, v.thumbSize.h], [Math.round(W * s), Math.round(H * s)]);
    near(await pixel(v.thumb, rx * s, ry * s), [255, 0, 0], 'red half in the thumbnail');
    const meta = await sharp(v.thumb).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', v.thumbSize.w, v.thumbSize.h]);
  });

  it('a 3 s clip: the frame at 10 % (0.3 s), not at 1 s', async (t) => {
    if (!need(t, 'ffmpeg', ['-version'])) return;
    const file = makeClip('short', 3, 0.2, 0.45);
    const r = fileReader(file);
    const v = await renderVideo(r.read, r.size);
    assert.equal(v.warning, undefined);
    assert.deepEqual([v.w, v.h], [320, 180]);
    near(await pixel(v.preview, 80, 90), [255, 0, 0], 'red half at 0.3 s');
    near(await pixel(v.preview, 240, 90), [0, 0, 255], 'blue half');
  });

  it('a big video is copied in part (moov and the start of mdat); a part too small falls back to the whole', async (t) => {
    if (!need(t, 'ffmpeg', ['-version'])) return;
    const file = makeClip('long', 12, 0.9, 1.1, undefined, true);
    const full = fileReader(file);
    assert.ok(full.size > 300_000, `clip of ${full.size} bytes`);
    // 64 KiB of media: two seconds of the 256 kbit/s sound, so the frames up to 1 s are in it.
    const part = await videoPoster(full.read, full.size, { mediaHead: 64 * 1024 });
    assert.ok(part.ok && part.partial, 'made from the partial copy');
    assert.ok(full.bytes() < full.size / 3, `read ${full.bytes()} of ${full.size} bytes`);
    const frame = async (png: Uint8Array) => {
      const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      const at = (x: number) => [...data.subarray((90 * info.width + x) * info.channels, (90 * info.width + x) * info.channels + 3)];
      return [info.width, info.height, at(80), at(240)];
    };
    assert.deepEqual((await frame(part.frame)).slice(0, 2), [320, 180]);
    near((await frame(part.frame))[2] as number[], [255, 0, 0], 'red half at 1 s (partial copy)');
    // 2 KiB of media cannot hold the first second: ffmpeg complains, the whole file is copied.
    const tiny = fileReader(file);
    const whole = await videoPoster(tiny.read, tiny.size, { mediaHead: 2048 });
    assert.ok(whole.ok && !whole.partial, 'fell back to the whole copy');
    assert.ok(tiny.bytes() >= tiny.size, 'the whole video was read');
    near((await frame(whole.frame))[2] as number[], [255, 0, 0], 'red half at 1 s (whole copy)');
    near((await frame(whole.frame))[3] as number[], [0, 0, 255], 'blue half');
  });

  it('not a video: the placeholder with a warning; no ffmpeg: the placeholder, no per-file warning', async (t) => {
    if (!need(t, 'ffmpeg', ['-version'])) return;
    const junk = path.join(dir, 'junk.mp4');
    fs.writeFileSync(junk, Buffer.alloc(5000, 7));
    const r = fileReader(junk);
    const { value: bad, left } = await inTmp(() => renderVideo(r.read, r.size));
    const ph = await placeholder('video');
    assert.deepEqual(Buffer.from(bad.preview), Buffer.from(ph.preview));
    assert.match(bad.warning ?? '', /ffmpeg/);
    assert.deepEqual(left, [], 'removed after a failure too');
    const saved = [process.env.COFFER_FFMPEG, process.env.COFFER_FFPROBE];
    process.env.COFFER_FFMPEG = path.join(dir, 'no-such-ffmpeg');
    process.env.COFFER_FFPROBE = path.join(dir, 'no-such-ffprobe');
    try {
      const clip = fileReader(makeClip('plain', 2, 0, 2));
      const v = await renderVideo(clip.read, clip.size);
      assert.deepEqual(Buffer.from(v.thumb), Buffer.from(ph.thumb));
      assert.equal(v.warning, undefined);
      assert.equal(v.duration, null);
    } finally {
      for (const [k, val] of [['COFFER_FFMPEG', saved[0]], ['COFFER_FFPROBE', saved[1]]] as const) {
        if (val === undefined) delete process.env[k];
        else process.env[k] = val;
      }
    }
  });
});

describe('gallery HEIC photos (heif-convert)', () => {
  /** 400×300: red top-left, green top-right, blue bottom half. */
  async function quadrants(file: string): Promise<void> {
    const w = 400;
    const h = 300;
    const b = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) b[(y * w + x) * 3 + (y >= h / 2 ? 2 : x < w / 2 ? 0 : 1)] = 255;
    await sharp(b, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
  }

  it('a HEIC photo gets real pixels, not the placeholder, and no temporary file is left', async (t) => {
    if (!need(t, 'heif-enc', ['--help']) || !need(t, 'heif-convert', ['--help'])) return;
    const png = path.join(dir, 'quad.png');
    const heic = path.join(dir, 'quad.heic');
    await quadrants(png);
    run('heif-enc', ['-q', '90', png, '-o', heic]);
    const bytes = new Uint8Array(fs.readFileSync(heic));
    assert.ok(isHeif(bytes), 'the file is HEIF');
    assert.equal((await sharp(bytes).metadata()).compression, 'hevc', 'HEVC inside (sharp cannot decode it)');
    const { value: r, left } = await inTmp(() => renderImage(bytes));
    assert.equal(r.warning, undefined);
    assert.deepEqual(left, []);
    assert.deepEqual([r.w, r.h, r.previewSize.w, r.previewSize.h, r.thumbSize.w, r.thumbSize.h], [400, 300, 400, 300, 400, 300]);
    assert.ok(r.hash);
    near(await pixel(r.preview, 100, 75), [255, 0, 0], 'top-left');
    near(await pixel(r.preview, 300, 75), [0, 255, 0], 'top-right');
    near(await pixel(r.preview, 200, 225), [0, 0, 255], 'bottom');
    near(await pixel(r.thumb, 300, 75), [0, 255, 0], 'thumbnail top-right');
  });

  it('a HEIC taken upright (irot 90° anti-clockwise) is shown upright', async (t) => {
    if (!need(t, 'heif-enc', ['--help']) || !need(t, 'heif-convert', ['--help'])) return;
    const turned = withIrot(fs.readFileSync(path.join(dir, 'quad.heic')), 1);
    const r = await renderImage(new Uint8Array(turned));
    assert.equal(r.warning, undefined);
    // Turned anti-clockwise: the top-right (green) corner goes to the top-left, the top-left
    // (red) to the bottom-left, the bottom half (blue) to the right.
    assert.deepEqual([r.w, r.h, r.previewSize.w, r.previewSize.h], [300, 400, 300, 400]);
    near(await pixel(r.preview, 75, 100), [0, 255, 0], 'top-left');
    near(await pixel(r.preview, 75, 300), [255, 0, 0], 'bottom-left');
    near(await pixel(r.preview, 225, 200), [0, 0, 255], 'right half');
    assert.equal(r.orientation, 1);
  });

  it('damaged HEIC: the placeholder and a warning; without heif-convert: the placeholder', async (t) => {
    if (!need(t, 'heif-enc', ['--help']) || !need(t, 'heif-convert', ['--help'])) return;
    const heic = fs.readFileSync(path.join(dir, 'quad.heic'));
    const cut = new Uint8Array(heic.subarray(0, Math.floor(heic.length * 0.6)));
    const ph = await placeholder('image');
    const bad = await renderImage(cut);
    assert.deepEqual(Buffer.from(bad.preview), Buffer.from(ph.preview));
    assert.ok(bad.warning, 'a warning names the problem');
    const saved = process.env.COFFER_HEIF_CONVERT;
    process.env.COFFER_HEIF_CONVERT = path.join(dir, 'no-such-heif-convert');
    try {
      const r = await renderImage(new Uint8Array(heic));
      assert.deepEqual(Buffer.from(r.preview), Buffer.from(ph.preview));
      assert.match(r.warning ?? '', /heif-convert/);
    } finally {
      if (saved === undefined) delete process.env.COFFER_HEIF_CONVERT;
      else process.env.COFFER_HEIF_CONVERT = saved;
    }
  });
});
