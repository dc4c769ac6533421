// Do no harm, against real apt: the agent's health is judged after an install, a failure is rolled back and remembered.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { killAptRunInPostinst, openWindow, sandboxPerTest, sandboxState as state, type Sandbox } from '../support/sandbox.ts';
import { aptMissing, sh } from '../support/tools.ts';

const missing = await aptMissing();

const SHOW = 'show teleport.service --property=ActiveState,SubState,MainPID,NRestarts';
const systemctlCalls = async (s: Sandbox) => (await readFile(s.systemctlLog, 'utf8')).trim().split('\n');

/** The agent's diagnostic endpoint: /readyz answers `status`. */
const startReadyz = async () => {
  let status = 200;
  const server: Server = createServer((req, res) => {
    res.writeHead(req.url === '/readyz' ? status : 404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    answer: (s: number) => {
      status = s;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

describe('do no harm: health check and rollback against real apt', { skip: missing, concurrency: 2 }, () => {
  const { withSandbox, fixtures } = sandboxPerTest({ before, after });
  const active = { FAKE_SYSTEMCTL_MODE: 'active' };

  /** The sandbox's Teleport source becomes a repository of its own that no longer offers 1.2.3. */
  const dropFromRepository = async (s: Sandbox) => {
    const repo = join(s.dir, 'repo-without-1.2.3');
    await sh('cp', ['-a', fixtures().repo, repo]);
    await rm(join(repo, 'teleport-ent_1.2.3_amd64.deb'));
    await writeFile(join(repo, 'Packages'), await sh('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: repo }));
    await writeFile(join(s.apt.root, 'etc/apt/sources.list.d/teleport.list'), `deb [trusted=yes] file:${repo} ./\n`);
  };

  it('an agent that crash-loops on the new version is rolled back; the version is skipped until force', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const broken = { ...active, FAKE_BROKEN_VERSIONS: '1.2.4' };
      const r = await s.cli(['run'], broken);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(
        r.stderr,
        /^\[!\] teleport 1\.2\.4 is unhealthy after the upgrade: systemd restarted teleport\.service 3 time\(s\) since the install \(it keeps crashing\)\.$/m,
      );
      assert.match(r.stderr, /^\[!\] rolling back teleport-ent to 1\.2\.3\.$/m);
      assert.match(r.stderr, /^\[i\] teleport-ent 1\.2\.4 -> 1\.2\.3 rolled back\.$/m);
      assert.match(
        r.stderr,
        /^\[!\] teleport 1\.2\.4 failed its health check \(.*\) and was rolled back to 1\.2\.3, which is healthy again\. 1\.2\.4 will not be installed again while the channel serves it; teleport-upgrade force overrides that\.$/m,
      );
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      assert.ok((await systemctlCalls(s)).includes('restart teleport.service'), 'the broken agent is restarted onto the old version');
      const recorded = await state(s);
      assert.equal(recorded.version, 5);
      assert.equal(recorded.badTarget?.version, '1.2.4');
      assert.match(recorded.badTarget?.reason ?? '', /restarted teleport\.service/);
      assert.equal(recorded.inProgress, null);

      // The channel keeps serving 1.2.4: skipped, even inside the window, with a warning and exit 0.
      const skipped = await s.cli(['run'], broken);
      assert.equal(skipped.exitCode, 0, skipped.stderr);
      assert.match(skipped.stderr, /^\[!\] not installing 1\.2\.4: it failed its health check on this host and was rolled back/m);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      const dry = await s.cli(['dry-run', '--json'], broken);
      assert.equal(JSON.parse(dry.stdout).reason, 'known-bad');

      // force installs it anyway (the operator fixed something) and clears the record once it is healthy.
      const forced = await s.cli(['force'], active);
      assert.equal(forced.exitCode, 0, forced.stderr);
      assert.match(forced.stderr, /force clears the record of 1\.2\.4 failing its health check/);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
      assert.equal((await state(s)).badTarget, null);
    }));

  it('a different target clears the record and is installed', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const r = await s.cli(['run'], { ...active, FAKE_BROKEN_VERSIONS: '1.2.4' });
      assert.equal(r.exitCode, 1, r.stderr);
      s.server.answer('v1.2.5');
      const next = await s.cli(['run'], active);
      assert.equal(next.exitCode, 0, next.stderr);
      assert.match(next.stderr, /the new target 1\.2\.5 clears the record of 1\.2\.4 failing its health check/);
      assert.equal(await s.status(), 'install ok installed\t1.2.5-1');
      assert.equal((await state(s)).badTarget, null);
    }));

  it("judges /readyz from the agent's diag_addr for the whole settle period, and rolls back when it never answers 200", () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow(), 'health-settle': '2s\n' } }, async (s) => {
      const readyz = await startReadyz();
      try {
        const yaml = join(s.dir, 'teleport.yaml');
        await writeFile(
          yaml,
          `version: v3\nteleport:\n  nodename: test\n  diag_addr: "0.0.0.0:${readyz.port}"\nssh_service:\n  enabled: true\n`,
        );
        await s.write('teleport-config', `${yaml}\n`);
        readyz.answer(503);
        const r = await s.cli(['run'], active);
        assert.equal(r.exitCode, 1, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(
            `checking that teleport\\.service stays healthy for 2 s and that http://127\\.0\\.0\\.1:${readyz.port}/readyz answers 200`,
          ),
        );
        assert.match(r.stderr, /unhealthy after the upgrade: the agent's \/readyz did not answer HTTP 200 within 2 s \(last: HTTP 503\)/);
        assert.equal(await s.status(), 'install ok installed\t1.2.3');
        // The settle period is sampled about once a second.
        assert.ok((await systemctlCalls(s)).filter((c) => c === SHOW).length >= 3);

        readyz.answer(200);
        const forced = await s.cli(['force'], active);
        assert.equal(forced.exitCode, 0, forced.stderr);
        assert.match(forced.stderr, /teleport\.service is healthy on 1\.2\.4/);
        assert.equal(await s.status(), 'install ok installed\t1.2.4');
      } finally {
        await readyz.close();
      }
    }));

  it('an agent stopped on purpose is neither started nor judged', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const r = await s.cli(['run'], { ...active, FAKE_AGENT_STOPPED: '1', FAKE_BROKEN_VERSIONS: '1.2.4' });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(
        r.stderr,
        /teleport\.service was not running before the upgrade \(stopped on purpose\?\), so it was not started and its health is not judged/,
      );
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
      const calls = await systemctlCalls(s);
      assert.ok(
        !calls.includes(SHOW) && !calls.includes('restart teleport.service') && !calls.includes('start teleport.service'),
        calls.join('\n'),
      );
    }));

  it('an install that fails before changing anything is not rolled back and marks nothing bad', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      s.server.answer('v1.2.6'); // its dependency cannot be satisfied: apt refuses before touching anything
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /teleport-ent is still 1\.2\.3: the failed install changed nothing/);
      assert.doesNotMatch(r.stderr, /rolling back/);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      assert.equal((await state(s)).badTarget, null);
    }));

  it('an install that fails half-way is rolled back to the previous version, without marking the target bad', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      s.server.answer('v1.2.7');
      await writeFile(join(s.apt.root, 'fail-postinst'), '');
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /the failed install left teleport-ent (half-installed|at 1\.2\.7)/);
      assert.match(r.stderr, /^\[i\] teleport-ent 1\.2\.7 -> 1\.2\.3 rolled back\.$/m);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      assert.equal((await state(s)).badTarget, null);
    }));

  it('killed in the middle of an install: the next run finishes the transaction, judges the agent and rolls back a broken version', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      await killAptRunInPostinst(s, '1.2.7', active);
      assert.match(await s.status(), /half-configured\t1\.2\.7/);
      assert.equal((await state(s)).inProgress !== null, true, 'the interrupted upgrade is on record');

      const r = await s.cli(['run'], { ...active, FAKE_BROKEN_VERSIONS: '1.2.7' });
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /was left half-installed by an interrupted package transaction; finishing it first/);
      assert.match(r.stderr, /a previous run was interrupted while upgrading teleport-ent 1\.2\.3 -> 1\.2\.7/);
      assert.match(r.stderr, /teleport 1\.2\.7 is unhealthy after the upgrade/);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      assert.equal((await state(s)).badTarget?.version, '1.2.7');
      assert.equal((await state(s)).inProgress, null);
    }));

  it('keeps a copy of the previous package before upgrading, downloaded from the repository', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /kept a copy of teleport-ent 1\.2\.3 for a rollback: .*\/rollback\/teleport-ent_1\.2\.3_amd64\.deb/);
      assert.deepEqual(await readdir(join(s.stateDir, 'rollback')), ['teleport-ent_1.2.3_amd64.deb']);
    }));

  it('rolls back from the copy taken from the apt cache when the repository no longer offers the previous version', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      await dropFromRepository(s);
      const cache = join(s.apt.root, 'var/cache/apt/archives');
      await mkdir(cache, { recursive: true });
      await copyFile(join(fixtures().repo, 'teleport-ent_1.2.3_amd64.deb'), join(cache, 'teleport-ent_1.2.3_amd64.deb'));
      const r = await s.cli(['run'], { ...active, FAKE_BROKEN_VERSIONS: '1.2.4' });
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /kept a copy of teleport-ent 1\.2\.3 for a rollback/);
      assert.match(r.stderr, /^\[i\] teleport-ent 1\.2\.4 -> 1\.2\.3 rolled back\.$/m);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
    }));

  it('rolls back from the kept copy when the repository is gone by then', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const repo = join(s.dir, 'repo-copy');
      await sh('cp', ['-a', fixtures().repo, repo]);
      await writeFile(join(s.apt.root, 'etc/apt/sources.list.d/teleport.list'), `deb [trusted=yes] file:${repo} ./\n`);
      const r = await s.cli(['run'], { ...active, FAKE_BROKEN_VERSIONS: '1.2.4', FAKE_GONE_AFTER_INSTALL: repo });
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /^\[i\] teleport-ent 1\.2\.4 -> 1\.2\.3 rolled back\.$/m);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      assert.equal((await state(s)).inProgress, null);
    }));

  it('warns before upgrading when the previous version can be found nowhere', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      await dropFromRepository(s);
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(
        r.stderr,
        /^\[!\] neither the repositories nor the package cache hold teleport-ent 1\.2\.3 any more: if 1\.2\.4 turns out unhealthy it cannot be rolled back automatically\.$/m,
      );
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }));
});
