// yum and dnf: the repository's exclude list as the v1 version lock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { repoExcludes, yumManager } from '../../src/package-managers/yum.ts';
import { answering } from '../support/ask.ts';

describe('the yum exclude as the v1 version lock', () => {
  it('reads the exclude list of dnf 4 and dnf5 repoinfo (captured) and matches its globs', async () => {
    const repoinfo =
      'Repo-id            : teleport\nRepo-exclude       : teleport-ent, tctl*, teleport-foo\nRepo-filename      : /etc/yum.repos.d/teleport.repo\n';
    assert.deepEqual(repoExcludes(repoinfo), ['teleport-ent', 'tctl*', 'teleport-foo']);
    assert.deepEqual(
      repoExcludes('Repo-exclude       : a, b,\n                   : c\nRepo-filename      : x\n'),
      ['a', 'b', 'c'],
      'a list dnf continued on the next line',
    );
    const dnf = yumManager('dnf');
    const asked = answering({ stdout: 'Repo-exclude       : teleport-*\n' });
    assert.equal(await dnf.held(asked, undefined, 'teleport-ent', 'teleport'), true);
    assert.deepEqual(asked.asked, ['dnf -q repoinfo teleport']);
    const none = answering();
    assert.equal(await dnf.held(none, undefined, 'teleport-ent', undefined), false);
    assert.deepEqual(none.asked, [], 'without the repository it cannot be asked');
    const held = (stdout: string) => dnf.held(answering({ stdout }), undefined, 'teleport-ent', 'teleport');
    assert.equal(await held('Repo-exclude       : teleport-ent-fips\n'), false);
    assert.equal(await held('Repo-id            : teleport\n'), false);
    assert.equal(
      await held('Repo ID              : teleport\nExclude packages     : teleport-*\nMetadata expire      : 172800 seconds\n'),
      true,
      'dnf5 (captured)',
    );
  });
});
