// The rpm database as the rpm managers share it, and which of yum/dnf and zypper a host uses: parsers on captured real output.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { chooseRpmManager, osIds } from '../../src/package-managers/choose-rpm-manager.ts';
import { parseRpmInstalled, rpmRepairSteps } from '../../src/package-managers/rpm.ts';
import { rpmToSemver } from '../../src/version/package-version.ts';
import { yumManager } from '../../src/package-managers/yum.ts';
import { zypperManager } from '../../src/package-managers/zypper.ts';

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
