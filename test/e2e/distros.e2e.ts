// Every supported host on its own tools: the updater chrooted into debootstrapped Debian sid (dnf5 as dnf, rpm 6,
// zypper 1.14.10x, apt 3.3) and trixie (apt 3.0), against a real version server: upgrade through the v1 lock with the
// plan that was printed, downgrade, not offered, a broken repository, a rollback with the repository gone, a repair.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { distroRoot, openView, writeViewRecordingShims, type Distro } from '../support/distro-root.ts';
import { executedChanges } from '../support/recording.ts';
import { openWindow, sharedFixtures, type Fixtures } from '../support/sandbox.ts';
import { sh, distroRootsMissing } from '../support/tools.ts';
import { startVersionServer, type VersionServer } from '../support/version-server.ts';

const CACHE = fileURLToPath(new URL('../../.cache/e2e/roots', import.meta.url));
const MIRROR = process.env.E2E_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const CA = '/etc/teleport-upgrade-test/ca.crt';
const CONFIG = '/etc/teleport-upgrade.d';

type Manager = 'apt' | 'dnf' | 'zypper';

interface Kind {
  readonly name: string;
  readonly distro: Distro;
  readonly manager: Manager;
}

const KINDS: readonly Kind[] = [
  { name: 'dnf5 and rpm 6 (Debian sid)', distro: 'sid', manager: 'dnf' },
  { name: 'zypper 1.14.10x and rpm 6 (Debian sid)', distro: 'sid', manager: 'zypper' },
  { name: 'apt 3.3 (Debian sid)', distro: 'sid', manager: 'apt' },
  { name: 'apt 3.0 (Debian 13 trixie)', distro: 'trixie', manager: 'apt' },
];

/** A host of `kind` with Teleport `installed`: the repository at /srv/repo, the updater configured against `server`. */
const host = async (kind: Kind, tree: string, fixtures: Fixtures, server: VersionServer, installed: string) => {
  const view = await openView(kind.distro, tree, await mkdtemp(join(tmpdir(), `teleport-upgrade-${kind.distro}-${kind.manager}-`)));
  const repo = kind.manager === 'apt' ? fixtures.repo : fixtures.rpmRepo!;
  await mkdir(join(view.upper, 'srv'), { recursive: true });
  await sh('cp', ['-a', repo, join(view.upper, 'srv/repo')]);
  if (kind.manager === 'apt') {
    await view.write('/etc/apt/sources.list.d/teleport.list', 'deb [trusted=yes] file:/srv/repo ./\n');
    await view.exec([
      'apt-get',
      'update',
      '-o',
      'Dir::Etc::sourcelist=sources.list.d/teleport.list',
      '-o',
      'Dir::Etc::sourceparts=-',
      '-o',
      'APT::Get::List-Cleanup=0',
    ]);
    await view.exec(['apt-get', 'install', '-y', `teleport-ent=${installed}`]);
  } else if (kind.manager === 'dnf') {
    await view.write('/etc/yum.repos.d/teleport.repo', '[teleport]\nname=Teleport\nbaseurl=file:///srv/repo\ngpgcheck=0\nenabled=1\n');
    await view.exec(['dnf', '-y', '-q', 'install', `teleport-ent-${installed}`]);
  } else {
    await view.exec(['zypper', '--non-interactive', '--quiet', 'addrepo', '--no-gpgcheck', '--refresh', 'file:///srv/repo', 'teleport']);
    await view.exec(['zypper', '--non-interactive', '--quiet', 'install', `teleport-ent=${installed}`]);
  }
  await view.write(CA, await readFile(fixtures.tls.caFile, 'utf8'));
  await view.write(`${CONFIG}/endpoint`, `${server.endpoint}\n`);
  await view.write(`${CONFIG}/health-settle`, '0\n');
  await view.write(`${CONFIG}/schedule`, openWindow());
  const env = (extra: Record<string, string> = {}) => ({
    SSL_CERT_FILE: CA,
    FAKE_SYSTEMCTL_MODE: 'active',
    FAKE_SYSTEMCTL_LOG: '/var/log/systemctl.log',
    FAKE_AGENT_BIN: '/usr/local/bin/teleport',
    ...extra,
  });
  return {
    view,
    cli: (args: readonly string[], extra?: Record<string, string>, options?: { record?: boolean }) => view.cli(args, env(extra), options),
    /** The installed version (apt: the Debian version; rpm: version-release), '' when not installed. */
    installed: async () => {
      const r =
        kind.manager === 'apt'
          ? await view.exec(['dpkg-query', '-W', '-f', '${Status} ${Version}', 'teleport-ent'], { reject: false })
          : await view.exec(['rpm', '-q', '--qf', '%{VERSION}-%{RELEASE}', 'teleport-ent'], { reject: false });
      return r.exitCode === 0 ? r.stdout.replace(/^install ok installed /, '').replace(/^hold ok installed /, '') : '';
    },
  };
};

type Host = Awaited<ReturnType<typeof host>>;

/** The v1 version lock as each manager spells it. */
const lock = async (kind: Kind, h: Host): Promise<void> => {
  if (kind.manager === 'apt') await h.view.exec(['apt-mark', 'hold', 'teleport-ent']);
  else if (kind.manager === 'zypper') await h.view.exec(['zypper', '--non-interactive', '--quiet', 'addlock', 'teleport-ent']);
  else
    await h.view.write(
      '/etc/yum.repos.d/teleport.repo',
      '[teleport]\nname=Teleport\nbaseurl=file:///srv/repo\ngpgcheck=0\nenabled=1\nexclude=teleport-*\n',
    );
};

/** Whether the v1 version lock is still in place, asked of the manager itself. */
const stillLocked = async (kind: Kind, h: Host): Promise<boolean> => {
  if (kind.manager === 'apt') return (await h.view.exec(['apt-mark', 'showhold'])).stdout.trim() === 'teleport-ent';
  if (kind.manager === 'zypper') return /teleport-ent/.test((await h.view.exec(['zypper', '--non-interactive', 'locks'])).stdout);
  return /^exclude=teleport-\*$/m.test((await h.view.exec(['cat', '/etc/yum.repos.d/teleport.repo'])).stdout);
};

const rpmVersion = (kind: Kind, version: string) => (kind.manager === 'apt' ? version : `${version}-1`);

const missing = await distroRootsMissing();

for (const kind of KINDS) {
  describe(`the updater on ${kind.name}`, { skip: missing }, () => {
    let fixtures: Fixtures;
    let server: VersionServer;
    let tree: string;
    const hosts: Host[] = [];
    before(async () => {
      [fixtures, tree] = await Promise.all([sharedFixtures({ rpm: true }), distroRoot(kind.distro, CACHE, MIRROR)]);
      server = await startVersionServer(fixtures.tls);
    });
    after(async () => {
      await server?.close();
      await Promise.all(hosts.map((h) => h.view.close()));
    });
    const newHost = async (installed: string) => {
      const h = await host(kind, tree, fixtures, server, installed);
      hosts.push(h);
      return h;
    };

    it('upgrades through the v1 version lock with exactly the commands dry-run printed; the lock stays, status reports it, and nothing is a warning', async () => {
      server.answer('v1.2.4');
      const h = await newHost('1.2.3');
      await lock(kind, h);
      const dry = await h.cli(['dry-run', '--json']);
      assert.equal(dry.exitCode, 0, dry.stderr);
      const printed = (JSON.parse(dry.stdout) as { commands: string[][] }).commands;
      await writeViewRecordingShims(h.view);
      const r = await h.cli(['run'], {}, { record: true });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(await h.installed(), rpmVersion(kind, '1.2.4'));
      assert.deepEqual(executedChanges((await h.view.exec(['cat', '/var/log/argv.log'])).stdout), printed);
      assert.deepEqual(
        r.stderr.split('\n').filter((line) => line.startsWith('[!]')),
        [],
        'a successful run leaves no warning',
      );
      assert.equal(await stillLocked(kind, h), true, 'the v1 version lock is in place');
      const status = await h.cli(['status', '--json']);
      assert.equal(status.exitCode, 0, status.stderr);
      const shown = JSON.parse(status.stdout) as { installed: string; held: boolean; installer: string };
      assert.deepEqual([shown.installed, shown.held, shown.installer], ['1.2.4', true, kind.manager === 'dnf' ? 'yum' : kind.manager]);
    });

    it('downgrades; says when the repository does not offer the target; a broken repository fails clearly and installs nothing', async () => {
      const h = await newHost('1.2.4');
      server.answer('v1.2.3');
      const down = await h.cli(['run']);
      assert.equal(down.exitCode, 0, down.stderr);
      assert.equal(await h.installed(), rpmVersion(kind, '1.2.3'));
      server.answer('v1.2.99');
      const absent = await h.cli(['run']);
      assert.equal(absent.exitCode, 1, absent.stderr);
      assert.match(absent.stderr, /do not offer that version/);
      await h.view.exec(['mv', '/srv/repo', '/srv/gone']);
      server.answer('v1.2.4');
      const broken = await h.cli(['run']);
      assert.equal(broken.exitCode, 1, broken.stderr);
      // With the metadata still cached the managers find the version and fail to fetch it; without, they fail to list it.
      assert.match(
        broken.stderr,
        /^\[!\] (upgrade attempt failed for teleport-ent=1\.2\.4.*; teleport-ent is still at 1\.2\.3\.|could not list the versions the (apt|yum|zypper) repositories offer: .*exited with status)/m,
      );
      assert.equal(await h.installed(), rpmVersion(kind, '1.2.3'));
    });

    it('rolls back from the kept copy when the new version crash-loops and the repository is gone by then', async () => {
      server.answer('v1.2.4');
      const h = await newHost('1.2.3');
      const r = await h.cli(['run'], { FAKE_BROKEN_VERSIONS: '1.2.4', FAKE_GONE_AFTER_INSTALL: '/srv/repo' });
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /kept a copy of teleport-ent 1\.2\.3(-1)? for a rollback/);
      assert.match(r.stderr, /^\[i\] teleport-ent 1\.2\.4 -> 1\.2\.3 rolled back\.$/m);
      assert.equal(await h.installed(), rpmVersion(kind, '1.2.3'));
      assert.equal(
        (await h.view.exec(['test', '-e', '/srv/repo'], { reject: false })).exitCode,
        1,
        'the repository was gone during the rollback',
      );
      assert.match((await h.view.exec(['cat', '/var/log/systemctl.log'])).stdout, /^restart teleport\.service$/m);
      assert.equal(
        (JSON.parse((await h.view.exec(['cat', '/var/lib/teleport-upgrade/state.json'])).stdout) as { inProgress: unknown }).inProgress,
        null,
      );
    });

    it('checks every file once, then only their metadata while nothing changed; finds every kind of change; checks in full daily and after a change by hand', async () => {
      server.answer('v1.2.4');
      const h = await newHost('1.2.4');
      const BIN = '/usr/local/bin/teleport';
      const FULL = /checking every file of teleport-ent against the package database: (.*)\.$/m;
      const SKIPPED = /teleport-ent's files are as they were at their full check at/;
      const run = async () => {
        const r = await h.cli(['--debug', 'run']);
        assert.equal(r.exitCode, 0, r.stderr);
        return r.stderr;
      };
      assert.match(await run(), FULL, 'the first run checks in full');
      assert.match(await run(), SKIPPED, 'the next one, with nothing changed, does not');
      const original = (await h.view.exec(['cat', BIN])).stdout;
      const sameSize = original.replace('Teleport', 'Telepork');
      const damages: Array<[string, string]> = [
        ['written in place, same size', `printf '%s' "$1" > ${BIN}`],
        ['truncated', `: > ${BIN}`],
        ['replaced by a rename, same size', `printf '%s' "$1" > ${BIN}.new && chmod 755 ${BIN}.new && mv ${BIN}.new ${BIN}`],
        ['removed', `rm ${BIN}`],
        [
          'written, its old mtime put back with touch -r',
          `touch -r ${BIN} /tmp/mtime && printf '%s' "$1" > ${BIN} && touch -r /tmp/mtime ${BIN}`,
        ],
      ];
      for (const [what, script] of damages) {
        await h.view.exec(['sh', '-c', script, 'sh', sameSize]);
        const found = await run();
        assert.match(found, /changed since the last full check|is gone since the last full check/, what);
        assert.match(found, /teleport-ent 1\.2\.4(-1)? is damaged/, what);
        assert.equal((await h.view.exec(['cat', BIN])).stdout, original, `${what}: reinstalled`);
        assert.match(await run(), FULL, `${what}: after the reinstall, a full check records the files again`);
      }
      // Reinstalled by hand: new files, so a full check.
      await h.view.exec(
        kind.manager === 'apt'
          ? ['apt-get', 'install', '-y', '--reinstall', 'teleport-ent=1.2.4']
          : kind.manager === 'dnf'
            ? ['dnf', '-y', '-q', 'reinstall', 'teleport-ent-1.2.4-1']
            : ['zypper', '--non-interactive', '--quiet', 'install', '--force', 'teleport-ent=1.2.4-1'],
      );
      assert.match(await run(), /checking every file .*: \/usr\/local\/bin\/teleport changed since the last full check\.$/m);
      // A day after the last full check (its record moved back 25 hours, as the clock would move on).
      const state = JSON.parse((await h.view.exec(['cat', '/var/lib/teleport-upgrade/state.json'])).stdout) as { verified: { at: string } };
      state.verified.at = new Date(Date.now() - 25 * 3_600_000).toISOString();
      await h.view.write('/var/lib/teleport-upgrade/state.json', `${JSON.stringify(state)}\n`);
      assert.match(await run(), /checking every file .*: the daily full check is due/);
      // Another version installed by hand.
      server.answer('v1.2.3');
      await h.view.exec(
        kind.manager === 'apt'
          ? ['apt-get', 'install', '-y', '--allow-downgrades', 'teleport-ent=1.2.3']
          : kind.manager === 'dnf'
            ? ['dnf', '-y', '-q', 'downgrade', 'teleport-ent-1.2.3-1']
            : ['zypper', '--non-interactive', '--quiet', 'install', '--oldpackage', 'teleport-ent=1.2.3-1'],
      );
      assert.match(await run(), /checking every file .*: the last full check was of teleport-ent 1\.2\.4/);
      const status = JSON.parse((await h.cli(['status', '--json'])).stdout) as { filesVerifiedAt: string | null };
      assert.ok(status.filesVerifiedAt !== null && Date.now() - Date.parse(status.filesVerifiedAt) < 600_000, 'status says when');
    });

    it('reinstalls damaged files at the same version', async () => {
      server.answer('v1.2.4');
      const h = await newHost('1.2.4');
      await h.view.write('/usr/local/bin/teleport', 'truncated', 0o755);
      const r = await h.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /teleport-ent 1\.2\.4(-1)? is damaged/);
      assert.match((await h.view.exec(['cat', '/usr/local/bin/teleport'])).stdout, /1\.2\.4/);
      assert.deepEqual(
        r.stderr
          .split('\n')
          .filter((line) => line.startsWith('[!]'))
          .filter((line) => !/is damaged/.test(line)),
        [],
      );
    });
  });
}
