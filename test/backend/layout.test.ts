import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkHandle, dirPath, filePath, initDirs, isValidId } from '../../src/core/backend/layout.js';
import { isCofferError } from '../../src/core/errors.js';

const ID = 'abcd' + '0'.repeat(60);

describe('layout', () => {
  it('maps handles to restic paths', () => {
    assert.equal(filePath({ type: 'config', name: '' }), 'config');
    assert.equal(filePath({ type: 'data', name: ID }), `data/ab/${ID}`);
    for (const t of ['keys', 'locks', 'snapshots', 'index'] as const) assert.equal(filePath({ type: t, name: ID }), `${t}/${ID}`);
    assert.equal(dirPath('data'), 'data');
    assert.equal(dirPath('config'), '');
  });

  it('lists the folders restic init creates', () => {
    const d = initDirs();
    assert.equal(d.length, 5 + 256);
    assert.deepEqual(d.slice(0, 5).sort(), ['data', 'index', 'keys', 'locks', 'snapshots']);
    assert.ok(d.includes('data/00') && d.includes('data/ff') && d.includes('data/a7'));
    assert.equal(new Set(d).size, d.length);
    assert.ok(!d.includes('tmp'));
  });

  it('accepts only 64 lowercase hex names', () => {
    assert.ok(isValidId(ID));
    assert.ok(!isValidId(ID.toUpperCase()));
    assert.ok(!isValidId(ID.slice(1)));
    assert.ok(!isValidId(ID + '0'));
    assert.ok(!isValidId('.tmp-' + ID.slice(5)));
    assert.ok(!isValidId(ID.slice(0, 63) + 'g'));
    assert.throws(() => checkHandle({ type: 'data', name: '../x' }), (e) => isCofferError(e, 'internal'));
    assert.throws(() => checkHandle({ type: 'config', name: ID }), (e) => isCofferError(e, 'internal'));
    checkHandle({ type: 'config', name: '' });
  });
});
