// End to end on real dnf (as yum) and real zypper: the same behaviours as on apt, against per-test rpm roots. Each
// manager's suite is a test file of its own (rpm-dnf.test.ts, rpm-zypper.test.ts), so the two run side by side.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { existsSync } from 'node:fs';
import { FIXTURE_BIN, killRunWhen, openWindow, runWhileLocked, sandboxPerTest, sandboxState, type Sandbox } from '../support/sandbox.ts';
import { rpmMissing } from '../support/tools.ts';
import { pingBody } from '../support/version-server.ts';

const missing = await rpmMissing();

const EXPECTED = {
  dnf: {
    refresh: [
      'dnf',
      '-y',
      '--setopt=skip_if_unavailable=0',
      '--disablerepo=*',
      '--enablerepo=teleport',
      '--setopt=disable_excludes=teleport',
      'makecache',
    ],
    install: [
      'dnf',
      '-y',
      '--disablerepo=*',
      '--enablerepo=teleport',
      '--setopt=disable_excludes=teleport',
      'install',
      'teleport-ent-1.2.4-1',
    ],
  },
  zypper: {
    refresh: ['zypper', '--non-interactive', 'refresh', 'teleport'],
    install: [
      'zypper',
      '--non-interactive',
      'install',
      '--oldpackage',
      '--download-in-advance',
      '--repo',
      'teleport',
      'teleport-ent=1.2.4-1',
    ],
  },
} as const;

export const rpmHostsSuite = (kind: 'dnf' | 'zypper'): void => {
  describe(`${kind} hosts`, { skip: missing, concurrency: 2 }, () => {
    const { withSandbox, fixtures } = sandboxPerTest({ before, after }, { rpm: true });
    const expected = EXPECTED[kind];
    // Both dnf and zypper are installed in every rpm sandbox: detection finds the one whose repositories have Teleport.
    const config = (extra: Record<string, string> = {}) => ({ schedule: openWindow(), ...extra });
    const rpmHost = (installed: string | undefined, extra: Record<string, string>, body: (s: Sandbox) => Promise<void>) =>
      withSandbox({ packages: kind, ...(installed ? { installed } : {}), config: config(extra) }, body);

    it('upgrades inside the window with commands scoped to the Teleport repository', () =>
      rpmHost('teleport-ent=1.2.3', {}, async (s) => {
        const dry = await s.cli(['dry-run', '--json']);
        assert.equal(dry.exitCode, 0, dry.stderr);
        const plan = JSON.parse(dry.stdout);
        assert.deepEqual([plan.installed, plan.target, plan.action], ['1.2.3', '1.2.4', 'upgrade']);
        assert.deepEqual(plan.commands.slice(0, 2), [expected.refresh, expected.install]);
        assert.equal(await s.status(), '1.2.3-1');
        const r = await s.cli(['run'], { FAKE_SYSTEMCTL_MODE: 'active' });
        assert.equal(r.exitCode, 0, r.stderr);
        assert.equal(await s.status(), '1.2.4-1');
        assert.deepEqual(
          r.stderr.split('\n').filter((line) => line.startsWith('[!]')),
          [],
          'a successful run leaves no warning',
        );
      }));

    it('rolls back from the kept copy when the repository is gone by then, judged by the package database', () =>
      rpmHost('teleport-ent=1.2.3', {}, async (s) => {
        // The repository is a copy of the sandbox's own, so that it can go away.
        const repo = join(s.dir, 'repo-copy');
        await execa('cp', ['-a', fixtures().rpmRepo!, repo]);
        const repoFile = join(s.rpm!.root, kind === 'dnf' ? 'etc/yum.repos.d/teleport.repo' : 'etc/zypp/repos.d/teleport.repo');
        await writeFile(repoFile, (await readFile(repoFile, 'utf8')).replace(/^baseurl=.*$/m, `baseurl=file://${repo}`));
        const r = await s.cli(['run'], { FAKE_SYSTEMCTL_MODE: 'active', FAKE_BROKEN_VERSIONS: '1.2.4', FAKE_GONE_AFTER_INSTALL: repo });
        assert.equal(r.exitCode, 1, r.stderr);
        assert.equal(existsSync(repo), false, 'the repository was gone during the rollback');
        assert.match(r.stderr, /^\[i\] teleport-ent 1\.2\.4 -> 1\.2\.3 rolled back\.$/m);
        assert.equal(await s.status(), '1.2.3-1');
        assert.equal((await sandboxState(s)).inProgress, null);
      }));

    it('detects the installer and package on an rpm-only host that has both dnf and zypper, and says which rule decided', () =>
      withSandbox({ packages: kind, installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
        // Only the rpm tools (rpm, dnf, yum and zypper) and the stand-in systemctl: no dpkg.
        const r = await s.cli(['dry-run', '--json'], { PATH: `${FIXTURE_BIN}:${s.rpm!.bin}` });
        assert.equal(r.exitCode, 0, r.stderr);
        const plan = JSON.parse(r.stdout);
        assert.equal(plan.installed, '1.2.3');
        assert.deepEqual(plan.commands.slice(0, 2), [expected.refresh, expected.install]);
        const other = kind === 'dnf' ? 'zypper' : 'dnf';
        assert.match(
          r.stderr,
          new RegExp(
            `^\\[i\\] detected installer ${kind}: both dnf and zypper are installed; only ${kind}'s repository configuration has the Teleport repository \\(teleport\\)\\.$`,
            'm',
          ),
          other,
        );
      }));

    it('rolls back a version the agent crash-loops on, remembers it, and installs it again only when forced', () =>
      rpmHost('teleport-ent=1.2.3', {}, async (s) => {
        const active = { FAKE_SYSTEMCTL_MODE: 'active' };
        const r = await s.cli(['run'], { ...active, FAKE_BROKEN_VERSIONS: '1.2.4' });
        assert.equal(r.exitCode, 1, r.stderr);
        assert.match(r.stderr, /teleport 1\.2\.4 is unhealthy after the upgrade: systemd restarted teleport\.service/);
        assert.match(
          r.stderr,
          /kept a copy of teleport-ent 1\.2\.3-1 for a rollback: .*\/rollback\/(teleport\/)?teleport-ent-1\.2\.3-1\.x86_64\.rpm/,
        );
        assert.match(r.stderr, /^\[i\] teleport-ent 1\.2\.4 -> 1\.2\.3 rolled back\.$/m);
        assert.equal(await s.status(), '1.2.3-1');
        assert.equal((await sandboxState(s)).badTarget?.version, '1.2.4');
        const skipped = await s.cli(['run'], active);
        assert.equal(skipped.exitCode, 0, skipped.stderr);
        assert.match(skipped.stderr, /not installing 1\.2\.4: it failed its health check/);
        assert.equal(await s.status(), '1.2.3-1');
        const forced = await s.cli(['force'], active);
        assert.equal(forced.exitCode, 0, forced.stderr);
        assert.equal(await s.status(), '1.2.4-1');
      }));

    it('fault: a broken repository (its URL points at nothing) installs nothing and fails clearly', () =>
      rpmHost('teleport-ent=1.2.3', {}, async (s) => {
        const file = kind === 'dnf' ? 'etc/yum.repos.d/teleport.repo' : 'etc/zypp/repos.d/teleport.repo';
        const repoFile = join(s.rpm!.root, file);
        await writeFile(
          repoFile,
          (await readFile(repoFile, 'utf8')).replace(/^baseurl=.*$/m, 'baseurl=file:///nonexistent/teleport-rpm-repo'),
        );
        const r = await s.cli(['run'], { FAKE_SYSTEMCTL_MODE: 'active' });
        assert.equal(r.exitCode, 1, r.stderr);
        // The failed query is shown with what the manager said, not read as "that version is not offered".
        assert.match(
          r.stderr,
          kind === 'dnf'
            ? /^\[!\] upgrade attempt failed for teleport-ent=1\.2\.4: could not list the versions the yum repositories offer: dnf .* exited with status 1: .*Failed to download metadata for repo 'teleport'/m
            : /^\[!\] upgrade attempt failed for teleport-ent=1\.2\.4: could not list the versions the zypper repositories offer: zypper .* exited with status 106: .*Skipping repository 'teleport' because of the above error/m,
        );
        assert.doesNotMatch(r.stderr, /do not offer that version/);
        assert.equal(await s.status(), '1.2.3-1');
      }));

    it('fault: a file conflict with another package is refused before anything changes', () =>
      rpmHost('teleport-ent=1.2.3', {}, async (s) => {
        await s.rpm!.run(
          kind,
          kind === 'dnf' ? ['-y', '-q', 'install', 'teleport-tools'] : ['--non-interactive', '--quiet', 'install', 'teleport-tools'],
        );
        s.server.answer('v1.2.9');
        const r = await s.cli(['run'], { FAKE_SYSTEMCTL_MODE: 'active' });
        assert.equal(r.exitCode, 1, r.stderr);
        assert.match(r.stderr, /\/usr\/local\/bin\/tctl/);
        assert.match(r.stderr, /teleport-ent is still 1\.2\.3: the failed install changed nothing/);
        assert.equal(await s.status(), '1.2.3-1');
        assert.equal(await s.status('teleport-tools'), '1.0.0-1');
      }));

    it('killed in the middle of the rpm transaction: the next run repairs the database, judges the agent and rolls back', () =>
      rpmHost('teleport-ent=1.2.3', {}, async (s) => {
        const root = s.rpm!.root;
        s.server.answer('v1.2.8');
        await killRunWhen(
          s,
          { FAKE_SYSTEMCTL_MODE: 'active' },
          async () => existsSync(join(root, 'post-started')),
          "the new package's %post",
        );
        await writeFile(join(root, 'post-may-finish'), '');
        assert.notEqual((await sandboxState(s)).inProgress, null, 'the interrupted upgrade is on record');

        const r = await s.cli(['run'], { FAKE_SYSTEMCTL_MODE: 'active', FAKE_BROKEN_VERSIONS: '1.2.8' });
        assert.equal(r.exitCode, 1, r.stderr);
        assert.match(r.stderr, /was left half-installed by an interrupted package transaction; finishing it first/);
        assert.match(r.stderr, /a previous run was interrupted while upgrading teleport-ent 1\.2\.3 -> 1\.2\.8/);
        assert.match(r.stderr, /teleport 1\.2\.8 is unhealthy after the upgrade/);
        assert.equal(await s.status(), '1.2.3-1');
        const state = await sandboxState(s);
        assert.equal(state.inProgress, null);
        assert.equal(state.badTarget?.version, '1.2.8');
      }));

    it('downgrades to an older target', () =>
      rpmHost('teleport-ent=1.2.4', {}, async (s) => {
        s.server.answer('v1.2.3');
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(r.stderr, /a downgrade is available \(1\.2\.4 -> 1\.2\.3\)/);
        assert.equal(await s.status(), '1.2.3-1');
      }));

    it('does nothing when the target is installed', () =>
      rpmHost('teleport-ent=1.2.4', {}, async (s) => {
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(r.stderr, /no upgrades available \(1\.2\.4 == 1\.2\.4\)/);
      }));

    it('fails clearly when the repository does not offer the target', () =>
      rpmHost('teleport-ent=1.2.3', {}, async (s) => {
        s.server.answer('v9.9.9');
        s.server.ping({ body: pingBody('9.9.9') });
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 1);
        assert.match(r.stderr, /upgrade attempt failed for teleport-ent=9\.9\.9: the \w+ repositories do not offer that version/);
        assert.equal(await s.status(), '1.2.3-1');
      }));

    it('installs a pre-release only when allowed, mapping - to _', () =>
      rpmHost('teleport-ent=1.2.3', { 'allow-prerelease': 'yes\n' }, async (s) => {
        s.server.answer('v1.3.0-beta.1');
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.equal(await s.status(), '1.3.0_beta.1-1');
      }));

    it('keeps the old version, and the v1 version lock, when the install fails', () =>
      rpmHost('teleport-ent=1.2.3', {}, async (s) => {
        await lock(kind, s);
        s.server.answer('v1.2.6');
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 1);
        assert.match(r.stderr, /upgrade attempt failed for teleport-ent=1\.2\.6/);
        assert.equal(await s.status(), '1.2.3-1');
        assert.equal(await locked(kind, s), true);
      }));

    it('reinstalls the same version when the installed binary no longer matches the package', () =>
      rpmHost('teleport-ent=1.2.4', {}, async (s) => {
        const binary = join(s.rpm!.root, 'usr/local/bin/teleport');
        await writeFile(binary, 'truncated');
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(r.stderr, /teleport-ent 1\.2\.4-1 is damaged: \/usr\/local\/bin\/teleport/);
        assert.match(await readFile(binary, 'utf8'), /1\.2\.4/);
        assert.equal(await s.status(), '1.2.4-1');
      }));

    it("waits for another process's package lock, then installs", () =>
      rpmHost('teleport-ent=1.2.3', {}, async (s) => {
        // A live process named in the lock file, as a running dnf or zypper leaves it.
        const holder = execa('sleep', ['30'], { reject: false });
        const lockFile = kind === 'dnf' ? join(s.rpm!.root, 'var/lib/dnf/rpmdb_lock.pid') : join(s.rpm!.root, 'run/zypp.pid');
        await mkdir(dirname(lockFile), { recursive: true });
        await writeFile(lockFile, `${holder.pid}\n`);
        // Released once the updater's log names the holder, so the test does not depend on timing.
        const named =
          kind === 'dnf'
            ? new RegExp(`^\\[!\\] dnf: Waiting for process with pid ${holder.pid} to finish\\.`, 'm')
            : new RegExp(`^\\[!\\] zypper: System management is locked by the application with pid ${holder.pid} \\(sleep\\)\\.`, 'm');
        const r = await runWhileLocked(s, ['run'], holder, named);
        assert.equal(r.released, true, r.stderr);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.equal(await s.status(), '1.2.4-1');
      }));

    it('repairs an upgrade interrupted between its install and erase steps, then the files', () =>
      rpmHost('teleport-ent=1.2.3', {}, async (s) => {
        // 1.2.4 is in the database but its files were never laid down; 1.2.3 was never erased.
        await s.rpm!.run('rpm', [
          '-i',
          '--justdb',
          '--nodeps',
          '--replacefiles',
          join(fixtures().rpmRepo!, 'teleport-ent-1.2.4-1.x86_64.rpm'),
        ]);
        assert.equal(await s.rpm!.run('rpm', ['-q', 'teleport-ent']), 'teleport-ent-1.2.3-1.x86_64\nteleport-ent-1.2.4-1.x86_64');
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(r.stderr, /teleport-ent 1\.2\.4-1 was left half-installed by an interrupted package transaction; finishing it first/);
        assert.match(r.stderr, /teleport-ent 1\.2\.4-1 is damaged/);
        assert.equal(await s.rpm!.run('rpm', ['-q', 'teleport-ent']), 'teleport-ent-1.2.4-1.x86_64');
        assert.match(await readFile(join(s.rpm!.root, 'usr/local/bin/teleport'), 'utf8'), /1\.2\.4/);
      }));

    it('installs through the v1 version lock and leaves it in place', () =>
      rpmHost('teleport-ent=1.2.3', {}, async (s) => {
        await lock(kind, s);
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.equal(await s.status(), '1.2.4-1');
        assert.equal(await locked(kind, s), true);
      }));
  });
};

/** The v1 version lock: a repo exclude for yum/dnf, a zypper lock for zypper. */
const lock = async (kind: 'dnf' | 'zypper', s: Sandbox) => {
  if (kind === 'zypper') return void (await s.rpm!.run('zypper', ['--non-interactive', '--quiet', 'addlock', 'teleport-ent']));
  const repoFile = join(s.rpm!.root, 'etc/yum.repos.d/teleport.repo');
  await writeFile(repoFile, `${await readFile(repoFile, 'utf8')}exclude=teleport-ent\n`);
};

const locked = async (kind: 'dnf' | 'zypper', s: Sandbox): Promise<boolean> =>
  kind === 'zypper'
    ? /<name>teleport-ent<\/name>/.test(await s.rpm!.run('zypper', ['--non-interactive', '--xmlout', 'locks']))
    : /^exclude=teleport-ent$/m.test(await readFile(join(s.rpm!.root, 'etc/yum.repos.d/teleport.repo'), 'utf8'));
