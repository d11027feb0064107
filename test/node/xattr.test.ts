import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tempDir } from '../helpers/paths.js';
import { nameKey, parseDump, readDirXattrs, readXattrs, writeDirXattrs, xattrSupport } from '../../src/node/xattr.js';

// In CI the attr package is installed; elsewhere a missing tool only skips.
const skip = xattrSupport() || process.env.CI ? false : 'getfattr/setfattr not installed';

describe('xattr', () => {
  it('parses getfattr dumps with escaped names and value encodings', () => {
    const dump = Buffer.concat([
      Buffer.from('# file: ./n'),
      Buffer.from([0xfe]),
      Buffer.from('\\012x y=\\134z\nuser.a=0sAP8K\nuser.e=0s\nuser.h=0x6869\nuser.t="a\\012b"\n\n# file: ./none\n\n'),
    ]);
    const m = parseDump(dump, true);
    const attrs = m.get(nameKey(Buffer.concat([Buffer.from('n'), Buffer.from([0xfe]), Buffer.from('\nx y=\\z')])));
    assert.ok(attrs, [...m.keys()].join(','));
    assert.deepEqual(attrs.map((a) => [a.name, Buffer.from(a.value).toString('hex')]), [
      ['user.a', '00ff0a'],
      ['user.e', ''],
      ['user.h', '6869'],
      ['user.t', '610a62'],
    ]);
    assert.equal(m.size, 1, 'entries without attributes are absent');
  });

  it('writes and reads attributes of raw-named entries in one call per folder', { skip }, async () => {
    const d = Buffer.from(tempDir());
    const names = [Buffer.from('plain'), Buffer.from([0x6e, 0xfe, 0x0a, 0x3d, 0x5c]), Buffer.from('none')];
    for (const n of names) fs.writeFileSync(Buffer.concat([d, Buffer.from('/'), n]), 'x');
    const v = new Uint8Array([0, 255, 10, 61]);
    await writeDirXattrs(d, [
      { name: names[0]!, attrs: [{ name: 'user.one', value: v }] },
      { name: names[1]!, attrs: [{ name: 'user.a', value: new Uint8Array(0) }, { name: 'user.b', value: v }] },
      { name: names[2]!, attrs: [] },
    ]);
    const m = await readDirXattrs(d);
    assert.equal(m.size, 2);
    assert.deepEqual(m.get(nameKey(names[0]!)), [{ name: 'user.one', value: v }]);
    assert.deepEqual(m.get(nameKey(names[1]!)), [{ name: 'user.a', value: new Uint8Array(0) }, { name: 'user.b', value: v }]);
    assert.deepEqual(await readXattrs(Buffer.concat([d, Buffer.from('/'), names[1]!])), m.get(nameKey(names[1]!)));
    assert.deepEqual(await readXattrs(Buffer.concat([d, Buffer.from('/none')])), []);
  });
});
