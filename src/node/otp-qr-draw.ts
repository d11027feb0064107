/**
 * @module node/otp-qr-draw
 * Draws a QR code in a terminal with Unicode half blocks (two module rows per text line), so
 * a secret can move to a phone without a file. Light modules and the quiet zone are printed as
 * blocks and dark modules as spaces, like `qrencode -t UTF8`: right for the usual light-on-dark
 * terminal; `invert` draws the other way for dark-on-light terminals.
 */
import qrcode from 'qrcode-generator';

const QUIET = 2;

/** The module matrix of `text` (true = dark), error correction M, smallest version that fits. */
export function qrModules(text: string): boolean[][] {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => qr.isDark(r, c)));
}

export function drawQrTerminal(text: string, opts: { invert?: boolean } = {}): string {
  const m = qrModules(text);
  const n = m.length + 2 * QUIET;
  const dark = (r: number, c: number) => {
    const rr = r - QUIET;
    const cc = c - QUIET;
    return rr >= 0 && cc >= 0 && rr < m.length && cc < m.length && m[rr]![cc]!;
  };
  // A cell is "ink" when it is printed as block; light modules are ink unless inverted.
  const ink = (r: number, c: number) => (r < n ? dark(r, c) === !!opts.invert : false);
  const lines: string[] = [];
  for (let r = 0; r < n; r += 2) {
    let line = '';
    for (let c = 0; c < n; c++) {
      const top = ink(r, c);
      const bottom = r + 1 < n ? ink(r + 1, c) : false;
      line += top && bottom ? '█' : top ? '▀' : bottom ? '▄' : ' ';
    }
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}
