/**
 * `coffer schedule install [PATH...] [--daily HH:MM | --every 6h] [--drill-every DAYS] [--cron]`,
 * `schedule show [--json]`, `schedule remove`: the timer that runs `coffer run-scheduled`
 * (backup of PATHs, sync, a weekly check, a drill every DAYS, status and alerts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CofferError } from '../../core/errors.js';
import type { ScheduleInfo } from '../../core/engine/settings/settings.js';
import { emptyConfig, loadConfig, saveConfig, stateDir } from '../../node/config.js';
import { cronLine, hasSystemdUser, installCron, installed, installSystemd, parseWhen, uninstall, type RunSpec } from '../../node/schedule.js';
import { flag, str, type Command } from '../command.js';
import type { Cli } from '../context.js';
import { primaryLocation, publishSettingsIfPossible } from './copies.js';

/** The environment the unattended run needs: the password source (never the password) and folders. */
function runEnv(cli: Cli): Record<string, string> {
  const env: Record<string, string> = {};
  const file = str(cli.globals['password-file']) ?? cli.envVar('PASSWORD_FILE');
  const cmd = str(cli.globals['password-command']) ?? cli.envVar('PASSWORD_COMMAND');
  if (file) env.COFFER_PASSWORD_FILE = path.resolve(file);
  else if (cmd) env.COFFER_PASSWORD_COMMAND = cmd;
  else {
    throw new CofferError(
      'bad-input',
      'the schedule runs unattended: give the password as a file (--password-file or COFFER_PASSWORD_FILE) or a command (--password-command or COFFER_PASSWORD_COMMAND); it is named in the unit, never copied into it',
    );
  }
  for (const k of ['XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME']) {
    const v = cli.env[k];
    if (v && path.isAbsolute(v)) env[k] = v;
  }
  const loc = cli.repositoryLocation();
  if (!loc.isDefault) env.COFFER_REPOSITORY = loc.location;
  return env;
}

function spec(cli: Cli): RunSpec {
  const script = process.argv[1] ? path.resolve(process.argv[1]) : '';
  if (!script || !fs.existsSync(script)) throw new CofferError('internal', 'cannot tell where the coffer script is');
  return { node: process.execPath, script, env: runEnv(cli) };
}

const command: Command = {
  name: 'schedule',
  summary: 'Run backup, sync, checks, drills and status on a timer (systemd user timer, or cron).',
  usage: 'install [PATH...] [--daily HH:MM | --every 6h] [--drill-every DAYS] [--cron] | show [--json] | remove',
  help: `install writes ~/.config/systemd/user/coffer.service and coffer.timer and enables the timer
(or one crontab line ending "# coffer-schedule" where systemd is absent, or with --cron).
Each run: backup of PATHs (kept from the last install when none are given), sync, a structure
check of the primary weekly, a sampled drill every --drill-every days (default 7), status, alerts;
logged as JSON lines in ~/.local/state/coffer/runs.jsonl.
The password must come from --password-file or --password-command (or their COFFER_ variables).
Options:
      --daily HH:MM       every day at HH:MM (default 03:30)
      --every INTERVAL    instead: every 1h..24h (dividing 24) or 5m..60m
      --drill-every DAYS  days between drills (default 7)
      --cron              use cron even if systemd is there`,
  options: { daily: { type: 'string' }, every: { type: 'string' }, 'drill-every': { type: 'string' }, cron: { type: 'boolean' } },
  async run(cli, values, positionals) {
    const [sub, ...args] = positionals;
    const env = cli.env;
    if (sub === 'install') {
      const when = { ...(str(values.daily) ? { daily: str(values.daily)! } : {}), ...(str(values.every) ? { every: str(values.every)! } : {}) };
      parseWhen(when);
      const de = str(values['drill-every']) ?? '7';
      const drillEveryDays = Number(de);
      if (!Number.isInteger(drillEveryDays) || drillEveryDays < 1 || drillEveryDays > 35) throw new CofferError('bad-input', `invalid --drill-every "${de}" (1 to 35 days)`);
      const existing = loadConfig(env);
      const paths = args.length ? args.map((p) => path.resolve(p)) : [...(existing?.schedule?.paths ?? [])];
      for (const p of paths) if (!fs.existsSync(p)) throw new CofferError('bad-input', `${p} does not exist`);
      const run = spec(cli);
      const mode = flag(values.cron) || !hasSystemdUser(env) ? 'cron' : 'systemd';
      uninstall(env); // never two schedules (a timer and a cron line)
      if (mode === 'systemd') {
        const f = installSystemd(when, run, env);
        cli.info(`wrote ${f.service} and ${f.timer}; timer enabled`);
      } else {
        const line = cronLine(when, run, path.join(stateDir(env), 'scheduled.log'));
        installCron(line, env);
        cli.info(`installed the crontab line: ${line}`);
      }
      const info: ScheduleInfo = {
        mode,
        ...(when.every ? { every: when.every } : { daily: when.daily ?? '03:30' }),
        drillEveryDays,
        paths,
        installedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      };
      const config = existing ?? emptyConfig(primaryLocation(cli, existing));
      const next = { ...config, schedule: info };
      saveConfig(next, env);
      await publishSettingsIfPossible(cli, next);
      if (!paths.length) cli.warn('coffer: no paths given: scheduled runs will sync, check and drill but not back up');
      if (cli.json) cli.out(JSON.stringify(info));
      return 0;
    }
    if (sub === 'show' || sub === undefined) {
      const config = loadConfig(env);
      const now = installed(env);
      if (cli.json) {
        cli.out(JSON.stringify({ schedule: config?.schedule ?? null, installed: now }));
        return 0;
      }
      if (!config?.schedule && !now.timer && !now.cron) {
        cli.out('no schedule (coffer schedule install PATH... --daily 03:30)');
        return 0;
      }
      const s = config?.schedule;
      if (s) cli.out(`${s.daily ? `daily at ${s.daily}` : `every ${s.every}`} via ${s.mode}; drill every ${s.drillEveryDays} days; backs up ${s.paths.join(', ') || 'nothing'}`);
      if (now.timer) cli.out(`timer: ${now.timer.split('\n').find((l) => l.startsWith('OnCalendar=')) ?? ''}`);
      if (now.cron) cli.out(`crontab: ${now.cron}`);
      return 0;
    }
    if (sub === 'remove' || sub === 'rm') {
      const removed = uninstall(env);
      const config = loadConfig(env);
      if (config?.schedule) {
        const { schedule: _s, ...rest } = config;
        saveConfig(rest, env);
        await publishSettingsIfPossible(cli, rest);
      }
      cli.info(removed.length ? `removed ${removed.join(', ')}` : 'no schedule was installed');
      return 0;
    }
    throw new CofferError('bad-input', `unknown subcommand "schedule ${sub}" (use install, show or remove)`);
  },
};
export default command;
