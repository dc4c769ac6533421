// apt as data: parsers on captured real output, and the exact commands the updater builds.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { CommandResult } from '../../src/core/command.ts';
import { answering } from '../support/ask.ts';
import * as apt from '../../src/package-managers/apt.ts';

const captured = (name: string) => readFileSync(new URL(`../fixtures/captured/${name}`, import.meta.url), 'utf8');
const locations = { etc: '/etc/apt/', list: '/etc/apt/sources.list', parts: '/etc/apt/sources.list.d/' };

describe('dpkg-query', () => {
  it('reads version and hold from a held package (captured)', () => {
    assert.deepEqual(apt.parseInstalled(captured('dpkg-query-held.txt')), [
      { name: 'teleport-ent', packageVersion: '1.2.4', semver: '1.2.4', held: true, configured: true },
    ]);
  });
  it('skips removed packages and flags interrupted ones', () => {
    const out =
      'teleport\tdeinstall ok config-files\t1.2.3\nteleport-ent\tinstall ok half-configured\t1:17.4.8-1\nteleport-ent-fips\tunknown ok not-installed\t\n';
    assert.deepEqual(apt.parseInstalled(out), [
      { name: 'teleport-ent', packageVersion: '1:17.4.8-1', semver: '17.4.8', held: false, configured: false },
    ]);
  });
  it('treats exit 1 (some packages unknown) as an answer and anything else as none', () => {
    assert.equal(apt.databaseAnswered({ exitCode: 1, stdout: '', stderr: 'dpkg-query: no packages found matching teleport' }), true);
    assert.equal(apt.databaseAnswered({ exitCode: 2, stdout: '', stderr: 'dpkg-query: error: parsing file' }), false);
    assert.equal(apt.databaseAnswered({ exitCode: null, stdout: '', stderr: '', failure: 'spawn dpkg-query ENOENT' }), false);
  });
});

describe('apt sources', () => {
  it('parses apt-config shell (captured) and its quoting', () => {
    assert.deepEqual(apt.parseSourceLocations(captured('apt-config-shell.txt')), locations);
    assert.equal(apt.parseSourceLocations("ETC='/e/it'\\''s/'\nLIST='/l'\nPARTS='/p/'\n")?.etc, "/e/it's/");
    assert.equal(apt.parseSourceLocations(''), undefined);
  });
  it('prefers teleport.list, then any file whose URI mentions Teleport', () => {
    const official = {
      path: '/etc/apt/sources.list.d/teleport.list',
      text: 'deb [signed-by=/usr/share/keyrings/teleport-archive-keyring.asc] https://apt.releases.teleport.dev/ubuntu jammy stable/v17\n',
    };
    const mirror = {
      path: '/etc/apt/sources.list.d/mirror.list',
      text: '# internal mirror\ndeb https://mirror.corp.example/teleport-apt jammy stable/v17\n',
    };
    const debian = { path: '/etc/apt/sources.list', text: 'deb http://deb.debian.org/debian bookworm main\n' };
    assert.equal(apt.findTeleportSource(locations, [debian, mirror, official]), 'sources.list.d/teleport.list');
    assert.equal(apt.findTeleportSource(locations, [debian, mirror]), 'sources.list.d/mirror.list');
    assert.equal(apt.findTeleportSource(locations, [debian]), undefined);
    assert.equal(
      apt.findTeleportSource(locations, [{ path: '/etc/apt/sources.list.d/teleport.list', text: '# disabled\n' }, debian]),
      undefined,
    );
  });
  it('reads deb822 .sources files and skips disabled stanzas', () => {
    const enabled = {
      path: '/etc/apt/sources.list.d/vendor.sources',
      text: 'Types: deb\nURIs: https://apt.releases.teleport.dev/debian\nSuites: bookworm\nComponents: stable/v17\n',
    };
    const disabled = {
      path: '/etc/apt/sources.list.d/old.sources',
      text: 'Types: deb\nURIs: https://apt.releases.teleport.dev/debian\nEnabled: no\n',
    };
    assert.equal(apt.findTeleportSource(locations, [disabled, enabled]), 'sources.list.d/vendor.sources');
  });
  it('refreshes only the Teleport source, keeping other lists; all sources when none was found', () => {
    assert.deepEqual(apt.refreshStep('sources.list.d/teleport.list').argv, [
      'apt-get',
      'update',
      '-o',
      'Dir::Etc::sourcelist=sources.list.d/teleport.list',
      '-o',
      'Dir::Etc::sourceparts=-',
      '-o',
      'APT::Get::List-Cleanup=0',
    ]);
    assert.deepEqual(apt.refreshStep(undefined).argv, ['apt-get', 'update']);
  });
});

describe('apt-cache madison', () => {
  it('lists versions in preference order (captured)', async () => {
    assert.deepEqual(apt.parseAvailable(captured('apt-cache-madison.txt')), ['1.2.4', '1.2.3']);
    const available = (answer: Partial<CommandResult>) => apt.aptManager.available(answering(answer), 'teleport-ent', undefined);
    assert.deepEqual(await available({ exitCode: 0, stdout: captured('apt-cache-madison.txt') }), {
      ok: true,
      versions: ['1.2.4', '1.2.3'],
    });
    assert.deepEqual(
      await available({
        exitCode: 100,
        stderr:
          'E: Problem with MergeList /var/lib/apt/lists/x_Packages\nE: The package lists or status file could not be parsed or opened.\n',
      }),
      {
        ok: false,
        problem:
          'apt-cache madison teleport-ent exited with status 100: E: Problem with MergeList /var/lib/apt/lists/x_Packages | E: The package lists or status file could not be parsed or opened.',
      },
    );
  });
});

describe('installSteps', () => {
  it('installs the exact version non-interactively, keeping config files', () => {
    const [install, ...rest] = apt.installSteps({ pkg: 'teleport-ent', packageVersion: '17.4.8', held: false });
    assert.deepEqual(install?.argv, [
      'apt-get',
      'install',
      '-y',
      '--allow-downgrades',
      '-o',
      'DPkg::Lock::Timeout=120',
      '-o',
      'Dpkg::Options::=--force-confdef',
      '-o',
      'Dpkg::Options::=--force-confold',
      'teleport-ent=17.4.8',
    ]);
    assert.deepEqual(install?.env, { DEBIAN_FRONTEND: 'noninteractive' });
    assert.deepEqual(rest, []);
  });
  it('goes through a hold and always puts it back', () => {
    const steps = apt.installSteps({ pkg: 'teleport-ent', packageVersion: '17.4.8', held: true });
    assert.ok(steps[0]?.argv.includes('--allow-change-held-packages'));
    assert.deepEqual(steps[1], {
      argv: ['apt-mark', 'hold', 'teleport-ent'],
      timeoutMs: 30_000,
      purpose: 'put the hold on teleport-ent back',
      always: true,
    });
  });
});
