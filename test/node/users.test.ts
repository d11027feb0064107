import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseIdFile, UserDb, systemUsers } from '../../src/node/users.js';
import { tempDir } from '../helpers/paths.js';

describe('users', () => {
  it('parses passwd/group like Go: first match wins, comments and NIS lines skipped', () => {
    const t = parseIdFile('# c\n+nis::0:0\nroot:x:0:0:root:/root:/bin/bash\nalias:x:0:0::/:/bin/sh\n  bob:x:1000:1000::/home/bob:/bin/sh\nbad:x:notanumber:1\n\n');
    assert.equal(t.byId.get(0), 'root');
    assert.equal(t.byId.get(1000), 'bob');
    assert.equal(t.byName.get('alias'), 0);
    assert.equal(t.byId.size, 2);
  });

  it('looks up names both ways and caches', () => {
    const d = tempDir();
    const pw = path.join(d, 'passwd');
    const gr = path.join(d, 'group');
    fs.writeFileSync(pw, 'alice:x:1001:1001::/:/bin/sh\n');
    fs.writeFileSync(gr, 'staff:x:50:alice\n');
    const db = new UserDb({ passwd: pw, group: gr });
    assert.equal(db.userName(1001), 'alice');
    assert.equal(db.userName(7), '');
    assert.equal(db.groupName(50), 'staff');
    assert.equal(db.uidOf('alice'), 1001);
    assert.equal(db.gidOf('staff'), 50);
    fs.writeFileSync(pw, 'carol:x:1001:1001::/:/bin/sh\n');
    assert.equal(db.userName(1001), 'alice', 'cached');
    assert.equal(new UserDb({ passwd: path.join(d, 'none') }).userName(0), '');
  });

  it('reads the system files', () => {
    assert.equal(systemUsers().userName(0), 'root');
    assert.equal(systemUsers().uidOf('root'), 0);
  });
});
