/**
 * @module kit/kit-pdf
 * The kit as a PDF to print: the same content as the HTML page (key large, QR code, machine
 * lines, how-to; one page per share for a split kit), drawn with PDF's standard fonts so no font
 * is embedded, plus the text kit attached as an embedded file `coffer-kit.txt`. The attachment's
 * stream is stored uncompressed, so `drill --kit kit.pdf` finds the machine lines in the file's
 * bytes exactly as in a text kit (whatever characters a URL holds), and PDF viewers list it as
 * an attachment.
 *
 * A minimal PDF 1.4 writer: objects, one content stream per page, a cross-reference table.
 */
import { utf8Encode } from '../bytes.js';
import { qrMatrix } from './kit-html.js';
import { HOW_TO, kitLinesWithSum, renderKitText, type Kit, type Sha256 } from './kit-text.js';

const PAGE_W = 595.28; // A4 in points
const PAGE_H = 841.89;
const MARGIN = 48;
const TEXT_W = PAGE_W - 2 * MARGIN;
/** Width of one Courier glyph per point of font size (every Courier glyph is 600/1000 em). */
const COURIER_EM = 0.6;

/** WinAnsi bytes for the few non-ASCII characters a kit prints; anything else becomes '?'. */
const WIN_ANSI: Readonly<Record<string, number>> = { '—': 0x97, '–': 0x96, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95, '…': 0x85 };

/** A PDF literal string `( … )` in WinAnsiEncoding. */
function pdfString(s: string): string {
  let out = '(';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    let b: number;
    if (c >= 0x20 && c < 0x7f) b = c;
    else if (WIN_ANSI[ch] !== undefined) b = WIN_ANSI[ch]!;
    else if (c >= 0xa0 && c <= 0xff) b = c;
    else b = 0x3f;
    if (b === 0x28 || b === 0x29 || b === 0x5c) out += '\\' + String.fromCharCode(b);
    else if (b < 0x20 || b > 0x7e) out += '\\' + b.toString(8).padStart(3, '0');
    else out += String.fromCharCode(b);
  }
  return out + ')';
}

/** Splits prose into lines of at most `max` characters at spaces. */
function wrap(text: string, max: number): string[] {
  const out: string[] = [];
  let line = '';
  const indent = /^\s*/.exec(text)![0];
  for (const word of text.trim().split(/\s+/)) {
    if (line && line.length + 1 + word.length > max) {
      out.push(line);
      line = indent + '    ' + word;
    } else line = line ? `${line} ${word}` : indent + word;
  }
  if (line) out.push(line);
  return out;
}

/** Draws pages top to bottom, starting a new page when one is full. */
class PageWriter {
  readonly pages: string[] = [];
  private ops: string[] = [];
  private y = PAGE_H - MARGIN;
  /** Lowest point of a picture beside the text (the QR code). */
  private floor = PAGE_H;

  text(s: string, font: 'F1' | 'F2' | 'F3', size: number, x = MARGIN): void {
    this.room(size * 1.35);
    this.y -= size * 1.35;
    this.ops.push(`BT /${font} ${size.toFixed(2)} Tf ${x.toFixed(2)} ${this.y.toFixed(2)} Td ${pdfString(s)} Tj ET`);
  }

  /** A monospaced line shrunk to fit the width (machine lines must stay one line each). */
  mono(s: string, size: number): void {
    this.text(s, 'F3', Math.min(size, TEXT_W / Math.max(1, s.length * COURIER_EM)));
  }

  gap(points: number): void {
    this.y -= points;
  }

  /** The QR matrix as filled squares, `side` points wide, at the right margin. */
  qr(matrix: boolean[][], side: number): void {
    const cell = side / (matrix.length + 8);
    const x0 = PAGE_W - MARGIN - side;
    const top = this.y;
    const rects: string[] = [];
    matrix.forEach((row, r) =>
      row.forEach((dark, c) => {
        if (dark) rects.push(`${(x0 + (c + 4) * cell).toFixed(2)} ${(top - (r + 5) * cell).toFixed(2)} ${cell.toFixed(2)} ${cell.toFixed(2)} re`);
      }),
    );
    this.ops.push(`0 g ${rects.join(' ')} f`);
    this.floor = top - side;
  }

  /** Continues below the picture beside the text, if any. */
  clearPicture(): void {
    this.y = Math.min(this.y, this.floor) - 6;
    this.floor = PAGE_H;
  }

  newPage(): void {
    if (this.ops.length) this.pages.push(this.ops.join('\n'));
    this.ops = [];
    this.y = PAGE_H - MARGIN;
    this.floor = PAGE_H;
  }

  finish(): string[] {
    this.newPage();
    return this.pages;
  }

  private room(h: number): void {
    if (this.y - h < MARGIN) this.newPage();
  }
}

function drawPage(w: PageWriter, kit: Kit, sha256: Sha256, title: string, key: string | undefined, share: string | undefined): void {
  w.text(title, 'F2', 18);
  w.text('Keep this sheet safe: whoever holds it can read your backups. Never keep it in a cloud.', 'F1', 9.5);
  w.gap(8);
  const qrText = key ?? share;
  if (qrText) w.qr(qrMatrix(qrText), 130);
  if (key) {
    w.text('Recovery key (type it exactly, with the dashes):', 'F1', 10);
    w.text(key, 'F3', 15);
  }
  if (share) {
    w.text('Share of the recovery key (any 2 of the 3 shares rebuild it):', 'F1', 10);
    const words = share.split(' ');
    for (let i = 0; i < words.length; i += 5) w.text(words.slice(i, i + 5).join(' '), 'F3', 12);
  }
  w.clearPicture();
  w.gap(6);
  w.text('Machine-readable lines (the same as in the text kit):', 'F1', 9);
  for (const l of kitLinesWithSum(kit, sha256)) w.mono(l, 8.5);
  w.gap(10);
  for (const l of HOW_TO) for (const part of wrap(l, 110)) w.text(part, 'F1', 8);
}

/** The whole kit as PDF bytes. */
export function renderKitPdf(kit: Kit, sha256: Sha256): Uint8Array {
  const w = new PageWriter();
  if (kit.split === 'none' || kit.shares.size === 0) {
    drawPage(w, kit, sha256, 'Coffer recovery kit', kit.recoveryKey, undefined);
  } else {
    const shares = [...kit.shares].sort((a, b) => a[0] - b[0]);
    shares.forEach(([n, words], i) => {
      if (i > 0) w.newPage();
      drawPage(w, { ...kit, shares: new Map([[n, words]]) }, sha256, `Coffer recovery kit — share ${n} of 3`, undefined, words);
    });
  }
  const contents = w.finish();
  const attachment = utf8Encode(renderKitText(kit, sha256));

  // Object numbers: 1 catalog, 2 pages, 3-5 fonts, 6 embedded file, 7 file spec, then page/content pairs.
  const objects: (string | Uint8Array)[][] = [];
  const pageIds = contents.map((_, i) => 8 + 2 * i);
  objects[1] = [`<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [${pdfString('coffer-kit.txt')} 7 0 R] >> >> /PageMode /UseAttachments >>`];
  objects[2] = [`<< /Type /Pages /Count ${pageIds.length} /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] >>`];
  objects[3] = ['<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>'];
  objects[4] = ['<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>'];
  objects[5] = ['<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>'];
  objects[6] = [`<< /Type /EmbeddedFile /Subtype /text#2Fplain /Length ${attachment.length} >>\nstream\n`, attachment, '\nendstream'];
  objects[7] = [`<< /Type /Filespec /F ${pdfString('coffer-kit.txt')} /UF ${pdfString('coffer-kit.txt')} /EF << /F 6 0 R >> /Desc ${pdfString('The recovery kit as text (what coffer drill --kit reads)')} >>`];
  contents.forEach((c, i) => {
    const stream = latin1(c);
    objects[pageIds[i]!] = [
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${PAGE_W} ${PAGE_H}] /Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> /Contents ${pageIds[i]! + 1} 0 R >>`,
    ];
    objects[pageIds[i]! + 1] = [`<< /Length ${stream.length} >>\nstream\n`, stream, '\nendstream'];
  });

  const chunks: Uint8Array[] = [];
  let size = 0;
  const put = (p: string | Uint8Array): void => {
    const b = typeof p === 'string' ? latin1(p) : p;
    chunks.push(b);
    size += b.length;
  };
  put('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n');
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = size;
    put(`${id} 0 obj\n`);
    for (const part of objects[id]!) put(part);
    put('\nendobj\n');
  }
  const xref = size;
  put(`xref\n0 ${objects.length}\n0000000000 65535 f \n`);
  for (let id = 1; id < objects.length; id++) put(`${String(offsets[id]).padStart(10, '0')} 00000 n \n`);
  put(`trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);

  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Bytes of a string whose characters are all below 256 (PDF syntax and WinAnsi-escaped text). */
function latin1(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}
