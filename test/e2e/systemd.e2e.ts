// End to end under a real systemd: our .deb in a Debian booted with systemd-nspawn; the timer upgrades a fake agent by itself.
import assert from 'node:assert/strict';
import { copyFile, chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { buildPackages } from '../../scripts/package.ts';
import { buildDebRepo } from '../support/deb-repo.ts';
import { baseRoot, bootContainer, type Container } from '../support/nspawn.ts';
import { openWindow } from '../support/sandbox.ts';
import { nspawnMissing, sh } from '../support/tools.ts';

const CACHE = fileURLToPath(new URL('../../.cache/e2e', import.meta.url));
const MIRROR = process.env.E2E_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const CHANNEL = '/v1/webapi/automaticupgrades/channel/default';

/**
 * The agent stand-in: on SIGHUP it re-executes itself, so it runs whatever teleport is installed now, like teleport's
 * graceful restart; it says so in its journal. A version listed in /etc/e2e-broken-versions crashes at once.
 */
const AGENT = `#!/bin/sh
version=$(/usr/local/bin/teleport version --raw)
if grep -qx "$version" /etc/e2e-broken-versions 2>/dev/null; then echo "agent crashed: teleport $version"; exit 1; fi
trap 'echo "agent reloaded: teleport $(/usr/local/bin/teleport version --raw)"; exec /usr/local/sbin/fake-teleport reloaded' HUP
[ "$1" = reloaded ] || echo "agent started: teleport $version"
while :; do sleep 1 & wait $!; done
`;
const AGENT_UNIT = `[Unit]
Description=fake Teleport agent
[Service]
ExecStart=/usr/local/sbin/fake-teleport
ExecReload=/bin/sh -c "kill -HUP $MAINPID"
Restart=on-failure
RestartSec=1
[Install]
WantedBy=multi-user.target
`;
/** The proxy's channel (its target read from /etc/e2e-channel-version), served on the container's loopback by the same Node the tests run on. */
const VERSION_SERVER = `import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
createServer((req, res) => {
  const target = readFileSync('/etc/e2e-channel-version', 'utf8').trim();
  const body = { '${CHANNEL}/version': 'v' + target + '\\n', '${CHANNEL}/critical': 'no\\n', '/webapi/ping': '{"server_version":"1.2.5"}' }[req.url];
  res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/plain' }).end(body ?? 'not found');
}).listen(8080, '127.0.0.1');
`;
const VERSION_UNIT = `[Unit]
Description=stand-in for the cluster's proxy
[Service]
ExecStart=/usr/local/bin/node /usr/local/lib/version-server.mjs
[Install]
WantedBy=multi-user.target
`;
/** The test's drop-in: every 5 s instead of every 30 min, no random delay. */
const FAST_TIMER = '[Timer]\nOnCalendar=\nOnCalendar=*:*:0/5\nRandomizedDelaySec=0\nAccuracySec=1s\n';

const write = async (path: string, text: string, mode = 0o644) => {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text, { mode });
};

describe('teleport-ent-updater under a real systemd (systemd-nspawn)', { skip: await nspawnMissing(), timeout: 600_000 }, () => {
  let dir: string;
  let root: string;
  let container: Container | undefined;
  const started = performance.now();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-nspawn-'));
    root = join(dir, 'root');
    const [base, packages, repo] = await Promise.all([
      baseRoot(CACHE, MIRROR),
      buildPackages(join(dir, 'build')),
      buildDebRepo(
        join(dir, 'repo'),
        ['1.2.3', '1.2.4', '1.2.5'].map((version) => ({ name: 'teleport-ent', version })),
      ),
    ]);
    await sh('cp', ['-a', '--reflink=auto', base, root]);
    // Our .deb, and a newer build of it (the same tree with a higher version) to upgrade the updater with.
    await mkdir(join(root, 'srv/updater'), { recursive: true });
    await copyFile(packages.deb, join(root, 'srv/updater/teleport-ent-updater_0.1.0_amd64.deb'));
    const unpacked = join(dir, 'updater-next');
    await sh('dpkg-deb', ['-R', packages.deb, unpacked]);
    const control = await readFile(join(unpacked, 'DEBIAN/control'), 'utf8');
    await writeFile(join(unpacked, 'DEBIAN/control'), control.replace(/^Version: .*$/m, 'Version: 99.0.0'));
    await sh('dpkg-deb', [
      '--root-owner-group',
      '-Zgzip',
      '-z1',
      '--build',
      unpacked,
      join(root, 'srv/updater/teleport-ent-updater_99.0.0_amd64.deb'),
    ]);
    // The Teleport repository with 1.2.3 and 1.2.4; 1.2.3 is installed, the agent unit runs it.
    await sh('cp', ['-a', repo, join(root, 'srv/teleport-repo')]);
    await write(join(root, 'etc/apt/sources.list.d/teleport.list'), 'deb [trusted=yes] file:/srv/teleport-repo ./\n');
    await sh('chroot', [root, 'dpkg', '-i', '/srv/teleport-repo/teleport-ent_1.2.3_amd64.deb']);
    await write(join(root, 'usr/local/sbin/fake-teleport'), AGENT, 0o755);
    await write(join(root, 'etc/systemd/system/teleport.service'), AGENT_UNIT);
    await write(join(root, 'usr/local/lib/version-server.mjs'), VERSION_SERVER);
    await write(join(root, 'etc/systemd/system/e2e-version-server.service'), VERSION_UNIT);
    await copyFile(process.execPath, join(root, 'usr/local/bin/node'));
    await chmod(join(root, 'usr/local/bin/node'), 0o755);
    await mkdir(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
    for (const unit of ['teleport.service', 'e2e-version-server.service']) {
      await symlink(`/etc/systemd/system/${unit}`, join(root, 'etc/systemd/system/multi-user.target.wants', unit));
    }
    // The configuration an operator writes, and a schedule as the agent exports it, its window open for the next hour.
    // By name, on a host without /etc/hosts (as debootstrap's minbase and many images are): localhost must not need it.
    await rm(join(root, 'etc/hosts'), { force: true });
    await write(join(root, 'etc/teleport-upgrade.d/endpoint'), `localhost:8080${CHANNEL}\n`);
    await write(join(root, 'etc/teleport-upgrade.d/insecure'), 'yes\n');
    await write(join(root, 'etc/teleport-upgrade.d/schedule'), openWindow());
    // A short settle period keeps the test quick; the health check itself runs against the real systemd.
    await write(join(root, 'etc/teleport-upgrade.d/health-settle'), '3s\n');
    await write(join(root, 'etc/e2e-channel-version'), '1.2.4\n');
    container = await bootContainer(root, 'teleport-upgrade-e2e');
  });

  after(async () => {
    await container?.stop();
    await rm(dir, { recursive: true, force: true });
    console.log(`# systemd end-to-end: ${((performance.now() - started) / 1000).toFixed(1)} s in all`);
  });

  const run = (...args: string[]) => container!.exec(args);
  const show = async (unit: string, property: string) => (await run('systemctl', 'show', '-P', property, unit)).stdout.trim();
  const agentLog = async () => (await run('journalctl', '-u', 'teleport.service', '-o', 'cat', '--no-pager')).stdout;
  const installedVersion = async () => (await run('dpkg-query', '-W', '-f', '${Version}', 'teleport-ent')).stdout;

  it('the container has no /etc/hosts, so its resolver cannot find localhost', async () => {
    assert.equal((await container!.exec(['test', '-e', '/etc/hosts'], { reject: false })).exitCode, 1);
    assert.notEqual((await container!.exec(['getent', 'hosts', 'localhost'], { reject: false })).exitCode, 0);
  });

  it('installing and upgrading the updater reloads the agent once and never restarts it; the timer runs and upgrades it', async () => {
    assert.equal(await show('teleport.service', 'ActiveState'), 'active');
    const pid = await show('teleport.service', 'MainPID');
    assert.match(pid, /^[1-9]\d*$/);

    // Install: the timer is enabled and started; the agent is reloaded (not restarted) to pick up the drop-in.
    await run('dpkg', '-i', '/srv/updater/teleport-ent-updater_0.1.0_amd64.deb');
    assert.equal(await show('teleport-upgrade.timer', 'ActiveState'), 'active');
    assert.equal(await show('teleport-upgrade.timer', 'UnitFileState'), 'enabled');
    assert.match(await show('teleport.service', 'Environment'), /TELEPORT_EXT_UPGRADER=unit/);
    assert.equal(await show('teleport.service', 'MainPID'), pid, 'installing the updater must not restart the agent');
    await waitFor(async () => (await agentLog()).includes('agent reloaded: teleport 1.2.3'), 'the agent to be reloaded');

    // Upgrade of the updater: only its timer restarts; no new reload, no restart.
    const timerStart = await show('teleport-upgrade.timer', 'ActiveEnterTimestampMonotonic');
    await run('dpkg', '-i', '/srv/updater/teleport-ent-updater_99.0.0_amd64.deb');
    assert.notEqual(await show('teleport-upgrade.timer', 'ActiveEnterTimestampMonotonic'), timerStart, 'the timer was restarted');
    assert.equal(await show('teleport.service', 'MainPID'), pid, 'upgrading the updater must not restart the agent');
    assert.equal((await agentLog()).match(/agent reloaded/g)?.length, 1, 'upgrading the updater must not reload the agent');
    assert.equal(await installedVersion(), '1.2.3', 'nothing is upgraded before the timer fires');

    // The test's drop-in makes the timer fire every 5 s; then wait for it to run the updater by itself.
    await run('mkdir', '-p', '/etc/systemd/system/teleport-upgrade.timer.d');
    await run('sh', '-c', `printf '${FAST_TIMER.replaceAll('\n', '\\n')}' > /etc/systemd/system/teleport-upgrade.timer.d/e2e.conf`);
    await run('systemctl', 'daemon-reload');
    await run('systemctl', 'restart', 'teleport-upgrade.timer');
    await waitFor(async () => (await installedVersion()) === '1.2.4', 'the timer to upgrade teleport-ent to 1.2.4');
    await waitFor(async () => (await agentLog()).includes('agent reloaded: teleport 1.2.4'), 'the agent to be reloaded onto 1.2.4');
    assert.equal(await show('teleport.service', 'ActiveState'), 'active');
    assert.equal(await show('teleport.service', 'MainPID'), pid, 'the upgrade reloads the agent gracefully');
    assert.equal(await show('teleport.service', 'NRestarts'), '0');
  });

  it('journalctl -u teleport-upgrade shows the decision and the upgrade, each line with its priority', async () => {
    await waitFor(async () => (await show('teleport-upgrade.service', 'ActiveState')) !== 'activating', 'the current run to finish');
    const lines = (await run('journalctl', '-u', 'teleport-upgrade.service', '-o', 'json', '--no-pager')).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { MESSAGE: string; PRIORITY: string; SYSLOG_IDENTIFIER?: string })
      .filter((entry) => entry.SYSLOG_IDENTIFIER === 'teleport-upgrade');
    const priorityOf = (pattern: RegExp) => {
      const entry = lines.find((l) => pattern.test(l.MESSAGE));
      assert.ok(entry, `no journal line matches ${pattern}:\n${lines.map((l) => `${l.PRIORITY} ${l.MESSAGE}`).join('\n')}`);
      return entry.PRIORITY;
    };
    assert.equal(priorityOf(/within maintenance window|maintenance window/), '6');
    assert.equal(priorityOf(/teleport-ent 1\.2\.3 -> 1\.2\.4 installed/), '6');
    assert.equal(priorityOf(/upgrade to 1\.2\.4 complete/), '6');
    assert.equal(priorityOf(/insecure mode/), '4');
    // -p warning shows the warnings and nothing of the information.
    const warnings = (await run('journalctl', '-u', 'teleport-upgrade.service', '-p', 'warning', '-o', 'cat', '--no-pager')).stdout;
    assert.match(warnings, /insecure mode/);
    assert.doesNotMatch(warnings, /complete/);
    assert.equal(await show('teleport-upgrade.service', 'Result'), 'success');
  });

  it('teleport-upgrade dry-run now says up to date', async () => {
    const text = await container!.exec(['teleport-upgrade', 'dry-run']);
    assert.equal(text.exitCode, 0);
    assert.match(text.stderr, /no upgrades available \(1\.2\.4 == 1\.2\.4\)/);
    const json = JSON.parse((await run('teleport-upgrade', 'dry-run', '--json')).stdout) as {
      installed: string;
      action: string;
      reason: string;
    };
    assert.deepEqual([json.installed, json.action, json.reason], ['1.2.4', 'none', 'up-to-date']);
  });

  it('a version the agent crash-loops on is rolled back under the real systemd, and the unit fails loudly', async () => {
    // Back to the normal cadence: restarting teleport.service starts the timer again (it is wanted by the agent).
    await run('rm', '/etc/systemd/system/teleport-upgrade.timer.d/e2e.conf');
    await run('systemctl', 'daemon-reload');
    await run('systemctl', 'stop', 'teleport-upgrade.timer');
    await run('sh', '-c', 'echo 1.2.5 > /etc/e2e-broken-versions && echo 1.2.5 > /etc/e2e-channel-version');
    // systemctl start waits for the oneshot run and fails with it.
    const started = await container!.exec(['systemctl', 'start', 'teleport-upgrade.service'], { reject: false });
    assert.notEqual(started.exitCode, 0);
    assert.equal(await installedVersion(), '1.2.4');
    assert.equal(await show('teleport.service', 'ActiveState'), 'active');
    const log = await agentLog();
    assert.match(log, /agent crashed: teleport 1\.2\.5/);
    assert.match(log, /agent started: teleport 1\.2\.4/, 'restarted onto the version rolled back to');
    const errors = (await run('journalctl', '-u', 'teleport-upgrade.service', '-p', 'err', '-o', 'cat', '--no-pager')).stdout;
    assert.match(errors, /teleport 1\.2\.5 is unhealthy after the upgrade: systemd restarted teleport\.service/);
    assert.match(errors, /failed its health check .* and was rolled back to 1\.2\.4, which is healthy again/);
    const state = JSON.parse((await run('cat', '/var/lib/teleport-upgrade/state.json')).stdout) as { badTarget: { version: string } };
    assert.equal(state.badTarget.version, '1.2.5');
    // The next run leaves 1.2.5 alone while the channel serves it.
    await run('systemctl', 'start', 'teleport-upgrade.service');
    assert.equal(await installedVersion(), '1.2.4');
  });

  it('a failed run leaves the unit failed, with the reason as its last journal line', async () => {
    // The proxy becomes unreachable: the next run fails to fetch the target.
    await run('systemctl', 'stop', 'e2e-version-server.service');
    await run('systemctl', 'stop', 'teleport-upgrade.timer');
    await run('systemctl', 'reset-failed', 'teleport-upgrade.service');
    const started = await container!.exec(['systemctl', 'start', 'teleport-upgrade.service'], { reject: false });
    assert.notEqual(started.exitCode, 0);
    assert.equal(await show('teleport-upgrade.service', 'Result'), 'exit-code');
    assert.equal(await show('teleport-upgrade.service', 'ActiveState'), 'failed');
    const last = (await run('journalctl', '-u', 'teleport-upgrade.service', '-o', 'json', '--no-pager')).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { MESSAGE: string; PRIORITY: string; SYSLOG_IDENTIFIER?: string })
      .filter((entry) => entry.SYSLOG_IDENTIFIER === 'teleport-upgrade')
      .at(-1);
    assert.match(last?.MESSAGE ?? '', /failed to get target version/);
    assert.equal(last?.PRIORITY, '3');
    assert.equal(await installedVersion(), '1.2.4');
  });

  /** Polls `check` every 500 ms for up to 120 s. */
  const waitFor = async (check: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 120_000;
    while (!(await check())) {
      if (Date.now() > deadline) {
        const journal = (await container!.exec(['journalctl', '-n', '80', '--no-pager'], { reject: false })).stdout;
        throw new Error(`timed out waiting for ${what}; the container's journal ends:\n${journal}`);
      }
      await sleep(500);
    }
  };
});
