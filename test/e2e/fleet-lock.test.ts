// The FleetLock client against a real etcd and a lock server with airlock's semantics: how many hosts install at once, a failing host halting its group, a killed run's slot, and every way the server can fail.
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CliResult } from '../support/cli.ts';
import { startEtcd, type Etcd } from '../support/etcd.ts';
import { startFleetLockServer, type FleetLockServer } from '../support/fleet-lock-server.ts';
import { createSandbox, killAptRunInPostinst, openWindow, sharedFixtures, type Fixtures, type Sandbox } from '../support/sandbox.ts';
import { aptMissing, etcdMissing } from '../support/tools.ts';

const missing = (await aptMissing()) ?? (await etcdMissing());

/** The agent runs (the stand-in systemctl reports it active) and must stay healthy for a second after an install. */
const ACTIVE = { FAKE_SYSTEMCTL_MODE: 'active' };

interface LogLine {
  readonly time: string;
  readonly msg: string;
}

/** The JSON log lines of a run. */
const logOf = (r: CliResult): LogLine[] =>
  r.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

const timeOf = (r: CliResult, pattern: RegExp): number | undefined => {
  const line = logOf(r).find((l) => pattern.test(l.msg));
  return line === undefined ? undefined : Date.parse(line.time);
};

const sentences = (r: CliResult): string =>
  logOf(r)
    .map((l) => l.msg)
    .join('\n');

/**
 * A hook in `s`'s hooks.d that records its environment per event; returns what an event's run told it, or undefined
 * where hooks cannot run (they must be root's, and this test is not root).
 */
const recordHooks = async (s: Sandbox): Promise<(event: string) => Promise<string | undefined>> => {
  if (process.getuid?.() !== 0) return async () => undefined;
  const hooks = join(s.configDir, 'hooks.d');
  const out = join(s.dir, 'hook-out');
  await mkdir(hooks, { recursive: true, mode: 0o755 });
  await chmod(hooks, 0o755);
  await mkdir(out);
  await writeFile(join(hooks, '10-record'), `#!/bin/sh\nenv | grep '^TELEPORT_UPGRADE_' | sort > "${out}/$TELEPORT_UPGRADE_EVENT"\n`, {
    mode: 0o755,
  });
  return (event) => readFile(join(out, event), 'utf8');
};

const state = async (s: Sandbox) =>
  JSON.parse(await readFile(join(s.stateDir, 'state.json'), 'utf8')) as {
    fleetLock?: { server: string; group: string; id: string; confirmed: boolean };
    fleetLockAnswer?: { request: string; granted: boolean; said: string };
    badTarget: { version: string } | null;
  };

describe('the FleetLock client against a real etcd', { skip: missing, concurrency: 2 }, () => {
  let fixtures: Fixtures;
  let etcd: Etcd;
  before(async () => {
    [fixtures, etcd] = await Promise.all([sharedFixtures({}), startEtcd()]);
  });
  after(() => etcd?.close());

  /**
   * `count` hosts on 1.2.3, each with its own state dir and FleetLock id, all asking the first one's channel (serving
   * 1.2.4, its window open) and one lock server with `slots` slots in `group`.
   */
  const withFleet = async (
    count: number,
    group: string,
    slots: number,
    body: (hosts: Sandbox[], server: FleetLockServer) => Promise<void>,
    extra: Record<string, string> = {},
  ): Promise<void> => {
    const server = await startFleetLockServer(etcd, { [group]: slots });
    const hosts: Sandbox[] = [];
    try {
      const made = await Promise.allSettled(
        Array.from({ length: count }, (_, i) =>
          createSandbox(fixtures, {
            installed: 'teleport-ent=1.2.3',
            config: {
              schedule: openWindow(),
              fleetlock: `${server.url}\n`,
              'fleetlock-group': `${group}\n`,
              'fleetlock-id': `${group}-host-${i}\n`,
              'health-settle': '1s\n',
              ...extra,
            },
          }),
        ),
      );
      for (const one of made) if (one.status === 'fulfilled') hosts.push(one.value);
      for (const one of made) if (one.status === 'rejected') throw one.reason;
      const channel = hosts[0]!;
      channel.server.answer('v1.2.4');
      for (const host of hosts.slice(1)) await host.write('endpoint', `${channel.server.endpoint}\n`);
      await body(hosts, server);
    } finally {
      await Promise.all(hosts.map((h) => h.close()));
      await server.close();
    }
  };

  /**
   * The installing host holds its slot (install, then a 5 s health check) for longer than the others keep asking
   * (three attempts within 3.5 s), even if they start a little later: the first round installs on one host only.
   */
  const HOLDS_LONGER_THAN_RETRIES = { 'health-settle': '5s\n' };

  /** Runs every host at once, `rounds` times at most, until all of them run 1.2.4; every round's results. */
  const untilAllUpgraded = async (hosts: Sandbox[], rounds: number, env: Record<string, string> = ACTIVE): Promise<CliResult[][]> => {
    const results: CliResult[][] = [];
    for (let round = 0; round < rounds; round++) {
      results.push(await Promise.all(hosts.map((h) => h.cli(['--log-format', 'json', 'run'], env))));
      const installed = await Promise.all(hosts.map((h) => h.status()));
      if (installed.every((s) => s === 'install ok installed\t1.2.4')) return results;
    }
    assert.fail(`not every host was upgraded within ${rounds} rounds`);
  };

  /** Each install's window, from the grant to the slot's return, as the host's own log tells them. */
  const installWindows = (results: CliResult[][]) =>
    results.flat().flatMap((r) => {
      const granted = timeOf(r, /^the FleetLock server at .* granted this host/);
      const installed = timeOf(r, /^teleport-ent 1\.2\.3 -> 1\.2\.4 installed\.$/);
      const returned = timeOf(r, /^gave back the slot in group/);
      if (installed === undefined) return [];
      assert.ok(granted !== undefined && returned !== undefined, `an install without a slot:\n${sentences(r)}`);
      assert.ok(granted <= installed && installed <= returned, 'installed while holding the slot');
      return [{ granted, returned }];
    });

  it('one slot: hosts that run at the same time install one after another, and all end on the target', () =>
    withFleet(
      3,
      'one',
      1,
      async (hosts, server) => {
        const results = await untilAllUpgraded(hosts, 6);
        const first = results[0]!;
        assert.ok(
          first.every((r) => r.exitCode === 0),
          first.map((r) => r.stderr).join('\n'),
        );
        const busy = first.filter((r) =>
          /^not installing 1\.2\.4 now: the FleetLock server at .* has no free slot in group "one"/m.test(sentences(r)),
        );
        assert.equal(busy.length, 2, 'two of the three found the slot taken, and stopped asking within the run');
        // airlock's two ways of saying no: the slot is taken, or another host changed the semaphore at the same moment.
        for (const r of busy) {
          assert.match(
            sentences(r),
            /\(HTTP 500: failed_lock: (?:all 1 semaphore slots currently locked|conflict on semaphore detected, aborting)\); the next run asks again\./,
          );
        }
        const windows = installWindows(results).sort((a, b) => a.granted - b.granted);
        assert.equal(windows.length, 3);
        for (let i = 1; i < windows.length; i++) assert.ok(windows[i - 1]!.returned <= windows[i]!.granted, 'never two installs at once');
        assert.equal(server.maxHolders('one'), 1);
        assert.deepEqual(await server.holders('one'), [], 'every slot given back');
        for (const h of hosts) assert.equal((await state(h)).fleetLock, undefined);
      },
      HOLDS_LONGER_THAN_RETRIES,
    ));

  it('two slots: at most two at once, and two do go at once', () =>
    withFleet(
      3,
      'two',
      2,
      async (hosts, server) => {
        const results = await untilAllUpgraded(hosts, 6);
        const windows = installWindows(results);
        assert.equal(windows.length, 3);
        const overlapping = (at: number) => windows.filter((w) => w.granted <= at && at < w.returned).length;
        assert.ok(Math.max(...windows.map((w) => overlapping(w.granted))) <= 2, 'never three installs at once');
        assert.equal(server.maxHolders('two'), 2);
        assert.deepEqual(await server.holders('two'), []);
      },
      // The server's count of holders tells it here: no settle period to wait out.
      { 'health-settle': '0\n' },
    ));

  it('a version that fails its health check halts the group until the operator clears it; then the rest go on', () =>
    withFleet(2, 'halt', 1, async (hosts, server) => {
      const broken = { ...ACTIVE, FAKE_BROKEN_VERSIONS: '1.2.4' };
      const [a, b] = hosts as [Sandbox, Sandbox];
      const told = await recordHooks(b);
      for (const s of hosts) {
        await mkdir(join(s.dir, 'textfile'));
        await s.write('metrics', `${join(s.dir, 'textfile')}/teleport-upgrade.prom\n`);
      }
      const failed = await a.cli(['--log-format', 'json', 'run'], broken);
      assert.equal(failed.exitCode, 1, failed.stderr);
      assert.match(sentences(failed), /failed its health check .* and was rolled back to 1\.2\.3/);
      assert.match(
        sentences(failed),
        /^keeping the slot in group "halt" .*: 1\.2\.4 failed its health check here and is recorded as bad; it goes back once this host is steady\.$/m,
      );
      assert.deepEqual(await server.holders('halt'), ['halt-host-0'], 'the failed host keeps its slot');
      assert.equal((await state(a)).fleetLock?.confirmed, true);

      // The rest of the group waits; so does the failed host (it skips the bad version).
      const [ra, rb] = await Promise.all([a.cli(['run'], broken), b.cli(['run'], broken)]);
      assert.equal(rb.exitCode, 0, rb.stderr);
      assert.match(rb.stderr, /^\[i\] not installing 1\.2\.4 now: the FleetLock server at .* has no free slot in group "halt"/m);
      assert.match(ra.stderr, /^\[!\] not installing 1\.2\.4: it failed its health check on this host/m);
      assert.equal(await b.status(), 'install ok installed\t1.2.3');
      const hook = await told('fleet-lock-busy');
      if (hook !== undefined) {
        assert.match(hook, /^TELEPORT_UPGRADE_EVENT=fleet-lock-busy$/m);
        assert.match(
          hook,
          /^TELEPORT_UPGRADE_REASON=not installing 1\.2\.4 now: the FleetLock server at .* has no free slot in group "halt"/m,
        );
        assert.match(hook, /^TELEPORT_UPGRADE_EXIT_STATUS=0$/m);
      }
      const metric = async (s: Sandbox) => readFile(join(s.dir, 'textfile/teleport-upgrade.prom'), 'utf8');
      assert.match(await metric(a), /^teleport_upgrade_fleet_lock_held\{group="halt"\} 1$/m);
      assert.match(await metric(b), /^teleport_upgrade_fleet_lock_held\{group="halt"\} 0$/m);
      const status = await b.cli(['status', '--offline']);
      assert.match(status.stdout, /^fleet lock: +http:\/\/127\.0\.0\.1:\d+\/base, group "halt", as halt-host-1: no slot held$/m);
      assert.match(
        status.stdout,
        /^fleet answer: .*: pre-reboot, not granted \(HTTP 500: failed_lock: all 1 semaphore slots currently locked\)$/m,
      );
      const held = await a.cli(['status', '--offline', '--json']);
      assert.deepEqual(
        { ...JSON.parse(held.stdout).fleetLock, slot: undefined, lastAnswer: undefined },
        { server: server.url, group: 'halt', id: 'halt-host-0', held: true, slot: undefined, lastAnswer: undefined },
      );

      // The operator fixed the agent and forces the version on the failed host: it installs within its own slot, is
      // healthy, and gives the slot back; the other host goes on.
      const forced = await a.cli(['--log-format', 'json', 'force'], ACTIVE);
      assert.equal(forced.exitCode, 0, forced.stderr);
      assert.match(sentences(forced), /^gave back the slot in group "halt"/m);
      const next = await b.cli(['run'], ACTIVE);
      assert.equal(next.exitCode, 0, next.stderr);
      assert.equal(await b.status(), 'install ok installed\t1.2.4');
      assert.deepEqual(await server.holders('halt'), []);
    }));

  it('a run killed while holding a slot: its successor judges the agent, then gives the slot back, or keeps it after a rollback', () =>
    withFleet(2, 'killed', 2, async (hosts, server) => {
      const [a, b] = hosts as [Sandbox, Sandbox];
      await killAptRunInPostinst(a, '1.2.7', ACTIVE);
      await killAptRunInPostinst(b, '1.2.7', ACTIVE);
      assert.deepEqual(await server.holders('killed'), ['killed-host-0', 'killed-host-1'], 'both were killed holding their slots');
      assert.equal((await state(a)).fleetLock?.confirmed, true, 'the slot was on record before the install started');

      const healthy = await a.cli(['run'], ACTIVE);
      assert.equal(healthy.exitCode, 0, healthy.stderr);
      assert.match(healthy.stderr, /^\[i\] teleport\.service is healthy on 1\.2\.7\.$/m);
      assert.match(healthy.stderr, /^\[i\] gave back the slot in group "killed"/m);
      const crashing = await b.cli(['run'], { ...ACTIVE, FAKE_BROKEN_VERSIONS: '1.2.7' });
      assert.equal(crashing.exitCode, 1, crashing.stderr);
      assert.match(crashing.stderr, /rolled back to 1\.2\.3/);
      assert.match(crashing.stderr, /^\[i\] keeping the slot in group "killed" .*1\.2\.7 failed its health check here/m);
      assert.deepEqual(await server.holders('killed'), ['killed-host-1']);
    }));

  it('dry-run takes no slot: it says that run would ask, and shows the lock in its JSON', () =>
    withFleet(1, 'dry', 1, async ([s], server) => {
      const dry = await s!.cli(['dry-run', '--json']);
      assert.equal(dry.exitCode, 0, dry.stderr);
      assert.match(
        dry.stderr,
        /^\[i\] run would first ask the FleetLock server at .* for a slot in group "dry" \(as dry-host-0\) and install only with one\.$/m,
      );
      const json = JSON.parse(dry.stdout);
      assert.equal(json.action, 'upgrade');
      assert.deepEqual(json.fleetLock, { server: server.url, group: 'dry', id: 'dry-host-0', needed: true, held: false, lastAnswer: null });
      assert.equal(server.events.length, 0, 'nothing was asked of the server');
      assert.deepEqual(await server.holders('dry'), []);
    }));

  it('the server refuses, cannot be reached, or answers garbage: nothing is installed, and the log says why', () =>
    withFleet(1, 'faults', 1, async ([s], server) => {
      const host = s!;
      const nothingInstalled = async () => assert.equal(await host.status(), 'install ok installed\t1.2.3');

      await host.write('fleetlock-group', 'no-such-group\n');
      const rejected = await host.cli(['run'], ACTIVE);
      assert.equal(rejected.exitCode, 1, rejected.stderr);
      assert.match(
        rejected.stderr,
        /^\[!\] not installing 1\.2\.4: the FleetLock server at .* rejected the request for a slot in group "no-such-group" \(HTTP 400: unknown_group: unknown group "no-such-group"\), and asking again will not change that\./m,
      );
      await nothingInstalled();
      await host.write('fleetlock-group', 'faults\n');

      server.mode('not-json');
      const unavailable = await host.cli(['run'], ACTIVE);
      assert.equal(unavailable.exitCode, 0, unavailable.stderr);
      assert.match(unavailable.stderr, /has no free slot in group "faults" \(HTTP 503 \(no FleetLock error in the body\)\)/);
      await nothingInstalled();

      server.mode('garbage');
      const garbage = await host.cli(['run'], ACTIVE);
      assert.equal(garbage.exitCode, 1, garbage.stderr);
      assert.match(
        garbage.stderr,
        /^\[!\] not installing 1\.2\.4: the FleetLock server at .* could not be asked for a slot \(no answer: .*\), and nothing is installed without one\./m,
      );
      await nothingInstalled();

      await host.write('fleetlock', 'http://127.0.0.1:1/base\n');
      const unreachable = await host.cli(['run'], ACTIVE);
      assert.equal(unreachable.exitCode, 1, unreachable.stderr);
      assert.match(unreachable.stderr, /could not be asked for a slot \(no answer: connect ECONNREFUSED 127\.0\.0\.1:1\)/);
      await nothingInstalled();
      // No answer came: the slot may have been granted, so it stays on record, and the run tried to give it back.
      assert.equal((await state(host)).fleetLock?.confirmed, false);
      assert.match(unreachable.stderr, /^\[!\] could not give back the slot in group "faults" .*; the next run tries again\.$/m);

      await host.write('fleetlock', `${server.url}\n`);
      server.mode('airlock');
      const ok = await host.cli(['run'], ACTIVE);
      assert.equal(ok.exitCode, 0, ok.stderr);
      assert.equal(await host.status(), 'install ok installed\t1.2.4');
      assert.equal((await state(host)).fleetLock, undefined);
    }));
});
