/**
 * @module node/alerts/webhook
 * HTTP webhook alerts: POST of the JSON payload, 10 s timeout, 3 tries. Shapes recognised:
 * ntfy (host contains "ntfy") and Gotify (path ends in /message) get `Title`/`Priority` headers;
 * Healthchecks-style ping URLs (host "hc-ping…" or a path with /ping/) get `/fail` appended on
 * failure or unsafe, and a plain GET on success.
 */
import { alertTitle, type AlertPayload } from './payload.js';

export interface WebhookOptions {
  readonly timeoutMs?: number;
  readonly tries?: number;
  readonly retryDelayMs?: number;
}

export function isHealthchecks(url: URL): boolean {
  return url.hostname.startsWith('hc-ping') || /\/ping\//.test(url.pathname);
}

export function isNtfyOrGotify(url: URL): boolean {
  return url.hostname.includes('ntfy') || /\/message\/?$/.test(url.pathname);
}

function bad(p: AlertPayload): boolean {
  return p.event === 'failure' || p.event === 'unsafe';
}

/** The request a payload turns into (exported for tests and `alert list`). */
export function webhookRequest(rawUrl: string, p: AlertPayload): { method: 'GET' | 'POST'; url: string; headers: Record<string, string>; body?: string } {
  const url = new URL(rawUrl);
  if (isHealthchecks(url)) {
    if (bad(p)) {
      url.pathname = url.pathname.replace(/\/$/, '') + '/fail';
      return { method: 'POST', url: url.toString(), headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(p) };
    }
    return { method: 'GET', url: url.toString(), headers: {} };
  }
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (isNtfyOrGotify(url)) {
    headers.Title = alertTitle(p);
    headers.Priority = bad(p) ? 'high' : 'default';
  }
  return { method: 'POST', url: url.toString(), headers, body: JSON.stringify(p) };
}

export async function sendWebhook(rawUrl: string, p: AlertPayload, opts: WebhookOptions = {}): Promise<void> {
  const req = webhookRequest(rawUrl, p);
  const tries = opts.tries ?? 3;
  let last = '';
  for (let i = 0; i < tries; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, (opts.retryDelayMs ?? 1000) * i));
    try {
      const res = await fetch(req.url, {
        method: req.method,
        headers: req.headers,
        ...(req.body !== undefined ? { body: req.body } : {}),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).name === 'TimeoutError' ? 'timed out' : ((e as { cause?: Error }).cause?.message ?? (e as Error).message);
    }
  }
  // The URL may hold a token: name only its host.
  throw new Error(`webhook to ${new URL(rawUrl).host} failed after ${tries} tries: ${last}`);
}
