/**
 * @module format/lock
 * Lock documents (spec §14.1), the JSON inside `locks/<id>` (an unpacked file, §7). Compact, no
 * trailing newline, keys in restic's order:
 *
 *   {"time":<time>,"exclusive":<bool>,"hostname":<string>,"username":<string>,"pid":<int>
 *    [,"uid":<uint32>][,"gid":<uint32>]}          (uid/gid omitted when 0)
 */
import { utf8Encode } from '../bytes.js';
import { corrupt } from '../errors.js';
import { formatGoTime, GO_ZERO_TIME, parseGoTime } from './go-time.js';
import { fieldBool, fieldInt, fieldMatcher, fieldObject, fieldString, fieldUint, goJsonString, parseJsonBytes, jsonMembers } from './json.js';
import type { GoTime, Lock } from './types.js';

export function encodeLock(l: Lock): Uint8Array {
  let j =
    '{"time":"' + formatGoTime(l.time) + '","exclusive":' + (l.exclusive ? 'true' : 'false') +
    ',"hostname":' + goJsonString(l.hostname) + ',"username":' + goJsonString(l.username) + ',"pid":' + l.pid;
  if (l.uid) j += ',"uid":' + l.uid;
  if (l.gid) j += ',"gid":' + l.gid;
  return utf8Encode(j + '}');
}

const lockField = fieldMatcher(['time', 'exclusive', 'hostname', 'username', 'pid', 'uid', 'gid'] as const);

/** Parses lock JSON. Throws CofferError 'corrupt' naming `what`. */
export function decodeLock(json: Uint8Array, what: string): Lock {
  const o = fieldObject(parseJsonBytes(json, what), what, '(top level)');
  let time: GoTime = GO_ZERO_TIME;
  let exclusive = false;
  let hostname = '';
  let username = '';
  let pid = 0;
  let uid = 0;
  let gid = 0;
  for (const [key, v] of jsonMembers(o)) {
    switch (lockField(key)) {
      case 'time':
        if (v !== null) {
          if (typeof v !== 'string') throw corrupt(what, 'field "time" should be a time string');
          time = parseGoTime(v, `${what}: field "time"`);
        }
        break;
      case 'exclusive': exclusive = fieldBool(v, what, 'exclusive'); break;
      case 'hostname': hostname = fieldString(v, what, 'hostname'); break;
      case 'username': username = fieldString(v, what, 'username'); break;
      case 'pid': pid = fieldInt(v, what, 'pid'); break;
      case 'uid': uid = fieldUint(v, what, 'uid', 0xffffffff); break;
      case 'gid': gid = fieldUint(v, what, 'gid', 0xffffffff); break;
      default: break;
    }
  }
  return { time, exclusive, hostname, username, pid, ...(uid ? { uid } : {}), ...(gid ? { gid } : {}) };
}
