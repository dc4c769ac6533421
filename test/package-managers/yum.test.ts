// yum and dnf (4 and dnf5) as data: parsers on captured real output, the exact commands built, the exclude list as the v1 version lock.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { CommandResult } from '../../src/core/command.ts';
import { answering } from '../support/ask.ts';
import { pickVersion } from '../../src/package-managers/types.ts';
import { parseListed, parseRepoIds, repoExcludes, yumManager } from '../../src/package-managers/yum.ts';

const captured = (name: string) => readFileSync(new URL(`../fixtures/captured/${name}`, import.meta.url), 'utf8');
const ok = (stdout: string) => ({ exitCode: 0, stdout, stderr: '' });

describe('yum/dnf', () => {
  it('finds the Teleport repo id (captured), by id first, then by name', () => {
    assert.equal(parseRepoIds(captured('dnf-repolist.txt')), 'teleport');
    assert.equal(
      parseRepoIds('repo id   repo name   status\nbaseos  BaseOS  enabled\nvendor-tp  Teleport Community  enabled\n'),
      'vendor-tp',
    );
    assert.equal(parseRepoIds('repo id   repo name   status\nbaseos  BaseOS  enabled\n'), undefined);
  });
  it('lists available versions newest first (captured) and picks the exact one', () => {
    const available = parseListed(ok(captured('dnf-list-available.txt')), 'teleport-ent');
    assert.deepEqual(available, ['1.3.0_beta.1-1', '1.2.4-1', '1.2.3-1']);
    const dnf = yumManager('dnf');
    assert.equal(pickVersion(dnf, '1.3.0-beta.1', available), '1.3.0_beta.1-1');
    assert.equal(pickVersion(dnf, '9.9.9', available), undefined);
  });
  it('tells "nothing matches" from a failed listing, on dnf 4 and dnf5, and shows what dnf said (captured)', async () => {
    const available = (answer: Partial<CommandResult>) => yumManager('dnf').available(answering(answer), 'teleport-ent', undefined);
    const LIST = 'dnf -q --setopt=skip_if_unavailable=0 list --showduplicates --available teleport-ent';
    assert.deepEqual(
      await available({ exitCode: 1, stderr: 'Error: No matching Packages to list\n' }),
      { ok: true, versions: [] },
      'dnf 4',
    );
    assert.deepEqual(await available({ exitCode: 1, stderr: 'No matching packages to list\n' }), { ok: true, versions: [] }, 'dnf5');
    assert.deepEqual(await available({ exitCode: 1, stderr: 'No matches found.\n' }), { ok: true, versions: [] }, 'dnf5');
    assert.deepEqual(await available({ exitCode: 1, stderr: '' }), { ok: true, versions: [] }, 'dnf5 -q says nothing');
    const broken =
      "Errors during downloading metadata for repository 'teleport':\n  - Curl error (37): Couldn't read a file:// file for file:///nonexistent/repo/repodata/repomd.xml\n" +
      "Error: Failed to download metadata for repo 'teleport': Cannot download repomd.xml: Cannot download repodata/repomd.xml: All mirrors were tried\n";
    assert.deepEqual(await available({ exitCode: 1, stderr: broken }), {
      ok: false,
      problem:
        `${LIST} exited with status 1: Errors during downloading metadata for repository 'teleport': | - Curl error (37): Couldn't read a file:// file for file:///nonexistent/repo/repodata/repomd.xml | ` +
        "Error: Failed to download metadata for repo 'teleport': Cannot download repomd.xml: Cannot download repodata/repomd.xml: All mirrors were tried",
    });
    assert.deepEqual(
      await available({
        exitCode: 1,
        stderr: 'Failed to download metadata (baseurl: "file:///srv/nonexistent") for repository "teleport": Usable URL not found\n',
      }),
      {
        ok: false,
        problem: `${LIST} exited with status 1: Failed to download metadata (baseurl: "file:///srv/nonexistent") for repository "teleport": Usable URL not found`,
      },
      'dnf5',
    );
    assert.deepEqual(await available({ exitCode: null, failure: 'timed out after 120 s' }), {
      ok: false,
      problem: `${LIST} timed out after 120 s`,
    });
  });
  it("keeps the rollback copy with the command the host's dnf understands, asking it which it is", async () => {
    const step = async (version: string) =>
      (
        await yumManager('dnf').downloadStep(
          answering({ stdout: version }),
          { pkg: 'teleport-ent', packageVersion: '1.2.3-1', repo: 'teleport' },
          '/var/lib/teleport-upgrade/rollback',
        )
      ).argv;
    const scope = ['--disablerepo=*', '--enablerepo=teleport', '--setopt=disable_excludes=teleport'];
    assert.deepEqual(await step('dnf5 version 5.4.6.0\ndnf5 plugin API version 2.0\n'), [
      'dnf',
      '-y',
      ...scope,
      'download',
      '--destdir=/var/lib/teleport-upgrade/rollback',
      'teleport-ent-1.2.3-1',
    ]);
    assert.deepEqual(await step('4.14.0\n  Installed: dnf-0:4.14.0-3.noarch\n'), [
      'dnf',
      '-y',
      ...scope,
      'reinstall',
      '--downloadonly',
      '--downloaddir=/var/lib/teleport-upgrade/rollback',
      'teleport-ent-1.2.3-1',
    ]);
  });
  it('scopes every command to the Teleport repo and downgrades with downgrade (yum 3 cannot through install)', () => {
    const yum = yumManager('yum');
    const scope = ['--disablerepo=*', '--enablerepo=teleport', '--setopt=disable_excludes=teleport'];
    assert.deepEqual(yum.refreshStep('teleport').argv, ['yum', '-y', '--setopt=skip_if_unavailable=0', ...scope, 'makecache']);
    assert.deepEqual(
      yum
        .installSteps({ pkg: 'teleport-ent', packageVersion: '1.2.3-1', held: false, downgrade: true, repo: 'teleport' })
        .map((s) => s.argv),
      [['yum', '-y', ...scope, 'downgrade', 'teleport-ent-1.2.3-1']],
    );
    assert.deepEqual(
      yum
        .installSteps({ pkg: 'teleport-ent', packageVersion: '1.2.4-1', held: false, downgrade: false, repo: undefined })
        .map((s) => s.argv),
      [['yum', '-y', 'install', 'teleport-ent-1.2.4-1']],
    );
  });
});

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
