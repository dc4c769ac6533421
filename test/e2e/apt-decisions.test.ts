// End to end on real apt: each decision path, run as the real CLI against a per-test apt root and version server.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aptMissing } from '../support/tools.ts';
import { laterWindow, openWindow, sandboxPerTest, sandboxState, staleWindow } from '../support/sandbox.ts';
import { pingBody } from '../support/version-server.ts';
import { processStart } from '../../src/host/lock.ts';

const missing = await aptMissing();

describe('decisions against real apt', { skip: missing, concurrency: 2 }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('upgrades inside the maintenance window, refreshing only the Teleport source', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const r = await s.cli(['run', '--debug']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
      assert.match(r.stderr, /^\[i\] an upgrade is available \(1\.2\.3 -> 1\.2\.4\)$/m);
      assert.match(r.stderr, /^\[i\] within maintenance window, upgrade will be attempted\.$/m);
      assert.match(
        r.stderr,
        /running: apt-get update -o Dir::Etc::sourcelist=sources.list.d\/teleport.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0/,
      );
      assert.match(r.stderr, /^\[i\] upgrade to 1\.2\.4 complete\.$/m);
    }));

  it('does nothing outside the window and says when the next one opens', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: laterWindow() } }, async (s) => {
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      assert.match(r.stderr, /outside of maintenance window, not attempting; the next window opens at \d{4}-\d\d-\d\dT/);
    }));

  it('upgrades a critical target outside the window', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: laterWindow() } }, async (s) => {
      s.server.answer('v1.2.4', 'YES\n');
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /upgrade is marked as critical/);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }));

  it('marks an agent without a schedule, then upgrades it on the next run, then clears the mark', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      const first = await s.cli(['run']);
      assert.equal(first.exitCode, 0, first.stderr);
      assert.match(first.stderr, /^\[i\] agent does not appear to have exported a valid upgrade schedule \(schedule missing\)/m);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      const state = JSON.parse(await readFile(join(s.stateDir, 'state.json'), 'utf8'));
      assert.equal(state.kind, 'teleport-upgrade-state');
      assert.match(state.unhealthySince, /^\d{4}-/);

      const second = await s.cli(['run']);
      assert.equal(second.exitCode, 0, second.stderr);
      assert.match(second.stderr, /agent was previously marked unhealthy and does not appear recovered/);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
      assert.equal(JSON.parse(await readFile(join(s.stateDir, 'state.json'), 'utf8')).unhealthySince, null);
    }));

  it('treats a schedule whose windows all ended as unhealthy, and a healthy schedule clears the mark', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: staleWindow() } }, async (s) => {
      const dry = await s.cli(['dry-run', '--json']);
      assert.equal(JSON.parse(dry.stdout).window.state, 'stale');
      assert.equal((await s.cli(['run'])).exitCode, 0);
      assert.notEqual(JSON.parse(await readFile(join(s.stateDir, 'state.json'), 'utf8')).unhealthySince, null);
      await s.write('schedule', laterWindow());
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(JSON.parse(await readFile(join(s.stateDir, 'state.json'), 'utf8')).unhealthySince, null);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
    }));

  it('dry-run prints the exact commands and changes nothing: no package, no mark, no state file', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const statusFile = join(s.apt.root, 'var/lib/dpkg/status');
      const before = await readFile(statusFile, 'utf8');
      const r = await s.cli(['dry-run', '--json']);
      assert.equal(r.exitCode, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(
        {
          installed: out.installed,
          target: out.target,
          critical: out.critical,
          state: out.window.state,
          action: out.action,
          reason: out.reason,
        },
        { installed: '1.2.3', target: '1.2.4', critical: false, state: 'inside', action: 'upgrade', reason: 'maintenance-window' },
      );
      assert.deepEqual(out.commands[0], [
        'apt-get',
        'update',
        '-o',
        'Dir::Etc::sourcelist=sources.list.d/teleport.list',
        '-o',
        'Dir::Etc::sourceparts=-',
        '-o',
        'APT::Get::List-Cleanup=0',
      ]);
      assert.deepEqual(out.commands[1], [
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
        'teleport-ent=1.2.4',
      ]);
      assert.equal(await readFile(statusFile, 'utf8'), before);
      assert.equal(existsSync(join(s.stateDir, 'state.json')), false, 'no state is written');
      assert.equal(existsSync(join(s.stateDir, 'lock')), false, 'the lock is released');

      await rm(join(s.configDir, 'schedule'));
      const unhealthy = await s.cli(['dry-run', '--json']);
      assert.equal(JSON.parse(unhealthy.stdout).reason, 'marked-unhealthy');
      assert.match(unhealthy.stderr, /dry run: the mark is not written/);
      assert.equal(existsSync(join(s.stateDir, 'state.json')), false, 'no state is written');
      assert.equal(existsSync(join(s.stateDir, 'lock')), false, 'the lock is released');
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
    }));

  it('force upgrades outside the window', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: laterWindow() } }, async (s) => {
      const r = await s.cli(['force']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /force was requested/);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }));

  it('installs an older target too, and says downgrade', () =>
    withSandbox({ installed: 'teleport-ent=1.2.4', config: { schedule: openWindow() } }, async (s) => {
      s.server.answer('v1.2.3');
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /a downgrade is available \(1\.2\.4 -> 1\.2\.3\)/);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
    }));

  it('does nothing when the channel serves none, or the installed version', () =>
    withSandbox({ installed: 'teleport-ent=1.2.4', config: { schedule: openWindow() } }, async (s) => {
      s.server.answer('none');
      const none = await s.cli(['dry-run', '--json']);
      assert.equal(none.exitCode, 0, none.stderr);
      assert.deepEqual([JSON.parse(none.stdout).reason, JSON.parse(none.stdout).target], ['no-target', null]);
      s.server.answer('v1.2.4\n');
      const same = await s.cli(['run']);
      assert.equal(same.exitCode, 0, same.stderr);
      assert.match(same.stderr, /^\[i\] no upgrades available \(1\.2\.4 == 1\.2\.4\)$/m);
    }));

  it('keeps hands off when a v2 agent wrote nop, even for a critical target', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: '# generated by teleport\nnop\n' } }, async (s) => {
      s.server.answer('v1.2.4', 'yes');
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /Managed Updates v2 agent/);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      // Its own state records only that it stood down (for status and the metrics): no mark, nothing in flight.
      const state = (await sandboxState(s)) as unknown as {
        unhealthySince: unknown;
        inProgress: unknown;
        badTarget: unknown;
        lastRun: { outcome: string; reason: string };
      };
      assert.deepEqual(
        [state.unhealthySince, state.inProgress, state.badTarget, state.lastRun.outcome, state.lastRun.reason],
        [null, null, null, 'waiting', 'managed-by-v2'],
      );
      assert.equal(existsSync(join(s.stateDir, 'lock')), false, 'the lock is released');
    }));

  it('with the nop installer, logs the exact commands it would run and changes nothing', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow(), installer: 'nop\n' } }, async (s) => {
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /^\[i\] attempting nop install teleport-ent=1\.2\.4\.\.\. the nop installer changes nothing\.$/m);
      assert.match(r.stderr, /^\[i\] nop: would run: apt-get install -y --allow-downgrades .* teleport-ent=1\.2\.4$/m);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
    }));

  it('refuses a pre-release target unless allow-prerelease says yes', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      s.server.answer('v1.3.0-beta.1');
      const refused = await s.cli(['run']);
      assert.equal(refused.exitCode, 1);
      assert.match(refused.stderr, /refusing to install pre-release 1\.3\.0-beta\.1/);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      await s.write('allow-prerelease', 'yes\n');
      const allowed = await s.cli(['run']);
      assert.equal(allowed.exitCode, 0, allowed.stderr);
      assert.equal(await s.status(), 'install ok installed\t1.3.0~beta.1');
    }));

  it('one run at a time: a run or force that finds another in progress exits 0 at once; dry-run says so without taking the lock; a dead holder is taken over', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const holder = spawn('sleep', ['60']);
      try {
        await once(holder, 'spawn');
        const start = await processStart(holder.pid!);
        await mkdir(s.stateDir, { recursive: true });
        const lock = join(s.stateDir, 'lock');
        const held = JSON.stringify({ pid: holder.pid, start, command: 'teleport-upgrade run', since: '2026-11-22T10:00:00.000Z' });
        await writeFile(lock, held);
        for (const command of ['run', 'force']) {
          const r = await s.cli([command]);
          assert.equal(r.exitCode, 0, r.stderr);
          assert.match(
            r.stderr,
            new RegExp(
              `another teleport-upgrade is in progress: pid ${holder.pid} \\(teleport-upgrade run, since 2026-11-22T10:00:00.000Z\\) holds .*/lock; leaving it to finish`,
            ),
          );
          assert.doesNotMatch(r.stderr, /upgrade is available/, 'it stops before asking the proxy');
        }
        const dry = await s.cli(['dry-run']);
        assert.equal(dry.exitCode, 0, dry.stderr);
        assert.match(
          dry.stderr,
          new RegExp(
            `another teleport-upgrade is in progress: pid ${holder.pid} \\(teleport-upgrade run, since 2026-11-22T10:00:00.000Z\\) holds .*/lock; run would leave it to finish and do nothing now`,
          ),
        );
        assert.equal(await s.status(), 'install ok installed\t1.2.3');
        assert.equal(await readFile(lock, 'utf8'), held, 'the holder keeps its lock');

        holder.kill();
        await once(holder, 'exit');
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(`^\\[!\\] took over .*/lock from the lock of pid ${holder.pid} .*, which is no longer running\\.$`, 'm'),
        );
        assert.equal(await s.status(), 'install ok installed\t1.2.4');
        assert.equal(existsSync(lock), false, 'released at the end');
      } finally {
        holder.kill();
      }
    }));

  it('version-skew guard: refuses a target a major ahead of the cluster, even forced; an unreachable ping only warns', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      s.server.answer('v2.0.0');
      s.server.ping({ body: pingBody('1.9.0') });
      const refused = await s.cli(['force']);
      assert.equal(refused.exitCode, 1, refused.stderr);
      assert.match(
        refused.stderr,
        /^\[!\] refusing to install 2\.0\.0: the cluster runs 1\.9\.0, and an agent must never run a newer major version than its cluster/m,
      );
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      const dry = await s.cli(['dry-run', '--json']);
      assert.equal(dry.exitCode, 1);
      assert.equal(JSON.parse(dry.stdout).reason, 'version-skew');

      s.server.answer('v1.2.4');
      s.server.ping({ status: 404, body: 'not found' });
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(
        r.stderr,
        /^\[!\] could not learn the cluster's version \(https:\/\/127\.0\.0\.1:\d+\/webapi\/ping: HTTP 404\); installing without the version-skew check\.$/m,
      );
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }));
});
