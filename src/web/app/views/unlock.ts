/**
 * @module web/app/views/unlock
 * `#/unlock`: the password goes to a fresh worker in one message and the field is cleared at
 * once; the page keeps no copy. "Remember on this device" asks the worker to keep the master
 * key wrapped by a non-extractable WebCrypto key (worker/remember.ts).
 */
import { h } from '../dom.js';
import { WorkerClient, WorkerError } from '../worker-client.js';

export interface UnlockHost {
  readonly repos: readonly string[];
  repo: string;
  /** Called with the unlocked worker. */
  unlocked(client: WorkerClient, remembered: boolean): void;
}

export function renderUnlock(main: HTMLElement, host: UnlockHost): void {
  const error = h('p', { class: 'error', testid: 'unlock-error', role: 'alert', hidden: true });
  const password = h('input', { type: 'password', id: 'unlock-password', testid: 'unlock-password', autocomplete: 'current-password', required: true, autofocus: true, 'aria-describedby': 'unlock-help' });
  const remember = h('input', { type: 'checkbox', id: 'unlock-remember', testid: 'unlock-remember' });
  const submit = h('button', { type: 'submit', class: 'primary', testid: 'unlock-submit' }, 'Unlock');
  const busy = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  // Several repositories (coffer serve --web): pick one; none found (remote storage): type its path.
  const repoSelect =
    host.repos.length > 1
      ? h('select', { id: 'unlock-repo', testid: 'unlock-repo', onchange: (e: Event) => (host.repo = (e.target as HTMLSelectElement).value) }, ...host.repos.map((r) => h('option', { value: r, selected: r === host.repo }, r)))
      : host.repos.length === 0
        ? h('input', { type: 'text', id: 'unlock-repo', testid: 'unlock-repo', placeholder: '/user/repository/', required: true, oninput: (e: Event) => (host.repo = '/' + (e.target as HTMLInputElement).value.replace(/^\/+|\/+$/g, '') + '/') })
        : undefined;

  const showError = (msg: string): void => {
    error.textContent = msg;
    error.hidden = false;
  };

  const run = async (fn: (c: WorkerClient) => Promise<boolean>): Promise<void> => {
    error.hidden = true;
    submit.disabled = true;
    busy.textContent = 'Opening the repository…';
    const client = new WorkerClient();
    try {
      const remembered = await fn(client);
      performance.mark('coffer-unlocked');
      host.unlocked(client, remembered);
    } catch (e) {
      client.terminate();
      const code = e instanceof WorkerError ? e.code : '';
      showError(code === 'wrong-password' ? 'Wrong password: no key of this repository opens with it.' : code === 'no-repository' ? 'No repository here.' : `Could not unlock: ${(e as Error).message}`);
      password.focus();
    } finally {
      submit.disabled = false;
      busy.textContent = '';
    }
  };

  const form = h(
    'form',
    {
      class: 'card unlock',
      autocomplete: 'off',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const pw = password.value;
        password.value = '';
        if (!pw) {
          showError('Type the repository password.');
          return;
        }
        void run(async (c) => (await c.call({ op: 'unlock', repo: host.repo, password: pw, remember: remember.checked })).remembered);
      },
    },
    h('h1', {}, 'Unlock'),
    h('p', { id: 'unlock-help', class: 'muted' }, 'Your password opens the repository in this tab only: keys and files are decrypted here and never sent anywhere.'),
    repoSelect ? h('label', { for: 'unlock-repo' }, 'Repository') : null,
    repoSelect ?? null,
    h('label', { for: 'unlock-password' }, 'Password'),
    password,
    h('label', { class: 'check' }, remember, ' Remember on this device'),
    submit,
    busy,
    error,
  );
  main.appendChild(form);

  // A key remembered on this device: offer it, and a way to forget it.
  void (async () => {
    const probe = new WorkerClient();
    try {
      if (!(await probe.call({ op: 'remembered', repo: host.repo }))) return;
      const use = h('button', { type: 'button', testid: 'unlock-remembered', onclick: () => void run(async (c) => (await c.call({ op: 'unlockRemembered', repo: host.repo })).remembered) }, 'Unlock with this device');
      const forget = h(
        'button',
        {
          type: 'button',
          class: 'link',
          testid: 'unlock-forget',
          onclick: async () => {
            const c = new WorkerClient();
            try {
              await c.call({ op: 'forget', repo: host.repo });
            } finally {
              c.terminate();
            }
            use.remove();
            forget.remove();
          },
        },
        'Forget this device',
      );
      form.insertBefore(h('div', { class: 'row' }, use, forget), busy);
    } catch {
      // IndexedDB unavailable (private mode): nothing to offer.
    } finally {
      probe.terminate();
    }
  })();
}
