// yum/dnf and zypper as data: parsers on captured real output, and the exact commands the updater builds.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { CommandResult } from '../../src/core/command.ts';
import { answering } from '../support/ask.ts';
import { chooseRpmManager, osIds } from '../../src/package-managers/choose-rpm-manager.ts';
import { parseRpmInstalled, rpmRepairSteps } from '../../src/package-managers/rpm.ts';
import { rpmToSemver } from '../../src/version/package-version.ts';
import { pickVersion } from '../../src/package-managers/types.ts';
import { parseListed, parseRepoIds, yumManager } from '../../src/package-managers/yum.ts';
import { parseLocks, parseRepoAliases, parseSolvables, zypperManager } from '../../src/package-managers/zypper.ts';

const captured = (name: string) => readFileSync(new URL(`../fixtures/captured/${name}`, import.meta.url), 'utf8');
const ok = (stdout: string) => ({ exitCode: 0, stdout, stderr: '' });

describe('rpm database', () => {
  it('reads installed packages and skips "not installed" lines (captured)', () => {
    assert.deepEqual(parseRpmInstalled({ exitCode: 1, stdout: captured('rpm-query.txt'), stderr: '' }), [
      { name: 'teleport-ent', packageVersion: '1.2.3-1', semver: '1.2.3', held: false, configured: true },
    ]);
  });
  it('reads two versions of one package as an interrupted upgrade, and drops only the stale database entry', () => {
    const [installed] = parseRpmInstalled(ok('teleport-ent\t(none):1.2.3-1\nteleport-ent\t(none):1.2.4-1\n')) ?? [];
    assert.deepEqual(installed, {
      name: 'teleport-ent',
      packageVersion: '1.2.4-1',
      semver: '1.2.4',
      held: false,
      configured: false,
      stale: ['1.2.3-1'],
    });
    assert.deepEqual(
      rpmRepairSteps(installed!).map((s) => s.argv),
      [['rpm', '-e', '--justdb', '--nodeps', 'teleport-ent-1.2.3-1']],
    );
  });
  it('cannot answer when rpm is missing or its database is broken', () => {
    assert.equal(parseRpmInstalled({ exitCode: null, stdout: '', stderr: '', failure: 'spawn rpm ENOENT' }), undefined);
    assert.equal(
      parseRpmInstalled({ exitCode: 1, stdout: '', stderr: 'error: cannot open Packages database in /var/lib/rpm\n' }),
      undefined,
    );
  });
  it('maps rpm versions to semver', () => {
    assert.equal(rpmToSemver('17.4.8-1'), '17.4.8');
    assert.equal(rpmToSemver('1:17.4.8-1.el9'), '17.4.8');
    assert.equal(rpmToSemver('18.0.0_beta.1-1'), '18.0.0-beta.1');
    assert.equal(rpmToSemver('garbage-1'), undefined);
  });
  it('spells an unresolved semver target the rpm way', () => {
    assert.equal(yumManager('dnf').fromSemver('1.3.0-beta.1'), '1.3.0_beta.1');
    assert.equal(zypperManager.fromSemver('1.2.4'), '1.2.4');
  });
  it('chooses the manager of an rpm host: the Teleport repository, then the distribution, then what is installed', () => {
    const only = { dnf: false, yum: false, zypper: false };
    const sles = 'NAME="SLES"\nVERSION="15-SP5"\nID="sles"\nID_LIKE="suse"\n';
    const rocky = 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n';
    const opensuseLike = 'ID=myos\nID_LIKE="opensuse suse"\n';
    const cases: Array<[string, Parameters<typeof chooseRpmManager>[0], string, RegExp]> = [
      [
        'only zypper',
        { has: { ...only, zypper: true }, repo: {}, osRelease: rocky },
        'zypper',
        /zypper is the only rpm package manager installed/,
      ],
      ['only dnf', { has: { ...only, dnf: true }, repo: {}, osRelease: sles }, 'yum', /dnf is the only rpm package manager installed/],
      ['only yum', { has: { ...only, yum: true }, repo: {}, osRelease: undefined }, 'yum', /yum is the only/],
      [
        'both, the Teleport repository is a yum repo',
        { has: { dnf: true, yum: true, zypper: true }, repo: { yum: 'teleport' }, osRelease: sles },
        'yum',
        /only dnf's repository configuration has the Teleport repository \(teleport\)/,
      ],
      [
        'both, the Teleport repository is a zypper repo',
        { has: { dnf: true, yum: false, zypper: true }, repo: { zypper: 'teleport-stable' }, osRelease: rocky },
        'zypper',
        /only zypper's repository configuration has the Teleport repository \(teleport-stable\)/,
      ],
      [
        'both repositories: SLES by its ID',
        { has: { dnf: true, yum: false, zypper: true }, repo: { yum: 't', zypper: 't' }, osRelease: sles },
        'zypper',
        /the distribution is sles/,
      ],
      [
        'no repository: Rocky by its ID',
        { has: { dnf: true, yum: false, zypper: true }, repo: {}, osRelease: rocky },
        'yum',
        /the distribution is rocky/,
      ],
      [
        'an unknown ID like openSUSE',
        { has: { dnf: true, yum: false, zypper: true }, repo: {}, osRelease: opensuseLike },
        'zypper',
        /the distribution is opensuse/,
      ],
      [
        'nothing tells',
        { has: { dnf: true, yum: false, zypper: true }, repo: {}, osRelease: 'ID=debian\n' },
        'yum',
        /neither their repositories nor \/etc\/os-release tell .* using dnf/,
      ],
    ];
    for (const [name, facts, installer, rule] of cases) {
      const choice = chooseRpmManager(facts);
      assert.equal(choice.installer, installer, name);
      assert.match(choice.rule, rule, name);
    }
    assert.deepEqual(osIds(rocky), ['rocky', 'rhel', 'centos', 'fedora']);
  });
});

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

describe('zypper', () => {
  it('finds the repository alias, the locks and the editions (captured)', () => {
    assert.equal(parseRepoAliases(captured('zypper-repos.xml')), 'teleport');
    assert.deepEqual(parseLocks(captured('zypper-locks.xml')), ['teleport-ent']);
    assert.deepEqual(parseSolvables(captured('zypper-search.xml'), 'teleport-ent', undefined), ['1.3.0_beta.1-1', '1.2.4-1', '1.2.3-1']);
    assert.deepEqual(parseSolvables(captured('zypper-search.xml'), 'teleport', undefined), []);
  });
  it('tells "nothing found" (104) from a search that skipped a broken repository (106), and shows its messages (captured)', async () => {
    const available = (answer: Partial<CommandResult>) => zypperManager.available(answering(answer), 'teleport-ent', undefined);
    assert.deepEqual(await available({ exitCode: 104 }), { ok: true, versions: [] });
    assert.deepEqual(await available({ exitCode: 0, stdout: captured('zypper-search.xml') }), {
      ok: true,
      versions: ['1.3.0_beta.1-1', '1.2.4-1', '1.2.3-1'],
    });
    assert.deepEqual(await available({ exitCode: 106, stdout: captured('zypper-search-repo-skipped.xml') }), {
      ok: false,
      problem:
        "zypper --non-interactive --xmlout search --details --match-exact --type package teleport-ent exited with status 106: Problem retrieving files from 'teleport'. | Specified path '/nonexistent/repo' is not a directory: file:/nonexistent/repo | " +
        "Skipping repository 'teleport' because of the above error. | Some of the repositories have not been refreshed because of an error.",
    });
  });
  it('asks without waiting for the zypp lock first, naming its holder, then waits within the bound', async () => {
    const locked = {
      exitCode: 7,
      stdout:
        '<?xml version=\'1.0\'?>\n<stream>\n<message type="error">System management is locked by the application with pid 4711 (zypper).\nClose this application before trying again.</message>\n</stream>\n',
    };
    const ask = answering(locked, { exitCode: 104 });
    assert.deepEqual(await zypperManager.available(ask, 'teleport-ent', undefined), { ok: true, versions: [] });
    assert.equal(ask.asked.length, 2);
    assert.match(
      ask.warnings[0] ?? '',
      /^zypper: System management is locked by the application with pid 4711 \(zypper\)\. .*Waiting for it, within the bounds\.$/,
    );
    const free = answering({ exitCode: 104 });
    await zypperManager.available(free, 'teleport-ent', undefined);
    assert.deepEqual([free.asked.length, free.warnings], [1, []], 'a free lock costs no second query');
  });
  it('lifts a lock for the install, always restores it, and never lets a downgrade be a silent no-op', () => {
    const steps = zypperManager.installSteps({
      pkg: 'teleport-ent',
      packageVersion: '1.2.3-1',
      held: true,
      downgrade: true,
      repo: 'teleport',
    });
    assert.deepEqual(
      steps.map((s) => [s.argv.join(' '), s.always ?? false]),
      [
        ['zypper --non-interactive removelock teleport-ent', false],
        ['zypper --non-interactive install --oldpackage --download-in-advance --repo teleport teleport-ent=1.2.3-1', false],
        ['zypper --non-interactive addlock teleport-ent', true],
      ],
    );
    assert.equal(steps[1]?.env?.ZYPP_LOCK_TIMEOUT, '120');
    // The first step that takes the zypp lock asks without waiting, so a held lock's holder is named, then waits.
    assert.deepEqual(
      [steps[0]?.env?.ZYPP_LOCK_TIMEOUT, steps[0]?.fallback?.env?.ZYPP_LOCK_TIMEOUT, steps[0]?.fallbackOn],
      ['0', '120', [7]],
    );
  });
});
