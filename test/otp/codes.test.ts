/**
 * OTP codes: the RFC 4226/6238 appendix values, the oathtool and steam-totp vectors of
 * shared/spec/vectors/otp, and live agreement with `oathtool` (Debian package; required in CI)
 * at fixed times for SHA1/256/512, 6–8 digits, several periods, times beyond 2^32 and counters
 * beyond 2^32.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { toHex } from '../../src/core/bytes.js';
import { base32Decode, base32Encode, normalizeBase32 } from '../../src/core/otp/base32.js';
import { hotp, secondsLeft, steam, totp, type OtpAlgorithm } from '../../src/core/otp/codes.js';
import { readVector } from '../helpers/paths.js';

const codes = readVector('otp/codes.json');

function oathtoolPath(): string | undefined {
  const r = spawnSync('oathtool', ['--version'], { encoding: 'utf8' });
  if (r.status === 0) return 'oathtool';
  if (process.env.CI) throw new Error('oathtool is missing in CI (apt-get install oathtool; .ci/run installs it)');
  return undefined;
}

describe('otp codes', () => {
  it('base32 round-trips and reads lenient forms', () => {
    for (let n = 0; n < 70; n++) {
      const b = crypto.randomBytes(n);
      const s = base32Encode(b);
      assert.deepEqual(base32Decode(s.toLowerCase()), n ? new Uint8Array(b) : undefined);
    }
    assert.equal(normalizeBase32('bptb 4lmy-rvvq===='), 'BPTB4LMYRVVQ');
    assert.equal(toHex(base32Decode('bptb 4lmy rvvq====')!), '0be61e2d988d6b');
    for (const bad of ['', 'ABC', 'JBSWY3DP1BAD', 'A', 'ABCDEF']) assert.equal(base32Decode(bad), undefined, bad);
  });

  it('reproduces the RFC 4226 and RFC 6238 appendix values', () => {
    for (const v of codes.rfc4226) assert.equal(hotp(base32Decode(v.secret)!, BigInt(v.counter), v.algorithm, v.digits), v.code);
    for (const v of codes.rfc6238) assert.equal(totp(base32Decode(v.secret)!, v.time, v.algorithm, v.digits, v.period), v.code, `${v.algorithm} @${v.time}`);
    assert.ok(codes.rfc6238.some((v: { time: number }) => v.time === 20000000000));
  });

  it('reproduces every oathtool and steam-totp vector', () => {
    let n = 0;
    for (const v of codes.oathtool) {
      const key = base32Decode(v.secret)!;
      assert.equal(toHex(key), v.secret_hex);
      const got = v.type === 'hotp' ? hotp(key, BigInt(v.counter), v.algorithm, v.digits) : totp(key, v.time, v.algorithm, v.digits, v.period);
      assert.equal(got, v.code, v.by);
      n++;
    }
    assert.equal(n, 270);
    for (const v of codes.steam) {
      assert.equal(steam(base32Decode(v.secret)!, v.time), v.code, v.by);
      assert.equal(steam(new Uint8Array(Buffer.from(v.secret_base64, 'base64')), v.time), v.code);
    }
  });

  it('gives the codes of expected.json for every computable vector entry', () => {
    const expected = readVector('otp/expected.json');
    const entries = new Map<string, { algorithm: OtpAlgorithm; digits: number; period?: number; type: string }>();
    for (const inp of Object.values(expected.inputs) as { entries: { secret: string; algorithm: OtpAlgorithm; digits: number; period?: number; type: string }[] }[]) {
      for (const e of inp.entries) entries.set(e.secret, e);
    }
    for (const [secret, c] of Object.entries(expected.codes) as [string, { type: string; codes: { time?: number; counter?: number; code: string; by: string }[] }][]) {
      const e = entries.get(secret)!;
      const key = base32Decode(secret)!;
      for (const x of c.codes) {
        const got = c.type === 'hotp' ? hotp(key, BigInt(x.counter!), e.algorithm, e.digits) : c.type === 'steam' ? steam(key, x.time!) : totp(key, x.time!, e.algorithm, e.digits, e.period!);
        assert.equal(got, x.code, x.by);
      }
    }
  });

  it('handles times beyond 32 bits and counters beyond 2^53 exactly', () => {
    const key = base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')!;
    assert.equal(totp(key, 20000000000n, 'SHA1', 8, 30), '65353130'); // RFC 6238 appendix B
    assert.equal(totp(key, 20000000000, 'SHA1', 8, 30), '65353130');
    assert.equal(secondsLeft(20000000000n, 30), 10);
    // 2^63-1 and 2^63-2 differ only in the last bit: a rounding implementation would give equal codes.
    assert.notEqual(hotp(key, (1n << 63n) - 1n, 'SHA1', 8), hotp(key, (1n << 63n) - 2n, 'SHA1', 8));
  });

  const oathtool = oathtoolPath();
  it('agrees with oathtool at fixed times for SHA1/256/512, 6-8 digits and several periods', { skip: oathtool ? false : 'oathtool not installed (apt-get install oathtool)' }, () => {
    let checked = 0;
    const times = [0, 59, 1111111109, 1234567890, 2000000000, 4102444800, 20000000000];
    for (const algorithm of ['SHA1', 'SHA256', 'SHA512'] as const) {
      for (const digits of [6, 7, 8]) {
        for (const period of [15, 30, 45, 60]) {
          const key = crypto.createHash('sha512').update(`${algorithm}/${digits}/${period}`).digest().subarray(0, 10 + digits * 3);
          for (const t of times) {
            // -w 2: the code at t and the next two steps, in one run.
            const r = spawnSync(oathtool!, [`--totp=${algorithm}`, '-d', String(digits), '-s', `${period}s`, '-N', `@${t}`, '-w', '2', key.toString('hex')], { encoding: 'utf8' });
            assert.equal(r.status, 0, r.stderr);
            const want = r.stdout.trim().split('\n');
            assert.equal(want.length, 3);
            want.forEach((code, k) => assert.equal(totp(new Uint8Array(key), BigInt(t) + BigInt(k * period), algorithm, digits, period), code, `${algorithm} d${digits} p${period} t${t}+${k}`));
            checked += 3;
          }
        }
      }
    }
    for (const counter of [0, 1, 9, 4294967296, 4294967301]) {
      const key = crypto.createHash('sha256').update(`hotp${counter}`).digest();
      const r = spawnSync(oathtool!, ['--hotp', '-d', '6', '-c', String(counter), key.toString('hex')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(hotp(new Uint8Array(key), BigInt(counter), 'SHA1', 6), r.stdout.trim());
      checked++;
    }
    assert.equal(checked, 3 * 3 * 4 * 7 * 3 + 5);
  });
});
