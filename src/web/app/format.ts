/** @module web/app/format Display helpers: sizes, dates, modes. */

export function bytes(n: number | undefined): string {
  if (n === undefined) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function dateTime(ms: number): string {
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function count(n: number | undefined): string {
  return n === undefined ? '' : n.toLocaleString('en-US');
}

/** `drwxr-xr-x` from POSIX mode bits. */
export function modeString(mode: number, type: string): string {
  const t = type === 'dir' ? 'd' : type === 'symlink' ? 'l' : type === 'file' ? '-' : type === 'fifo' ? 'p' : type === 'socket' ? 's' : type === 'chardev' ? 'c' : type === 'dev' ? 'b' : '?';
  const r = 'rwxrwxrwx';
  let s = t;
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? r[i] : '-';
  return s;
}

const MIME: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', avif: 'image/avif',
  bmp: 'image/bmp', svg: 'image/svg+xml', ico: 'image/x-icon',
  mp3: 'audio/mpeg', ogg: 'audio/ogg', oga: 'audio/ogg', wav: 'audio/wav', flac: 'audio/flac', m4a: 'audio/mp4', opus: 'audio/ogg',
  mp4: 'video/mp4', m4v: 'video/mp4', webm: 'video/webm', ogv: 'video/ogg', mov: 'video/quicktime',
  pdf: 'application/pdf', zip: 'application/zip',
  txt: 'text/plain', md: 'text/plain', log: 'text/plain', csv: 'text/plain', json: 'text/plain', xml: 'text/plain', yml: 'text/plain',
  yaml: 'text/plain', toml: 'text/plain', ini: 'text/plain', conf: 'text/plain', cfg: 'text/plain', sh: 'text/plain', py: 'text/plain',
  js: 'text/plain', ts: 'text/plain', c: 'text/plain', h: 'text/plain', go: 'text/plain', rs: 'text/plain', java: 'text/plain',
  html: 'text/plain', css: 'text/plain', tex: 'text/plain', rst: 'text/plain',
};

export function mimeOf(name: string): string {
  const i = name.lastIndexOf('.');
  return (i > 0 && MIME[name.slice(i + 1).toLowerCase()]) || 'application/octet-stream';
}
