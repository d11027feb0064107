/**
 * Signature V4 against AWS's published S3 examples ("Signature Calculations for the
 * Authorization Header", examples with the AKIAIOSFODNN7EXAMPLE key on 2013-05-24), and the
 * parsing of restic's S3 locations and of AWS profile files.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { signV4, EMPTY_SHA256, encodeS3Key } from '../../src/core/backend/sigv4.js';
import { S3Backend, parseS3Location } from '../../src/core/backend/s3.js';
import { s3Settings, parseIni } from '../../src/node/s3-credentials.js';
import { tempDir } from '../helpers/paths.js';

const creds = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const date = new Date(Date.UTC(2013, 4, 24, 0, 0, 0));
const host = 'examplebucket.s3.amazonaws.com';

describe('AWS Signature V4 (AWS documentation examples)', () => {
  it('GET /test.txt with a Range header', () => {
    const s = signV4({ method: 'GET', host, path: '/test.txt', headers: { Range: 'bytes=0-9' }, payloadHash: EMPTY_SHA256, region: 'us-east-1', date }, creds);
    assert.equal(
      s.canonicalRequest,
      'GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    assert.equal(s.stringToSign, 'AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972');
    assert.equal(s.signature, 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    assert.equal(
      s.headers['authorization'],
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    assert.equal(s.headers['host'], undefined, 'fetch sets Host itself');
  });

  it('PUT /test$file.text with a body hash and extra headers', () => {
    const s = signV4(
      {
        method: 'PUT',
        host,
        path: '/' + encodeS3Key('test$file.text'),
        headers: { Date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
        payloadHash: '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
        region: 'us-east-1',
        date,
      },
      creds,
    );
    assert.match(s.canonicalRequest, /^PUT\n\/test%24file\.text\n\n/);
    assert.equal(s.signature, '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('GET ?lifecycle and a listing with query parameters', () => {
    const lc = signV4({ method: 'GET', host, path: '/', query: [['lifecycle', '']], payloadHash: EMPTY_SHA256, region: 'us-east-1', date }, creds);
    assert.equal(lc.signature, 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
    const ls = signV4({ method: 'GET', host, path: '/', query: [['prefix', 'J'], ['max-keys', '2']], payloadHash: EMPTY_SHA256, region: 'us-east-1', date }, creds);
    assert.match(ls.canonicalRequest, /\nmax-keys=2&prefix=J\n/);
    assert.equal(ls.signature, '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('adds a session token as a signed header', () => {
    const s = signV4({ method: 'GET', host, path: '/x', payloadHash: EMPTY_SHA256, region: 'eu-west-1', date }, { ...creds, sessionToken: 'TOKEN' });
    assert.equal(s.headers['x-amz-security-token'], 'TOKEN');
    assert.match(s.headers['authorization']!, /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/);
    assert.match(s.headers['authorization']!, /\/eu-west-1\/s3\//);
    assert.ok(!s.headers['authorization']!.includes(creds.secretAccessKey));
  });
});

describe('S3 locations and settings', () => {
  it("parses restic's s3: forms", () => {
    assert.deepEqual(parseS3Location('http://127.0.0.1:7480/test/repo/sub'), { endpoint: 'http://127.0.0.1:7480', bucket: 'test', prefix: 'repo/sub' });
    assert.deepEqual(parseS3Location('https://s3.amazonaws.com/bucket'), { endpoint: 'https://s3.amazonaws.com', bucket: 'bucket', prefix: '' });
    assert.deepEqual(parseS3Location('s3.example.org/b/p/'), { endpoint: 'https://s3.example.org', bucket: 'b', prefix: 'p' });
    assert.deepEqual(parseS3Location('//host:9000/b/p'), { endpoint: 'https://host:9000', bucket: 'b', prefix: 'p' });
    assert.throws(() => parseS3Location('http://host-only'), /invalid S3 location/);
  });

  it('chooses addressing and region; location holds no secret', async () => {
    const seen: string[] = [];
    const fetch = async (url: string, init?: RequestInit) => {
      seen.push(`${url} ${(init?.headers as Record<string, string>)['authorization']?.split(',')[0]}`);
      return new Response(null, { status: 404 });
    };
    const aws = new S3Backend({ endpoint: 'https://s3.eu-central-1.amazonaws.com', bucket: 'bk', prefix: 'r', credentials: creds, fetch });
    const self = new S3Backend({ endpoint: 'http://127.0.0.1:7480', bucket: 'bk', prefix: '', credentials: creds, fetch });
    await assert.rejects(aws.stat({ type: 'config', name: '' }), { code: 'not-found' });
    await assert.rejects(self.stat({ type: 'keys', name: 'a'.repeat(64) }), { code: 'not-found' });
    assert.equal(seen[0], 'https://bk.s3.eu-central-1.amazonaws.com/r/config AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/' + new Date().toISOString().slice(0, 10).replace(/-/g, '') + '/eu-central-1/s3/aws4_request');
    assert.match(seen[1]!, new RegExp(`^http://127\\.0\\.0\\.1:7480/bk/keys/${'a'.repeat(64)} AWS4-HMAC-SHA256 Credential=\\S+/us-east-1/s3/aws4_request$`));
    assert.equal(self.location, 's3:http://127.0.0.1:7480/bk');
    assert.ok(!aws.location.includes(creds.secretAccessKey));
  });

  it('maps S3 errors to contract codes without leaking the secret', async () => {
    const answers: [number, string][] = [
      [403, '<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>'],
      [503, '<Error><Code>SlowDown</Code></Error>'],
      [400, '<Error><Code>RequestTimeout</Code></Error>'],
      [403, '<Error><Code>QuotaExceeded</Code></Error>'],
    ];
    const codes: string[] = [];
    for (const [status, body] of answers) {
      const b = new S3Backend({ endpoint: 'http://h:1', bucket: 'b', prefix: '', credentials: creds, fetch: async () => new Response(body, { status }) });
      await assert.rejects(b.get({ type: 'config', name: '' }), (e: Error & { code: string }) => {
        assert.ok(!e.message.includes(creds.secretAccessKey));
        codes.push(e.code);
        return true;
      });
    }
    assert.deepEqual(codes, ['permission', 'transient', 'transient', 'no-space']);
    const down = new S3Backend({ endpoint: 'http://h:1', bucket: 'b', prefix: '', credentials: creds, fetch: async () => { throw new TypeError('fetch failed'); } });
    await assert.rejects(down.stat({ type: 'config', name: '' }), { code: 'transient' });
  });

  it('reads credentials from the environment, else from AWS profile files', () => {
    const dir = tempDir('coffer-aws-');
    fs.writeFileSync(path.join(dir, 'credentials'), '[default]\naws_access_key_id = DEF\naws_secret_access_key = defsecret\n\n[work]\naws_access_key_id=WORK\naws_secret_access_key=worksecret\naws_session_token = tok\n');
    fs.writeFileSync(path.join(dir, 'config'), '[default]\nregion = eu-west-1\n[profile work]\nregion=ap-south-1\n');
    const files = { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'), AWS_CONFIG_FILE: path.join(dir, 'config'), HOME: dir };
    assert.deepEqual(s3Settings({ ...files, AWS_ACCESS_KEY_ID: 'ENV', AWS_SECRET_ACCESS_KEY: 'envsecret', AWS_DEFAULT_REGION: 'us-west-2' }), {
      credentials: { accessKeyId: 'ENV', secretAccessKey: 'envsecret' },
      region: 'us-west-2',
    });
    assert.deepEqual(s3Settings({ ...files }), { credentials: { accessKeyId: 'DEF', secretAccessKey: 'defsecret' }, region: 'eu-west-1' });
    assert.deepEqual(s3Settings({ ...files, AWS_PROFILE: 'work', AWS_REGION: 'ca-central-1', COFFER_S3_BUCKET_LOOKUP: 'path' }), {
      credentials: { accessKeyId: 'WORK', secretAccessKey: 'worksecret', sessionToken: 'tok' },
      region: 'ca-central-1',
      pathStyle: true,
    });
    assert.throws(() => s3Settings({ ...files, AWS_PROFILE: 'nope' }), { code: 'usage' });
    assert.equal(parseIni('# c\n[a]\nk = v = w\n').get('a')?.get('k'), 'v = w');
  });
});
