/**
 * @module node/gallery-heic
 * HEIC/HEIF pixels for the gallery. sharp's prebuilt libvips reads HEIF headers and AVIF, but
 * has no HEVC decoder, so iPhone photos are decoded by libheif's `heif-convert` (Debian package
 * libheif-examples), run on a temporary copy in a private folder (node/gallery-render-tools.ts).
 *
 * The output is a JPEG at quality 92: for a 12 MP photo ~0.6 s of CPU, where PNG output costs
 * ~3.4 s for no visible gain once the preview is a quality-80 WebP. libheif applies the HEIF
 * transformations (irot/imir), so its pixels are upright; it copies the EXIF block, orientation
 * tag included, which must then be ignored (HEIF says the transformations are authoritative).
 */
import * as path from 'node:path';
import { lastLine, runTool, toolPath, ToolMissing, warnOnce, withPrivateDir, writePrivateFile } from './gallery-render-tools.js';
import { readFile } from 'node:fs/promises';

/** HEIF brands of HEVC stills and sequences (AVIF's `avif`/`avis` are left to sharp). */
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

/** True when the bytes start with an ISO-BMFF `ftyp` box naming a HEIF brand. */
export function isHeif(b: Uint8Array): boolean {
  if (b.length < 12 || b[4] !== 0x66 || b[5] !== 0x74 || b[6] !== 0x79 || b[7] !== 0x70) return false;
  const brand = String.fromCharCode(b[8]!, b[9]!, b[10]!, b[11]!);
  return HEIF_BRANDS.has(brand);
}

export type HeicResult = { ok: true; image: Uint8Array } | { ok: false; reason: string; missing: boolean };

/** The primary image of a HEIC file, upright, as a JPEG; or why not. */
export async function decodeHeic(bytes: Uint8Array): Promise<HeicResult> {
  const tool = toolPath('heif-convert');
  try {
    return await withPrivateDir(async (dir) => {
      const input = path.join(dir, 'in.heic');
      const output = path.join(dir, 'out.jpg');
      await writePrivateFile(input, [bytes]);
      const r = await runTool(tool, ['--quiet', '-q', '92', input, output]);
      if (r.code !== 0) return { ok: false, reason: `heif-convert cannot decode it: ${lastLine(r.stderr) || `exit ${r.code}`}`, missing: false };
      return { ok: true, image: new Uint8Array(await readFile(output)) };
    });
  } catch (e) {
    if (e instanceof ToolMissing) {
      warnOnce('heif-convert', 'heif-convert is not installed: HEIC photos are shown as placeholders (Debian: apt install libheif-examples)');
      return { ok: false, reason: 'HEIC needs heif-convert (libheif-examples), not installed', missing: true };
    }
    return { ok: false, reason: `heif-convert failed: ${(e as Error).message}`, missing: false };
  }
}
