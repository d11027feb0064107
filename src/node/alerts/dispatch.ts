/**
 * @module node/alerts/dispatch
 * When to alert and to whom: a failed run or an unsafe status alerts every channel, at most once
 * per reason per day (keys kept in the state cache), and a "recovered" alert goes out when the
 * status is safe again after an unsafe one. `test` always goes out.
 */
import type { AlertChannel } from '../../core/engine/settings/settings.js';
import { loadState, updateState, type CofferConfig } from '../config.js';
import { runAlertCommand } from './command.js';
import { makePayload, type AlertPayload } from './payload.js';
import { sendMail } from './sendmail.js';
import { sendWebhook } from './webhook.js';

export interface ChannelResult {
  readonly channel: string;
  readonly ok: boolean;
  readonly error?: string;
}

/** A channel described without secrets (webhook URLs may carry tokens). */
export function describeChannel(c: AlertChannel): string {
  if (c.type === 'command') return `command ${c.command}`;
  if (c.type === 'email') return `email ${c.to}`;
  try {
    const u = new URL(c.url);
    return `webhook ${u.protocol}//${u.host}${u.pathname.length > 1 ? '/…' : '/'}`;
  } catch {
    return 'webhook (invalid URL)';
  }
}

export async function sendToChannel(c: AlertChannel, p: AlertPayload, env: NodeJS.ProcessEnv): Promise<ChannelResult> {
  try {
    if (c.type === 'command') await runAlertCommand(c.command, p, env);
    else if (c.type === 'email') await sendMail(c.to, p, env);
    else await sendWebhook(c.url, p, env.COFFER_ALERT_RETRY_MS ? { retryDelayMs: Number(env.COFFER_ALERT_RETRY_MS) } : {});
    return { channel: describeChannel(c), ok: true };
  } catch (e) {
    return { channel: describeChannel(c), ok: false, error: (e as Error).message };
  }
}

export async function sendAll(channels: readonly AlertChannel[], p: AlertPayload, env: NodeJS.ProcessEnv): Promise<ChannelResult[]> {
  return Promise.all(channels.map((c) => sendToChannel(c, p, env)));
}

interface ReportLike {
  readonly verdict: 'safe' | 'unsafe';
  readonly reasons: readonly { readonly copy?: string; readonly code: string; readonly message: string }[];
  readonly copies: readonly { readonly name: string; readonly safe: boolean }[];
}

export type AlertTrigger =
  | { readonly event: 'unsafe' | 'status'; readonly report: ReportLike }
  | { readonly event: 'failure'; readonly message: string; readonly key: string; readonly report?: ReportLike }
  | { readonly event: 'test'; readonly report?: ReportLike };

const DAY_MS = 86_400_000;

/** Decides what to send for `trigger`, sends it, and remembers it. Returns each channel's result. */
export async function dispatchAlerts(env: NodeJS.ProcessEnv, config: CofferConfig, trigger: AlertTrigger, now = Date.now()): Promise<ChannelResult[]> {
  const state = loadState(env);
  const sent = { ...(state.alertsSent ?? {}) };
  const fresh = (key: string) => !sent[key] || now - Date.parse(sent[key]!) >= DAY_MS;
  const stamp = new Date(now).toISOString();
  const r = trigger.report;
  const fields = r ? { verdict: r.verdict, reasons: r.reasons, copies: r.copies.map((c) => ({ name: c.name, safe: c.safe })) } : {};
  let payload: AlertPayload | undefined;
  let lastVerdict = state.lastVerdict;
  if (trigger.event === 'test') payload = makePayload('test', fields);
  else if (trigger.event === 'failure') {
    if (fresh(`failure:${trigger.key}`)) {
      payload = makePayload('failure', { ...fields, message: trigger.message });
      sent[`failure:${trigger.key}`] = stamp;
    }
  } else if (trigger.report.verdict === 'unsafe') {
    const keys = trigger.report.reasons.map((x) => `unsafe:${x.code}:${x.copy ?? ''}`);
    const newKeys = keys.filter(fresh);
    if (newKeys.length) {
      payload = makePayload('unsafe', fields);
      for (const k of newKeys) sent[k] = stamp;
    }
    lastVerdict = 'unsafe';
  } else {
    if (state.lastVerdict === 'unsafe') payload = makePayload('recovered', fields);
    for (const k of Object.keys(sent)) if (k.startsWith('unsafe:')) delete sent[k];
    lastVerdict = 'safe';
  }
  const results = payload && config.alerts.length ? await sendAll(config.alerts, payload, env) : [];
  // Nothing delivered: forget the stamps so the next run tries again.
  const delivered = results.length === 0 || results.some((x) => x.ok);
  if (trigger.event !== 'test') {
    updateState(env, (s) => ({ ...s, ...(delivered ? { alertsSent: sent } : {}), ...(lastVerdict ? { lastVerdict } : {}) }));
  }
  return results;
}
