// The packages: real dpkg and rpm install, upgrade and remove them in test roots; the maintainer scripts' systemctl calls are recorded.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { buildPackages } from '../../scripts/package.ts';
import { makeAptRoot, type AptRoot } from '../support/apt-root.ts';
import { testBinary } from '../support/binary.ts';
import { FIXTURE_BIN } from '../support/sandbox.ts';
import { makeRpmHome } from '../support/rpm-root.ts';
import { aptMissing, binaryToolsMissing, rpmMissing } from '../support/tools.ts';

const missing = (await binaryToolsMissing()) ?? (await aptMissing()) ?? (await rpmMissing());

/** The systemctl calls the stand-in logged since the last look, one per line; the log starts over. */
const takeCalls = async (log: string): Promise<string[]> => {
  const text = existsSync(log) ? await readFile(log, 'utf8') : '';
  await rm(log, { force: true });
  return text.trim().split('\n').filter(Boolean);
};

describe('the teleport-ent-updater packages', { skip: missing }, () => {
  let deb: string;
  let rpm: string;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-pkg-'));
    ({ deb, rpm } = await buildPackages(join(dir, 'build'), await testBinary()));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A fresh root; `systemd` makes the scripts see a running systemd ($DPKG_ROOT/run/systemd/system). */
  const host = async (name: string, systemd: boolean) => {
    const apt: AptRoot = await makeAptRoot(join(dir, name, 'root'), join(dir, 'no-repo'));
    const home = join(dir, name, 'home');
    const log = join(dir, name, 'systemctl.log');
    await mkdir(home, { recursive: true });
    await writeFile(join(home, '.dpkg.cfg'), `log ${apt.root}/var/log/dpkg.log\nforce-script-chrootless\n`);
    if (systemd) await mkdir(join(apt.root, 'run/systemd/system'), { recursive: true });
    const env = {
      ...apt.env,
      HOME: home,
      PATH: `${FIXTURE_BIN}:${process.env.PATH}`,
      FAKE_SYSTEMCTL_MODE: 'active',
      FAKE_SYSTEMCTL_LOG: log,
    };
    const calls = () => takeCalls(log);
    const dpkg = (...args: string[]) => execa('dpkg', args, { env, stdin: 'ignore' });
    return { root: apt.root, calls, dpkg };
  };

  it('installs the binary, units and drop-in; without systemd only enables the timer', async () => {
    const h = await host('offline', false);
    await h.dpkg('-i', deb);
    for (const path of [
      'usr/sbin/teleport-upgrade',
      'lib/systemd/system/teleport-upgrade.service',
      'lib/systemd/system/teleport-upgrade.timer',
      'lib/systemd/system/teleport.service.d/teleport-upgrader-env.conf',
      'etc/teleport-upgrade.d',
    ]) {
      assert.ok(existsSync(join(h.root, path)), path);
    }
    const dropIn = await readFile(join(h.root, 'lib/systemd/system/teleport.service.d/teleport-upgrader-env.conf'), 'utf8');
    assert.match(dropIn, /^Environment="TELEPORT_EXT_UPGRADER=unit"$/m);
    assert.match(dropIn, /^Environment="TELEPORT_EXT_UPGRADER_VERSION=v\d+\.\d+\.\d+"$/m);
    for (const hook of ['mail', 'webhook']) {
      const example = join(h.root, 'usr/share/doc/teleport-ent-updater/examples/hooks', hook);
      assert.equal((await stat(example)).mode & 0o777, 0o755, `the ${hook} example hook is shipped executable`);
    }
    assert.equal(existsSync(join(h.root, 'etc/teleport-upgrade.d/hooks.d')), false, 'no hook is enabled by the package');
    for (const policy of ['window', 'freeze']) {
      assert.match(
        await readFile(join(h.root, 'usr/share/doc/teleport-ent-updater/examples', policy), 'utf8'),
        /^#0 /m,
        `the ${policy} example is shipped`,
      );
      assert.equal(existsSync(join(h.root, 'etc/teleport-upgrade.d', policy)), false, `no ${policy} is set by the package`);
    }
    const man = gunzipSync(await readFile(join(h.root, 'usr/share/man/man8/teleport-upgrade.8.gz'))).toString();
    assert.match(man, /^\.TH TELEPORT-UPGRADE 8/m);
    assert.deepEqual(await h.calls(), [`--root=${h.root} enable teleport-upgrade.timer`]);
    const version = await execa(join(h.root, 'usr/sbin/teleport-upgrade'), ['version', '--raw'], {
      env: { PATH: '/nonexistent' },
      extendEnv: false,
    });
    assert.match(version.stdout, /^\d+\.\d+\.\d+$/);
  });

  it('with systemd: starts the timer and reloads (never restarts) the agent; an upgrade touches only the timer; remove and purge clean up', async () => {
    const h = await host('online', true);
    await h.dpkg('-i', deb);
    assert.deepEqual(await h.calls(), [
      `--root=${h.root} enable teleport-upgrade.timer`,
      'daemon-reload',
      'start teleport-upgrade.timer',
      'is-active --quiet teleport.service',
      'reload teleport.service',
    ]);
    await h.dpkg('-i', deb);
    const upgrade = await h.calls();
    assert.deepEqual(upgrade, [`--root=${h.root} enable teleport-upgrade.timer`, 'daemon-reload', 'try-restart teleport-upgrade.timer']);
    assert.ok(upgrade.every((call) => !call.includes('teleport.service')));
    await mkdir(join(h.root, 'var/lib/teleport-upgrade'), { recursive: true });
    await h.dpkg('--remove', 'teleport-ent-updater');
    assert.deepEqual(await h.calls(), ['stop teleport-upgrade.timer', `--root=${h.root} disable teleport-upgrade.timer`, 'daemon-reload']);
    assert.equal(existsSync(join(h.root, 'usr/sbin/teleport-upgrade')), false);
    assert.equal(existsSync(join(h.root, 'var/lib/teleport-upgrade')), true);
    await h.dpkg('--purge', 'teleport-ent-updater');
    assert.equal(existsSync(join(h.root, 'var/lib/teleport-upgrade')), false);
  });

  /**
   * A root rpm can chroot into to run the scriptlets for real: the host's dash as /bin/sh (with the libraries it needs)
   * and the systemctl stand-in; `systemd` makes the scriptlets see a running systemd (/run/systemd/system).
   */
  const rpmHost = async (name: string, systemd: boolean) => {
    const root = join(dir, name, 'root');
    for (const d of ['bin', 'usr/bin', 'lib/x86_64-linux-gnu', 'lib64', 'var/tmp', 'dev', ...(systemd ? ['run/systemd/system'] : [])]) {
      await mkdir(join(root, d), { recursive: true });
    }
    await copyFile('/bin/dash', join(root, 'bin/sh'));
    await chmod(join(root, 'bin/sh'), 0o755);
    const libs = (await execa('ldd', ['/bin/dash'])).stdout.matchAll(/(\/\S+\.so[.\d]*)/g);
    for (const [lib] of libs) await copyFile(lib, join(root, lib));
    await copyFile(join(FIXTURE_BIN, 'systemctl'), join(root, 'usr/bin/systemctl'));
    await chmod(join(root, 'usr/bin/systemctl'), 0o755);
    const home = await makeRpmHome(join(dir, name, 'home'));
    // The log path is inside the chroot the scriptlets run in.
    const env = { HOME: home, FAKE_SYSTEMCTL_MODE: 'active', FAKE_SYSTEMCTL_LOG: '/systemctl.log' };
    const calls = () => takeCalls(join(root, 'systemctl.log'));
    // --nodeps: the test root has no glibc package; --force-debian: Debian's rpm refuses installs without it.
    const rpmIn = (...args: string[]) => execa('rpm', ['--root', root, '--force-debian', '--nodeps', ...args], { env, stdin: 'ignore' });
    return { root, calls, rpmIn };
  };

  it('the .rpm: needs no Node.js or Teleport package, installs into the rpm unit directory, and carries the man page', async () => {
    const home = await makeRpmHome(join(dir, 'query-home'));
    const query = async (...args: string[]) => (await execa('rpm', ['-qp', ...args, rpm], { env: { HOME: home } })).stdout.split('\n');
    const requires = await query('--requires');
    assert.ok(
      requires.some((r) => r.startsWith('libc.so.6')),
      'requires glibc, generated from the binary',
    );
    assert.deepEqual(
      requires.filter((r) => /node|teleport/i.test(r)),
      [],
    );
    assert.deepEqual((await query('--list')).sort(), [
      '/etc/teleport-upgrade.d',
      '/usr/lib/systemd/system/teleport-upgrade.service',
      '/usr/lib/systemd/system/teleport-upgrade.timer',
      '/usr/lib/systemd/system/teleport.service.d',
      '/usr/lib/systemd/system/teleport.service.d/teleport-upgrader-env.conf',
      '/usr/sbin/teleport-upgrade',
      '/usr/share/doc/teleport-ent-updater/README.md',
      '/usr/share/doc/teleport-ent-updater/examples',
      '/usr/share/doc/teleport-ent-updater/examples/freeze',
      '/usr/share/doc/teleport-ent-updater/examples/hooks',
      '/usr/share/doc/teleport-ent-updater/examples/hooks/mail',
      '/usr/share/doc/teleport-ent-updater/examples/hooks/webhook',
      '/usr/share/doc/teleport-ent-updater/examples/window',
      '/usr/share/man/man8/teleport-upgrade.8.gz',
    ]);
  });

  it('the .rpm without systemd: only enables the timer; the binary runs', async () => {
    const h = await rpmHost('rpm-offline', false);
    await h.rpmIn('-i', rpm);
    assert.deepEqual(await h.calls(), ['enable teleport-upgrade.timer']);
    const version = await execa(join(h.root, 'usr/sbin/teleport-upgrade'), ['version', '--raw'], {
      env: { PATH: '/nonexistent' },
      extendEnv: false,
    });
    assert.match(version.stdout, /^\d+\.\d+\.\d+$/);
  });

  it('the .rpm with systemd: starts the timer and reloads the agent; an upgrade touches only the timer; erase stops and disables it', async () => {
    const h = await rpmHost('rpm-online', true);
    await h.rpmIn('-i', rpm);
    assert.deepEqual(await h.calls(), [
      'enable teleport-upgrade.timer',
      'daemon-reload',
      'start teleport-upgrade.timer',
      'is-active --quiet teleport.service',
      'reload teleport.service',
    ]);
    // An upgrade runs the new %post with $1 = 2, then the old %preun and %postun with $1 = 1.
    await h.rpmIn('-U', '--replacepkgs', rpm);
    const upgrade = await h.calls();
    assert.deepEqual(upgrade, ['enable teleport-upgrade.timer', 'daemon-reload', 'try-restart teleport-upgrade.timer']);
    await mkdir(join(h.root, 'var/lib/teleport-upgrade'), { recursive: true });
    await h.rpmIn('-e', 'teleport-ent-updater');
    assert.deepEqual(await h.calls(), ['stop teleport-upgrade.timer', 'disable teleport-upgrade.timer', 'daemon-reload']);
    assert.equal(existsSync(join(h.root, 'usr/sbin/teleport-upgrade')), false);
    assert.equal(existsSync(join(h.root, 'var/lib/teleport-upgrade')), true, 'rpm has no purge: the state stays');
  });
});
