/**
 * @module kit/kit-html
 * The printable kit: one clean HTML page (print it or "save as PDF" from a browser) with the
 * same machine lines as the text kit in `<pre class="kit-lines">` (so `drill --kit kit.html`
 * reads it), the key large and monospaced, a QR code of the canonical key, and the how-to.
 * A split kit has one page per share (page breaks for printing), each a complete kit with
 * one share and its own Kit-Sum, and the copy list repeated.
 */
import qrcode from 'qrcode-generator';
import { HOW_TO, kitLinesWithSum, type Kit, type Sha256 } from './kit-text.js';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** The QR matrix of `text` (true = dark), medium error correction. */
export function qrMatrix(text: string): boolean[][] {
  const qr = qrcode(0, 'M');
  // The canonical key is upper case, digits and dashes: QR's compact alphanumeric mode.
  qr.addData(text, /^[0-9A-Z $%*+\-./:]*$/.test(text) ? 'Alphanumeric' : 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => qr.isDark(r, c)));
}

/** An inline SVG of the QR code (4 modules of quiet zone). */
export function qrSvg(text: string, cell = 5): string {
  const m = qrMatrix(text);
  const size = (m.length + 8) * cell;
  const rects: string[] = [];
  m.forEach((row, r) => row.forEach((dark, c) => dark && rects.push(`M${(c + 4) * cell},${(r + 4) * cell}h${cell}v${cell}h-${cell}z`)));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" role="img" aria-label="QR code"><rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="${rects.join('')}"/></svg>`;
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;color:#000}
.page{page-break-after:always;max-width:46em}
.page:last-child{page-break-after:auto}
h1{font-size:1.4em;margin:0 0 .3em}
.warn{font-weight:bold}
.key{font-family:ui-monospace,monospace;font-size:1.7em;letter-spacing:.05em;border:2px solid #000;padding:.4em .6em;display:inline-block;margin:.4em 0}
.share{font-family:ui-monospace,monospace;font-size:1.1em;border:2px solid #000;padding:.5em;margin:.4em 0;word-spacing:.3em}
pre{font-size:.8em;white-space:pre-wrap;word-break:break-all}
.qr{float:right;margin-left:1em}
@media print{body{margin:1cm}}`;

function page(kit: Kit, sha256: Sha256, title: string, big: string | undefined, shareWords: string | undefined): string {
  const lines = kitLinesWithSum(kit, sha256);
  const qrText = big ?? shareWords;
  return `<section class="page">
${qrText ? `<div class="qr">${qrSvg(qrText, shareWords ? 3 : 5)}</div>` : ''}<h1>${esc(title)}</h1>
<p class="warn">Keep this sheet safe: whoever holds it can read your backups.</p>
<p>Kit ${esc(kit.id)}, made ${esc(kit.created)}; ${kit.copies.length} ${kit.copies.length === 1 ? 'copy' : 'copies'}: ${kit.copies.map((c) => esc(c.name)).join(', ')}.</p>
${big ? `<p>Recovery key (type it exactly, with dashes):</p><div class="key">${esc(big)}</div>` : ''}
${shareWords ? `<p>Share (any 2 of the 3 shares rebuild the recovery key: <code>coffer kit --join</code>):</p><div class="share">${esc(shareWords)}</div>` : ''}
<pre class="kit-lines">${esc(lines.join('\n'))}</pre>
<pre>${esc(HOW_TO.join('\n'))}</pre>
</section>`;
}

/** The whole HTML kit. */
export function renderKitHtml(kit: Kit, sha256: Sha256): string {
  const pages: string[] = [];
  if (kit.split === 'none' || kit.shares.size === 0) {
    pages.push(page(kit, sha256, 'Coffer recovery kit', kit.recoveryKey, undefined));
  } else {
    for (const [n, words] of [...kit.shares].sort((a, b) => a[0] - b[0])) {
      pages.push(page({ ...kit, shares: new Map([[n, words]]) }, sha256, `Coffer recovery kit — share ${n} of 3`, undefined, words));
    }
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Coffer recovery kit ${esc(kit.id)}</title><style>${STYLE}</style></head>
<body>
${pages.join('\n')}
</body></html>
`;
}
