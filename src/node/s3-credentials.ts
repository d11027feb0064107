/**
 * @module node/s3-credentials
 * S3 credentials and settings as the AWS tools (and restic) find them, for `s3:` locations:
 * `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, region from
 * `AWS_DEFAULT_REGION` or `AWS_REGION`; else the profile `AWS_PROFILE` (default "default") in
 * `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`) and `~/.aws/config` (`AWS_CONFIG_FILE`,
 * sections `[profile NAME]`). No credentials at all means anonymous requests.
 * `COFFER_S3_BUCKET_LOOKUP=path|dns|auto` chooses the addressing (restic's s3.bucket-lookup);
 * auto: path-style unless the endpoint is AWS.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { S3Backend, parseS3Location, type AwsCredentials } from '../core/backend/s3.js';
import { CofferError } from '../core/errors.js';

export interface S3Settings {
  readonly credentials?: AwsCredentials;
  readonly region?: string;
  readonly pathStyle?: boolean;
}

/** A minimal INI reader: `[section]` and `key = value` lines, `#`/`;` comments. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (sec) {
      cur = out.get(sec[1]!) ?? new Map();
      out.set(sec[1]!, cur);
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && cur) cur.set(kv[1]!.toLowerCase(), kv[2]!);
  }
  return out;
}

function readIni(file: string): Map<string, Map<string, string>> {
  try {
    return parseIni(fs.readFileSync(file, 'utf8'));
  } catch {
    return new Map();
  }
}

export function s3Settings(env: NodeJS.ProcessEnv = process.env): S3Settings {
  const home = env.HOME || os.homedir();
  const profile = env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || 'default';
  const config = readIni(env.AWS_CONFIG_FILE || path.join(home, '.aws', 'config'));
  const confSec = config.get(profile === 'default' ? 'default' : `profile ${profile}`) ?? config.get(profile);
  let credentials: AwsCredentials | undefined;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
  } else {
    const creds = readIni(env.AWS_SHARED_CREDENTIALS_FILE || path.join(home, '.aws', 'credentials')).get(profile);
    const id = creds?.get('aws_access_key_id') ?? confSec?.get('aws_access_key_id');
    const secret = creds?.get('aws_secret_access_key') ?? confSec?.get('aws_secret_access_key');
    const token = creds?.get('aws_session_token') ?? confSec?.get('aws_session_token');
    if (id && secret) credentials = { accessKeyId: id, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) };
    else if (env.AWS_PROFILE && !creds && !confSec) {
      throw new CofferError('usage', `AWS profile "${profile}" not found in the AWS credentials or config file`);
    }
  }
  const region = env.AWS_DEFAULT_REGION || env.AWS_REGION || confSec?.get('region') || undefined;
  const lookup = (env.COFFER_S3_BUCKET_LOOKUP || 'auto').toLowerCase();
  if (lookup !== 'auto' && lookup !== 'path' && lookup !== 'dns') throw new CofferError('usage', `COFFER_S3_BUCKET_LOOKUP must be auto, path or dns, not "${lookup}"`);
  return {
    ...(credentials ? { credentials } : {}),
    ...(region ? { region } : {}),
    ...(lookup === 'auto' ? {} : { pathStyle: lookup === 'path' }),
  };
}

/** The backend for `s3:…` (the location as the user typed it, with the scheme). */
export function openS3Backend(location: string, env: NodeJS.ProcessEnv = process.env): S3Backend {
  return new S3Backend({ ...parseS3Location(location.slice('s3:'.length)), ...s3Settings(env) });
}
