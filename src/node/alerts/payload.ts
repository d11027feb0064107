/**
 * @module node/alerts/payload
 * The one alert payload every channel carries (../shared/design/no-lockout.md §9): JSON body for
 * webhooks, stdin for commands, the body of the mail.
 */
import * as os from 'node:os';

export type AlertEvent = 'failure' | 'unsafe' | 'recovered' | 'test';

export interface AlertPayload {
  readonly event: AlertEvent;
  readonly host: string;
  readonly at: string;
  readonly verdict: 'safe' | 'unsafe' | 'unknown';
  readonly reasons: readonly { readonly copy?: string; readonly code: string; readonly message: string }[];
  readonly copies: readonly { readonly name: string; readonly safe: boolean }[];
  /** For failures: what failed. */
  readonly message?: string;
}

export function makePayload(event: AlertEvent, fields: Partial<Omit<AlertPayload, 'event' | 'host' | 'at'>> = {}): AlertPayload {
  return {
    event,
    host: os.hostname(),
    at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    verdict: fields.verdict ?? 'unknown',
    reasons: fields.reasons ?? [],
    copies: fields.copies ?? [],
    ...(fields.message ? { message: fields.message } : {}),
  };
}

/** One line for titles and subjects. */
export function alertTitle(p: AlertPayload): string {
  const what = p.event === 'failure' ? 'a scheduled run failed' : p.event === 'unsafe' ? 'backups are UNSAFE' : p.event === 'recovered' ? 'backups are safe again' : 'test alert';
  return `Coffer on ${p.host}: ${what}`;
}

/** Human text: the title, then one line per reason. */
export function alertText(p: AlertPayload): string {
  const lines = [alertTitle(p)];
  if (p.message) lines.push('', p.message);
  if (p.reasons.length) lines.push('', ...p.reasons.map((r) => `- ${r.message}`));
  return lines.join('\n');
}
