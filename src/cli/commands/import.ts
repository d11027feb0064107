/**
 * `coffer import google-takeout DIR|ZIP...`: bring a Google Photos Takeout into the library;
 * `coffer import folder DIR|ZIP... [--name NAME]`: any service's plain export (folders are albums).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importFolder, importTakeout, type ImportFile } from '../../core/engine/gallery/import.js';
import { CofferError } from '../../core/errors.js';
import { hostOffsetAt } from '../../core/gallery/metadata.js';
import { loadCountryLookup } from '../../node/gallery-countries.js';
import { sharpRenderer } from '../../node/gallery-thumbs.js';
import { ZipReader } from '../../node/gallery-zip.js';
import type { Command } from '../command.js';
import { galleryCounts } from './gallery.js';

function walk(dir: string, rel: string, out: ImportFile[]): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const abs = path.join(dir, e.name);
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) walk(abs, r, out);
    else if (e.isFile()) {
      const st = fs.statSync(abs);
      out.push({ path: r, size: st.size, mtime: st.mtime, read: async () => new Uint8Array(fs.readFileSync(abs)) });
    }
  }
}

const command: Command = {
  name: 'import',
  summary: 'Import a Google Photos Takeout or a plain photo export (folder or .zip) into the repository and the gallery.',
  usage: 'google-takeout DIR|ZIP... | folder DIR|ZIP... [--name NAME]',
  help: `google-takeout: the export's files become a backup snapshot (tag google-takeout, path
/google-takeout/NAME); the gallery gets its photos and videos with the side files' dates, places
and descriptions, and its albums. Give every part of a split export (takeout-...-001.zip, -002.zip,
...) at once.

folder: any service's "download all" (a folder tree of photos and videos, or zips of it) becomes a
backup snapshot (tag import, path /import/NAME); dates come from the files (EXIF), else their
mtime; every folder that directly holds photos becomes an album named after it (not the export's
root, nor year folders like "2019" or "Photos from 2019"). Ente's metadata/*.json and iCloud's
"Photo Details.csv" and Albums/*.csv are read when present. Importing again adds to the same albums.

Options:
      --name NAME            names the export in the snapshot path (default: the first input's name)`,
  options: { name: { type: 'string' } },
  async run(cli, values, positionals) {
    const [kind, ...inputs] = positionals;
    const hint = 'try: coffer import google-takeout DIR|ZIP, or coffer import folder DIR|ZIP';
    if (kind !== 'google-takeout' && kind !== 'folder') throw new CofferError('usage', kind ? `unknown import source "${kind}" (${hint})` : `missing source (${hint})`);
    if (inputs.length === 0) throw new CofferError('usage', kind === 'folder' ? 'give the export folder or its .zip files' : 'give the Takeout folder or its .zip files');
    if (values.name !== undefined && (kind !== 'folder' || typeof values.name !== 'string' || !values.name.trim())) throw new CofferError('usage', '--name takes a non-empty name (coffer import folder only)');
    const files: ImportFile[] = [];
    const zips: ZipReader[] = [];
    const seen = new Set<string>();
    try {
      for (const input of inputs) {
        if (!fs.existsSync(input)) throw new CofferError('usage', `${input} does not exist`);
        const found: ImportFile[] = [];
        if (fs.statSync(input).isDirectory()) walk(input, '', found);
        else {
          const zip = ZipReader.open(input);
          zips.push(zip);
          // A zip made of a folder ("Export.zip" holding "Export/...") has that folder as its root.
          const stem = path.basename(input).replace(/\.zip$/i, '');
          const strip = kind === 'folder' && zip.entries.every((e) => e.name.startsWith(`${stem}/`)) ? stem.length + 1 : 0;
          for (const e of zip.entries) if (!e.name.endsWith('/')) found.push({ path: e.name.slice(strip), size: e.size, mtime: e.mtime, read: async () => zip.read(e) });
        }
        for (const f of found) {
          if (!seen.has(f.path)) seen.add(f.path), files.push(f);
          else if (kind === 'folder') {
            // Parts of one export may repeat a name (each part's "Photo Details.csv"): keep both.
            let n = 2;
            const dot = f.path.lastIndexOf('.') > f.path.lastIndexOf('/') ? f.path.lastIndexOf('.') : f.path.length;
            const renamed = () => `${f.path.slice(0, dot)} (${n})${f.path.slice(dot)}`;
            while (seen.has(renamed())) n++;
            seen.add(renamed()), files.push({ ...f, path: renamed() });
          }
        }
      }
      let label = path.basename(path.resolve(inputs[0]!)).replace(/\.zip$/i, '').replace(/-\d{3}$/, '');
      if (kind === 'folder') label = typeof values.name === 'string' ? values.name.trim() : label.replace(/ Part \d+ of \d+$/i, ''); // iCloud's parts
      const repo = await cli.openRepository();
      const tty = !!cli.io.stdout.isTTY && !cli.json && !cli.quiet;
      let last = 0;
      const r = await (kind === 'folder' ? importFolder : importTakeout)(repo, files, {
        owner: cli.lockOwner(),
        hostname: os.hostname(),
        label,
        renderer: sharpRenderer,
        offsetAt: hostOffsetAt,
        countryOf: loadCountryLookup(),
        signal: cli.signal,
        events: {
          onFile: (done, total, p) => {
            const now = Date.now();
            if (done < total && now - last < (cli.json ? 1000 : 250)) return;
            last = now;
            if (cli.json) cli.jsonLine({ message_type: 'import_status', done, total, current: p });
            else if (tty) cli.io.stdout.write(`\r\x1b[K[import] ${done}/${total} ${p.length > 60 ? '…' + p.slice(-59) : p}${done === total ? '\r\x1b[K' : ''}`);
          },
          onProcessed: (done, total, p) => {
            const now = Date.now();
            if (done < total && now - last < (cli.json ? 1000 : 250)) return;
            last = now;
            if (cli.json) cli.jsonLine({ message_type: 'gallery_status', phase: 'processing', done, total, current: p });
            else if (tty) cli.io.stdout.write(`\r\x1b[K[gallery] ${done}/${total} ${p.length > 60 ? '…' + p.slice(-59) : p}${done === total ? '\r\x1b[K' : ''}`);
          },
          onWarning: (p, message) => (cli.json ? cli.jsonLine({ message_type: 'error', error: { message }, during: 'import', item: p }) : cli.warn(`import: ${p}: ${message}`)),
        },
      });
      if (cli.json) {
        cli.jsonLine({ message_type: 'summary', snapshot_id: r.snapshotId, files: r.files, media: r.media, with_side_file: r.withSideFile, albums: r.albums, captions: r.captions, gallery: galleryCounts(r.gallery), warnings: r.warnings.length });
      } else {
        cli.info(`imported ${r.files} files (${r.media} photos and videos, ${r.withSideFile} with a side file) as snapshot ${r.snapshotId.slice(0, 8)}`);
        cli.info(`gallery: ${r.gallery.items} items, ${r.gallery.added} added; ${r.albums} album${r.albums === 1 ? '' : 's'}, ${r.captions} description${r.captions === 1 ? '' : 's'}`);
        if (r.warnings.length) cli.info(`${r.warnings.length} file${r.warnings.length === 1 ? '' : 's'} with warnings (see above)`);
      }
      return 0;
    } finally {
      for (const z of zips) z.close();
    }
  },
};
export default command;
