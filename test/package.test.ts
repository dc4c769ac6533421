// The .deb: real dpkg installs, upgrades, removes and purges it in a test root; the maintainer scripts' systemctl calls are recorded.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { buildDeb } from '../scripts/package.ts';
import { makeAptRoot, type AptRoot } from './support/apt-root.ts';
import { FIXTURE_BIN } from './support/sandbox.ts';
import { aptMissing, binaryToolsMissing } from './support/tools.ts';

const missing = (await binaryToolsMissing()) ?? (await aptMissing());

describe('the teleport-ent-updater .deb', { skip: missing }, () => {
  let deb: string;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-deb-'));
    deb = await buildDeb(join(dir, 'build'));
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
    const env = { ...apt.env, HOME: home, PATH: `${FIXTURE_BIN}:${process.env.PATH}`, FAKE_SYSTEMCTL_MODE: 'active', FAKE_SYSTEMCTL_LOG: log };
    const calls = async () => {
      const text = existsSync(log) ? await readFile(log, 'utf8') : '';
      await rm(log, { force: true });
      return text.trim().split('\n').filter(Boolean);
    };
    const dpkg = (...args: string[]) => execa('dpkg', args, { env, stdin: 'ignore' });
    return { root: apt.root, calls, dpkg };
  };

  it('installs the binary, units and drop-in; without systemd only enables the timer', async () => {
    const h = await host('offline', false);
    await h.dpkg('-i', deb);
    for (const path of ['usr/sbin/teleport-upgrade', 'lib/systemd/system/teleport-upgrade.service', 'lib/systemd/system/teleport-upgrade.timer',
      'lib/systemd/system/teleport.service.d/teleport-upgrader-env.conf', 'etc/teleport-upgrade.d']) {
      assert.ok(existsSync(join(h.root, path)), path);
    }
    assert.deepEqual(await h.calls(), [`--root=${h.root} enable teleport-upgrade.timer`]);
    const version = await execa(join(h.root, 'usr/sbin/teleport-upgrade'), ['version', '--raw'], { env: { PATH: '/nonexistent' }, extendEnv: false });
    assert.match(version.stdout, /^\d+\.\d+\.\d+$/);
  });

  it('with systemd: starts the timer and reloads (never restarts) the agent; an upgrade touches only the timer; remove and purge clean up', async () => {
    const h = await host('online', true);
    await h.dpkg('-i', deb);
    assert.deepEqual(await h.calls(), [`--root=${h.root} enable teleport-upgrade.timer`, 'daemon-reload', 'start teleport-upgrade.timer',
      'is-active --quiet teleport.service', 'reload teleport.service']);
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
});
