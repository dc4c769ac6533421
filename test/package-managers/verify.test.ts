// dpkg --verify and rpm -V output (captured): what counts as damage.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseVerify } from '../../src/package-managers/verify.ts';

describe('parseVerify', () => {
  it('reports truncated, altered and missing files (dpkg and rpm, captured)', () => {
    assert.deepEqual(parseVerify('??5??????   /usr/local/bin/teleport\n'), ['/usr/local/bin/teleport']);
    assert.deepEqual(parseVerify('missing     /usr/local/bin/teleport\n'), ['/usr/local/bin/teleport']);
    assert.deepEqual(parseVerify('S.5....T.    /usr/local/bin/teleport\n'), ['/usr/local/bin/teleport']);
  });
  it('leaves config files, times and modes alone, and reads nothing into empty output', () => {
    assert.deepEqual(
      parseVerify(
        '??5?????? c /etc/teleport.yaml\nS.5....T.  c /etc/teleport.yaml\n.......T.    /usr/local/bin/teleport\n.M.......    /usr/local/bin/tctl\n',
      ),
      [],
    );
    assert.deepEqual(parseVerify(''), []);
  });
});
