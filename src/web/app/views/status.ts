/**
 * @module web/app/views/status
 * `#/status`: "am I safe?" — the verdict and reasons of the last `coffer status` (served by
 * `coffer web` at /api/status from the local state; a live check needs the CLI), each copy's
 * health, and two pictures drawn from the snapshots' own summaries: the size of what was backed
 * up and what each backup added to the repository over time, and how long backups took.
 */
import type { DrillReport } from '../../../core/engine/drill/drill.js';
import type { SnapshotInfo } from '../../protocol.js';
import { clear, h } from '../dom.js';
import { bytes, dateTime } from '../format.js';
import { registerView, type AppContext } from '../views.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (SVGElement | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

interface Series {
  readonly label: string;
  readonly cls: string;
  readonly values: readonly number[];
}

/** A small time chart: lines (or bars) over snapshot times, with min/max labels. */
function chart(title: string, testid: string, times: readonly number[], series: readonly Series[], fmt: (v: number) => string, bars = false): HTMLElement {
  const W = 640, H = 200, L = 70, R = 12, T = 12, B = 28;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const x = (t: number): number => (t1 === t0 ? L + (W - L - R) / 2 : L + ((t - t0) / (t1 - t0)) * (W - L - R));
  const y = (v: number): number => H - B - (v / max) * (H - T - B);
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart', 'data-testid': testid, 'data-points': times.length });
  for (const f of [0, 0.5, 1]) {
    const yy = y(max * f);
    g.append(svg('line', { x1: L, x2: W - R, y1: yy, y2: yy, class: 'grid' }), svg('text', { x: L - 6, y: yy + 4, 'text-anchor': 'end', class: 'axis' }, fmt(max * f)));
  }
  // Dates, or day and time when everything happened within two days.
  const when = (t: number): string => (t1 - t0 < 2 * 86400_000 ? dateTime(t).slice(5, 16) : dateTime(t).slice(0, 10));
  g.append(svg('text', { x: L, y: H - 8, class: 'axis' }, when(t0)), svg('text', { x: W - R, y: H - 8, 'text-anchor': 'end', class: 'axis' }, when(t1)));
  for (const s of series) {
    if (bars) {
      const w = Math.max(2, Math.min(14, (W - L - R) / Math.max(1, times.length) - 2));
      s.values.forEach((v, i) => g.append(svg('rect', { x: x(times[i]!) - w / 2, y: y(v), width: w, height: H - B - y(v), class: `bar ${s.cls}` }, svg('title', {}, `${dateTime(times[i]!)}: ${fmt(v)}`))));
    } else {
      const pts = s.values.map((v, i) => `${x(times[i]!).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      g.append(svg('polyline', { points: pts, class: `line ${s.cls}` }));
      s.values.forEach((v, i) => g.append(svg('circle', { cx: x(times[i]!), cy: y(v), r: 3, class: `dot ${s.cls}` }, svg('title', {}, `${s.label}, ${dateTime(times[i]!)}: ${fmt(v)}`))));
    }
  }
  const legend = h('p', { class: 'legend' }, ...series.map((s) => h('span', { class: `key ${s.cls}` }, s.label)));
  return h('figure', { class: 'card chart-card' }, h('figcaption', {}, title), g, legend);
}

function duration(s: number): string {
  return s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

export function charts(snaps: readonly SnapshotInfo[]): HTMLElement[] {
  const withSummary = snaps.filter((s) => !s.internal && s.size !== undefined);
  if (withSummary.length === 0) return [h('p', { class: 'muted' }, 'No snapshot has a summary yet (restic 0.17+ and Coffer write one): charts appear after the next backup.')];
  const times = withSummary.map((s) => s.time);
  let total = 0;
  const stored = withSummary.map((s) => (total += s.added ?? 0));
  return [
    chart('Size over time', 'chart-size', times, [
      { label: 'backed up (each snapshot)', cls: 's1', values: withSummary.map((s) => s.size ?? 0) },
      { label: 'added to the repository (running total)', cls: 's2', values: stored },
    ], bytes),
    chart('Backup duration', 'chart-duration', times, [{ label: 'duration', cls: 's1', values: withSummary.map((s) => s.duration ?? 0) }], duration, true),
  ];
}

interface Reason {
  copy?: string;
  code: string;
  message: string;
}
interface Report {
  verdict: string;
  reasons: Reason[];
  checkedAt: string;
  offline?: boolean;
  copies: { name: string; url: string; reachable: boolean; safe: boolean; snapshots?: number; lastFullCheck: string | null; lastDrill: { at: string; verdict: string } | null; reasons: Reason[] }[];
  kit: { id: string; ageDays: number; stale: boolean } | null;
  lastBackup: { at: string; ok: boolean } | null;
}

registerView({
  id: 'status',
  routes: ['status'],
  nav: { testid: 'nav-status', label: 'Status', order: 60 },
  async render(ctx, _route, main, signal) {
    ctx.setTitle('Status');
    const [res, snaps] = await Promise.all([fetch('/api/status', { credentials: 'same-origin', cache: 'no-store' }).catch(() => undefined), ctx.snapshots()]);
    if (signal.aborted) return;
    const body = res && res.ok ? ((await res.json()) as { configured: boolean; message?: string; report?: Report }) : undefined;
    const report = body?.report;
    if (!body) {
      main.append(h('section', { class: 'card verdict unknown', testid: 'status-verdict', 'data-verdict': 'unknown' }, h('h1', {}, 'Status'), h('p', {}, 'The copies\u2019 status is shown by "coffer web" on the device that makes the backups (run "coffer status" there).')));
    } else if (!body.configured || !report) {
      main.append(
        h('section', { class: 'card verdict unknown', testid: 'status-verdict', 'data-verdict': 'unknown' },
          h('h1', {}, 'No copies set up'),
          h('p', {}, 'One repository is one copy: add another (a disk, a server, a cloud) with "coffer copies add NAME URL", then "coffer status" tells you whether you are safe.'),
          body.message ? h('p', { class: 'muted', testid: 'status-not-configured' }, body.message) : null),
      );
    } else {
      const safe = report.verdict === 'safe';
      main.append(
        h('section', { class: `card verdict ${safe ? 'safe' : 'unsafe'}`, testid: 'status-verdict', 'data-verdict': report.verdict },
          h('h1', {}, safe ? 'You are safe' : 'Not safe yet'),
          h('p', { class: 'muted' }, `As checked at ${dateTime(Date.parse(report.checkedAt))}${report.offline ? ' (run "coffer status" to check again)' : ''}.`),
          report.reasons.length ? h('ul', { class: 'reasons' }, ...report.reasons.map((r) => h('li', { testid: 'status-reason', 'data-code': r.code }, r.message))) : null),
        h('div', { class: 'copies' },
          ...report.copies.map((c) =>
            h('section', { class: `card copy ${c.safe ? 'safe' : 'unsafe'}`, testid: 'status-copy', 'data-name': c.name, 'data-safe': String(c.safe) },
              h('h2', {}, c.name),
              h('p', { class: 'muted url' }, c.url),
              h('dl', { class: 'facts' },
                h('dt', {}, 'Reachable'), h('dd', {}, c.reachable ? 'yes' : 'no'),
                h('dt', {}, 'Snapshots'), h('dd', {}, c.snapshots !== undefined ? String(c.snapshots) : '–'),
                h('dt', {}, 'Last check'), h('dd', {}, c.lastFullCheck ? dateTime(Date.parse(c.lastFullCheck)) : 'never'),
                h('dt', {}, 'Last drill'), h('dd', {}, c.lastDrill ? `${c.lastDrill.verdict}, ${dateTime(Date.parse(c.lastDrill.at))}` : 'never')),
            ),
          )),
        h('p', { class: 'muted' }, report.kit ? `Recovery kit ${report.kit.id}, ${report.kit.ageDays} days old${report.kit.stale ? ' (stale: make a new one)' : ''}.` : 'No recovery kit yet ("coffer kit").', report.lastBackup ? ` Last backup ${dateTime(Date.parse(report.lastBackup.at))}${report.lastBackup.ok ? '' : ' (some files unreadable)'}.` : ''),
      );
    }
    main.append(h('div', { class: 'charts' }, ...charts(snaps)), drillCard(ctx));
  },
});

/** The sampled drill of this repository with the recovery kit (worker/drill.ts). */
function drillCard(ctx: AppContext): HTMLElement {
  const kitInput = h('input', { type: 'file', accept: '.txt,.html,.htm,.pdf,text/plain,text/html,application/pdf', testid: 'drill-kit', 'aria-label': 'Recovery kit file' });
  const keyInput = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: 'only for a split kit', testid: 'drill-key', 'aria-label': 'Recovery key' });
  const sampleInput = h('input', { type: 'number', min: '1', max: '1000', value: '20', testid: 'drill-sample', 'aria-label': 'Files to restore' });
  const out = h('div', { testid: 'drill-report', 'aria-live': 'polite' });
  const run = h('button', { type: 'button', testid: 'drill-run' }, 'Run a drill');
  run.addEventListener('click', async () => {
    clear(out);
    const file = kitInput.files?.[0];
    if (!file) {
      out.append(h('p', { class: 'error', testid: 'drill-error' }, 'Choose the recovery kit file first.'));
      return;
    }
    run.disabled = true;
    out.append(h('p', { class: 'muted' }, 'Opening this repository with the kit\u2019s key, restoring a sample and checking every byte…'));
    try {
      const report = await ctx.client().call({ op: 'drill', repo: ctx.repo, kit: await file.text(), ...(keyInput.value ? { key: keyInput.value } : {}), sample: Math.max(1, Number(sampleInput.value) || 20) });
      keyInput.value = '';
      clear(out);
      out.append(drillReport(report));
    } catch (e) {
      clear(out);
      out.append(h('p', { class: 'error', testid: 'drill-error' }, e instanceof Error ? e.message : String(e)));
    } finally {
      run.disabled = false;
    }
  });
  return h('section', { class: 'card drill', testid: 'drill' },
    h('h2', {}, 'Drill'),
    h('p', { class: 'muted' }, 'Proves that this copy opens with your recovery kit alone and that its files come back intact: a sample is restored in this page and checked byte by byte; the result is recorded in the repository. The kit file is read here and never sent.'),
    h('label', {}, 'Recovery kit ', kitInput), ' ',
    h('label', {}, 'Recovery key ', keyInput), ' ',
    h('label', {}, 'Files ', sampleInput), ' ',
    run,
    out,
  );
}

function drillReport(r: DrillReport): HTMLElement {
  const ms = (v: number | null): string => (v === null ? '–' : `${Math.round(v)} ms`);
  return h('div', { class: `verdict ${r.verdict === 'pass' ? 'safe' : 'unsafe'}`, testid: 'drill-verdict', 'data-verdict': r.verdict },
    h('p', {}, r.verdict === 'pass' ? 'Drill passed.' : 'Drill failed.', ` Kit ${r.kitId}, sample of ${r.sample ?? 0} files (seed ${r.seed ?? '–'}).`),
    ...r.copies.map((c) =>
      h('dl', { class: 'facts', testid: 'drill-copy', 'data-name': c.name, 'data-verdict': c.verdict },
        h('dt', {}, 'Reachable'), h('dd', {}, c.reachable ? 'yes' : 'no'),
        h('dt', {}, 'Opened in'), h('dd', {}, ms(c.openMs)),
        h('dt', {}, 'First file'), h('dd', {}, ms(c.firstFileMs)),
        h('dt', {}, 'Restore'), h('dd', {}, ms(c.restoreMs)),
        h('dt', {}, 'Verified'), h('dd', { testid: 'drill-verified', 'data-files': c.filesVerified, 'data-bytes': c.bytesVerified }, `${c.filesVerified} files, ${bytes(c.bytesVerified)}`),
        h('dt', {}, 'Packs checked'), h('dd', {}, String(c.packsChecked)),
        h('dt', {}, 'Recorded'), h('dd', {}, c.recorded ? 'yes' : 'no'),
        ...(c.failures.length ? [h('dt', {}, 'Failures'), h('dd', {}, h('ul', {}, ...c.failures.map((f) => h('li', { testid: 'drill-failure', 'data-code': f.code }, `${f.code}: ${f.detail}`))))] : []),
      ),
    ),
  );
}
