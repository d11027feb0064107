/**
 * The S3 server for these tests: the one CI started (S3_ENDPOINT, S3_BUCKET and AWS_* in the
 * environment, from `.ci/run`), else a private Ceph RADOS Gateway from the shared services on
 * free ports. Missing scripts skip locally and fail in CI; a failed start always fails.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { freePort, requireTool, serviceMissing, startService } from '../rest/services.js';

export interface S3Server {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  stop(): void;
}

/** A fresh key prefix, so tests sharing the bucket never see each other's files. */
export function freshPrefix(what: string): string {
  return `coffer-${what}-${randomBytes(6).toString('hex')}`;
}

export async function startS3(t?: TestContext): Promise<S3Server | undefined> {
  const e = process.env;
  if (e.S3_ENDPOINT && e.S3_BUCKET && (e.S3_ACCESS_KEY_ID || e.AWS_ACCESS_KEY_ID)) {
    return {
      endpoint: e.S3_ENDPOINT,
      bucket: e.S3_BUCKET,
      region: e.S3_REGION || 'us-east-1',
      accessKeyId: (e.S3_ACCESS_KEY_ID || e.AWS_ACCESS_KEY_ID)!,
      secretAccessKey: (e.S3_SECRET_ACCESS_KEY || e.AWS_SECRET_ACCESS_KEY)!,
      stop: () => undefined,
    };
  }
  const missing = serviceMissing('ceph-rgw');
  if (missing !== undefined) {
    if (t) {
      if (!requireTool(t, missing)) return undefined;
    } else if (process.env.CI) throw new Error(`needed in CI but missing: ${missing}`);
    else return undefined;
  }
  const svc = startService('ceph-rgw', { CEPH_RGW_PORT: String(await freePort()), CEPH_MON_PORT: String(await freePort()) });
  const v = svc.env;
  return {
    endpoint: v.S3_ENDPOINT!,
    bucket: v.S3_BUCKET!,
    region: v.S3_REGION || 'us-east-1',
    accessKeyId: v.S3_ACCESS_KEY_ID!,
    secretAccessKey: v.S3_SECRET_ACCESS_KEY!,
    stop: () => svc.stop(),
  };
}
