import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { goModeFromPosix, posixFromGoMode, nodeTypeFromGoMode, goModeTypeBits, MODE_DIR } from '../../src/core/format/mode.js';

// §12.4 examples: [st_mode, Go mode, node type]
const EXAMPLES: [number, number, Parameters<typeof posixFromGoMode>[1]][] = [
  [0o040755, 2147484141, 'dir'],
  [0o041777, 2148532735, 'dir'],
  [0o100644, 420, 'file'],
  [0o104755, 8389101, 'file'],
  [0o120777, 134218239, 'symlink'],
  [0o010644, 33554852, 'fifo'],
  [0o060644, 67109284, 'dev'],
  [0o020644, 69206436, 'chardev'],
  [0o100000, 0, 'file'],
  [0o140755, 0x01000000 | 0o755, 'socket'],
  [0o102644, 0x00400000 | 0o644, 'file'],
];

test('POSIX <-> Go FileMode, spec §12.4 examples', () => {
  for (const [st, go, type] of EXAMPLES) {
    assert.equal(goModeFromPosix(st), go, st.toString(8));
    assert.equal(posixFromGoMode(go, type), st, String(go));
    assert.equal(posixFromGoMode(go), st, String(go));
    assert.equal(nodeTypeFromGoMode(go), type);
    assert.equal((go & ~(0x00d00000 | 0o777)) >>> 0, goModeTypeBits(type!));
  }
});

test('old trees: dir mode without the dir bit, type from the node', () => {
  assert.equal(posixFromGoMode(493, 'dir'), 0o040755);
  assert.equal(posixFromGoMode(493), 0o100755);
  assert.equal(MODE_DIR, 2147483648);
  assert.equal(posixFromGoMode(0x00080000 | 0o644, 'irregular'), 0o644);
});
