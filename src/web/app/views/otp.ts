/**
 * @module web/app/views/otp
 * `#/otp`: the 2FA vault kept in the repository (the newest `coffer-otp` record, an encrypted
 * Aegis vault). It opens with the repository password typed again: the worker does not keep the
 * password after unlock. The worker computes the codes; the page shows them with a countdown,
 * a search, and copy to clipboard. Secrets never leave the worker.
 */
import type { OtpCodeInfo } from '../../protocol.js';
import { clear, h } from '../dom.js';
import { registerView, type AppContext } from '../views.js';
import { WorkerError } from '../worker-client.js';

function codeText(c: string): string {
  return c.length === 6 ? `${c.slice(0, 3)} ${c.slice(3)}` : c;
}

function renderCodes(ctx: AppContext, main: HTMLElement, signal: AbortSignal): void {
  const search = h('input', { type: 'search', placeholder: 'Search issuer or account', testid: 'otp-search', 'aria-label': 'Search codes' });
  const list = h('ul', { class: 'otp', testid: 'otp-list' });
  const empty = h('p', { class: 'empty', hidden: true }, 'The vault has no entries yet: add some with "coffer otp import" or "coffer otp add".');
  main.append(h('div', { class: 'toolbar' }, search), list, empty);
  const items = new Map<number, { li: HTMLElement; code: HTMLElement; left: HTMLElement; bar: HTMLElement }>();
  let last: OtpCodeInfo[] = [];
  const draw = (codes: OtpCodeInfo[]): void => {
    last = codes;
    const q = search.value.trim().toLowerCase();
    empty.hidden = codes.length > 0;
    for (const c of codes) {
      let it = items.get(c.index);
      if (!it) {
        const code = h('span', { class: 'otp-code mono', testid: 'otp-code' });
        const left = h('span', { class: 'muted', testid: 'otp-remaining' });
        const bar = h('span', { class: 'otp-bar' });
        const copy = h('button', {
          type: 'button',
          testid: 'otp-copy',
          'aria-label': `Copy the code for ${c.issuer} ${c.name}`,
          onclick: async () => {
            const now = last.find((x) => x.index === c.index)?.code;
            if (!now) return;
            try {
              await navigator.clipboard.writeText(now);
              ctx.notify('Copied.');
            } catch {
              ctx.notify('The browser did not allow copying: select the code instead.', 'error');
            }
          },
        }, 'Copy');
        const li = h('li', { testid: 'otp-item', 'data-issuer': c.issuer, 'data-name': c.name, 'data-type': c.type },
          h('div', { class: 'otp-who' }, h('strong', {}, c.issuer || c.name), c.issuer ? h('span', { class: 'muted' }, c.name) : null),
          h('div', { class: 'otp-now' }, code, h('span', { class: 'otp-timer' }, bar, left)),
          c.code !== undefined ? copy : null);
        it = { li, code, left, bar };
        items.set(c.index, it);
        list.appendChild(li);
      }
      it.li.hidden = q !== '' && !`${c.issuer}\n${c.name}`.toLowerCase().includes(q);
      it.code.textContent = c.code !== undefined ? codeText(c.code) : (c.note ?? '');
      it.code.dataset.code = c.code ?? '';
      if (c.secondsLeft !== undefined && c.period) {
        it.left.textContent = `${c.secondsLeft}s`;
        it.bar.style.width = `${(100 * c.secondsLeft) / c.period}%`;
      }
    }
  };
  search.addEventListener('input', () => draw(last));
  const tick = async (): Promise<void> => {
    if (signal.aborted) return;
    try {
      const codes = await ctx.client().call({ op: 'otpCodes' });
      if (codes && !signal.aborted) draw(codes);
    } catch {
      return; // locked
    }
    setTimeout(() => void tick(), 1000 - (Date.now() % 1000) + 5);
  };
  void tick();
  search.focus();
}

registerView({
  id: 'otp',
  routes: ['otp'],
  nav: { testid: 'nav-otp', label: '2FA codes', order: 70 },
  async render(ctx, _route, main, signal) {
    ctx.setTitle('2FA codes');
    if (await ctx.client().call({ op: 'otpCodes' })) return renderCodes(ctx, main, signal);
    const password = h('input', { type: 'password', testid: 'otp-password', id: 'otp-password', autocomplete: 'current-password', required: true });
    const error = h('p', { class: 'error', role: 'alert', testid: 'otp-error', hidden: true });
    const submit = h('button', { type: 'submit', class: 'primary', testid: 'otp-submit' }, 'Open');
    const form = h('form', {
      class: 'card unlock',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const pw = password.value;
        password.value = '';
        submit.disabled = true;
        error.hidden = true;
        try {
          await ctx.client().call({ op: 'otpOpen', password: pw });
          clear(main);
          renderCodes(ctx, main, signal);
        } catch (err) {
          error.textContent = err instanceof WorkerError && err.code === 'wrong-password' ? 'This password does not open the vault.' : `Could not open the vault: ${(err as Error).message}`;
          error.hidden = false;
          submit.disabled = false;
          password.focus();
        }
      },
    },
      h('h1', {}, '2FA codes'),
      h('p', { class: 'muted' }, 'Type the repository password again to open the vault of 2FA codes. It opens in this tab only.'),
      h('label', { for: 'otp-password' }, 'Password'), password, submit, error);
    main.appendChild(form);
    password.focus();
  },
});
