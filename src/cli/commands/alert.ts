/**
 * `coffer alert add command CMD | email ADDR | webhook URL`, `alert list [--json]`,
 * `alert remove N`, `alert test`: the channels alerts go to (../shared/design/no-lockout.md §9).
 * Alerts are sent by `run-scheduled` (failed run, unsafe status, recovered) and `status --alert`.
 */
import { CofferError } from '../../core/errors.js';
import type { AlertChannel } from '../../core/engine/settings/settings.js';
import { emptyConfig, loadConfig, requireConfig, saveConfig } from '../../node/config.js';
import { describeChannel, dispatchAlerts } from '../../node/alerts/dispatch.js';
import type { Command } from '../command.js';
import { primaryLocation, publishSettingsIfPossible } from './copies.js';

function parseChannel(kind: string | undefined, value: string | undefined): AlertChannel {
  if (!value) throw new CofferError('bad-input', 'usage: coffer alert add command CMD | email ADDR | webhook URL');
  if (kind === 'command') return { type: 'command', command: value };
  if (kind === 'email') {
    if (!/^[^\s@]+@[^\s@]+$/.test(value)) throw new CofferError('bad-input', `invalid e-mail address "${value}"`);
    return { type: 'email', to: value };
  }
  if (kind === 'webhook') {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      throw new CofferError('bad-input', 'invalid webhook URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CofferError('bad-input', 'a webhook URL must start with http:// or https://');
    return { type: 'webhook', url: value };
  }
  throw new CofferError('bad-input', `unknown alert type "${kind ?? ''}" (use command, email or webhook)`);
}

const command: Command = {
  name: 'alert',
  summary: 'Where alerts go: add command CMD | email ADDR | webhook URL; list; remove N; test.',
  usage: 'add command CMD | add email ADDR | add webhook URL | list [--json] | remove N | test',
  help: `Alerts go out when a scheduled run fails, when status turns unsafe (once per reason per day),
and when it is safe again. Payload: {"event","host","at","verdict","reasons":[…],"copies":[…]}.
  command  run with sh -c, payload on stdin, COFFER_EVENT and COFFER_VERDICT set
  email    sent with sendmail -t ($COFFER_SENDMAIL, default /usr/sbin/sendmail)
  webhook  POST of the JSON (ntfy/Gotify get Title and Priority headers; Healthchecks-style
           ping URLs get /fail on failure and a plain GET on success)`,
  options: {},
  async run(cli, _values, positionals) {
    const [sub, ...args] = positionals;
    if (sub === 'add') {
      const ch = parseChannel(args[0], args.slice(1).join(' ') || undefined);
      const existing = loadConfig(cli.env);
      const config = existing ?? emptyConfig(primaryLocation(cli, existing));
      const next = { ...config, alerts: [...config.alerts, ch] };
      saveConfig(next, cli.env);
      cli.info(`added alert ${config.alerts.length + 1}: ${describeChannel(ch)}`);
      await publishSettingsIfPossible(cli, next);
      return 0;
    }
    if (sub === 'list' || sub === undefined) {
      const alerts = loadConfig(cli.env)?.alerts ?? [];
      if (cli.json) cli.out(JSON.stringify(alerts.map((a, i) => ({ n: i + 1, type: a.type, target: describeChannel(a).replace(/^\w+ /, '') }))));
      else if (!alerts.length) cli.out('no alerts (add one with coffer alert add command|email|webhook …)');
      else alerts.forEach((a, i) => cli.out(`${i + 1}  ${describeChannel(a)}`));
      return 0;
    }
    if (sub === 'remove' || sub === 'rm') {
      const config = requireConfig(cli.env);
      const n = Number(args[0]);
      if (!Number.isInteger(n) || n < 1 || n > config.alerts.length) throw new CofferError('bad-input', `no alert number "${args[0] ?? ''}" (see coffer alert list)`);
      const next = { ...config, alerts: config.alerts.filter((_, i) => i !== n - 1) };
      saveConfig(next, cli.env);
      cli.info(`removed alert ${n}: ${describeChannel(config.alerts[n - 1]!)}`);
      await publishSettingsIfPossible(cli, next);
      return 0;
    }
    if (sub === 'test') {
      const config = requireConfig(cli.env);
      if (!config.alerts.length) throw new CofferError('bad-input', 'no alerts configured (coffer alert add …)');
      const results = await dispatchAlerts(cli.env, config, { event: 'test' });
      if (cli.json) cli.out(JSON.stringify(results));
      for (const r of results) {
        if (r.ok) cli.info(`ok      ${r.channel}`);
        else cli.warn(`coffer: alert via ${r.channel} failed: ${r.error}`);
      }
      return results.every((r) => r.ok) ? 0 : 1;
    }
    throw new CofferError('bad-input', `unknown subcommand "alert ${sub}" (use add, list, remove or test)`);
  },
};
export default command;
