// The fleet's say in a run, on a fake apt host: a slot on record before it is asked for, none asked by dry-run, and given back only when the host is steady.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../src/core/decide.ts';
import { type Posted, retryDelayMs } from '../../src/core/fleet-lock.ts';
import { factsOf, planRun, snapshotOf } from '../../src/core/planned.ts';
import { emptyState, type State } from '../../src/core/state.ts';
import type { RunContext } from '../../src/run/context.ts';
import { gateOnFleetLock, releaseSlotIfDue } from '../../src/run/fleet-lock.ts';
import { stateRecord } from '../../src/run/state-store.ts';
import { agent, ARGV, CRASH_LOOPING, dpkg, packagesAt, planInput, runContext, STATE_FILE, type Answers } from '../support/apt-host.ts';
import { fakeHost, type FakeHost } from '../support/fake-host.ts';

const FLEET = { fleetlock: 'https://lock.example.com/base\n', 'fleetlock-group': 'workers\n' };
const MACHINE_ID = { '/etc/machine-id': '3d1219c7c4c5404aaa1f6d2a48adfda4\n' };
const ID = '0b31442a2d3649399f52cac84a0e8661';
const GRANTED: Posted = { ok: true, status: 200, body: '' };
const FULL: Posted = { ok: true, status: 500, body: '{"kind":"failed_lock","value":"all 1 semaphore slots currently locked"}\n' };

/** An upgrade of 1.2.3 to 1.2.4 inside the window, planned on a fake apt host. */
const plannedUpgrade = (ctx: RunContext) => {
  const now = Math.floor(ctx.host.clock.now().getTime() / 1000);
  const snapshot = snapshotOf(
    {
      config: ctx.config,
      target: { kind: 'version', version: '1.2.4' },
      critical: false,
      cluster: { kind: 'version', version: '1.2.4' },
      packages: packagesAt('1.2.3'),
      schedule: { kind: 'windows', windows: [{ start: now - 60, stop: now + 3600 }] },
      state: emptyState,
    },
    ctx.host.clock.now(),
  );
  const facts = factsOf(snapshot, false);
  return planRun(snapshot, facts, decide(facts), [], { input: planInput() });
};

describe('gateOnFleetLock (fake apt host)', () => {
  it('records the slot in the state file before it asks, and sends the id derived from the machine id', async () => {
    const host = fakeHost({ files: MACHINE_ID, fleetLock: { 'pre-reboot': GRANTED } });
    const onDisk: Array<string | undefined> = [];
    const post = host.postFleetLock;
    const watched: FakeHost = {
      ...host,
      postFleetLock: (url, body) => {
        onDisk.push(host.files.get(STATE_FILE));
        return post(url, body);
      },
    };
    const ctx = runContext(watched, 'run', FLEET);
    const state = stateRecord(ctx, emptyState);
    const gated = await gateOnFleetLock(ctx, plannedUpgrade(ctx), state);
    assert.deepEqual(host.posts, [`pre-reboot {"client_params":{"id":"${ID}","group":"workers"}}`]);
    const before = JSON.parse(onDisk[0]!) as State;
    assert.deepEqual(before.fleetLock, {
      server: 'https://lock.example.com/base',
      group: 'workers',
      id: ID,
      since: before.fleetLock?.since,
      confirmed: false,
    });
    assert.equal(gated.decision.reason, 'maintenance-window');
    assert.ok(gated.upgrade !== undefined);
    assert.equal(state.current().fleetLock?.confirmed, true);
    assert.match(
      host.text(),
      /^\[i\] the FleetLock server at https:\/\/lock\.example\.com\/base granted this host \(0b31442a2d3649399f52cac84a0e8661\) a slot in group "workers"\.$/m,
    );
  });

  it('a full group: nothing to install, the slot off record', async () => {
    const host = fakeHost({ files: MACHINE_ID, fleetLock: { 'pre-reboot': FULL } });
    const ctx = runContext(host, 'run', FLEET);
    const state = stateRecord(ctx, emptyState);
    const gated = await gateOnFleetLock(ctx, plannedUpgrade(ctx), state);
    assert.deepEqual([gated.decision.reason, gated.upgrade], ['fleet-lock-busy', undefined]);
    assert.equal(state.current().fleetLock, undefined);
    assert.equal(state.current().fleetLockAnswer?.said, 'HTTP 500: failed_lock: all 1 semaphore slots currently locked');
  });

  it('a slot held from a server or group the configuration no longer names: a warning that says what to clean up', async () => {
    const host = fakeHost({ files: MACHINE_ID, fleetLock: { 'pre-reboot': GRANTED } });
    const ctx = runContext(host, 'run', FLEET);
    const old = { server: 'https://old-lock.example.com', group: 'workers', id: ID, since: '2026-01-01T00:00:00.000Z', confirmed: true };
    const state = stateRecord(ctx, { ...emptyState, fleetLock: old });
    await gateOnFleetLock(ctx, plannedUpgrade(ctx), state);
    assert.match(
      host.text(),
      /^\[!\] this host held a slot in group "workers" of the FleetLock server at https:\/\/old-lock\.example\.com \(as 0b31442a2d3649399f52cac84a0e8661\), which the configuration no longer names; it is forgotten here, so if that server still counts it, remove 0b31442a2d3649399f52cac84a0e8661 from that group there\.$/m,
    );
    assert.equal(state.current().fleetLock?.server, 'https://lock.example.com/base');
  });

  it('the same slot asked for again (locks are recursive): no warning', async () => {
    const host = fakeHost({ files: MACHINE_ID, fleetLock: { 'pre-reboot': GRANTED } });
    const ctx = runContext(host, 'run', FLEET);
    const same = { server: 'https://lock.example.com/base', group: 'workers', id: ID, since: '2026-01-01T00:00:00.000Z', confirmed: true };
    const state = stateRecord(ctx, { ...emptyState, fleetLock: same });
    await gateOnFleetLock(ctx, plannedUpgrade(ctx), state);
    assert.doesNotMatch(host.text(), /no longer names/);
    assert.equal(state.current().fleetLock?.since, '2026-01-01T00:00:00.000Z', 'the record is the one it had');
  });

  it('a busy answer is asked again, at most three times in all and a few seconds apart; a rejection is not', async () => {
    const CONFLICT: Posted = { ok: true, status: 500, body: '{"kind":"failed_lock","value":"conflict on semaphore detected, aborting"}' };
    const REJECTED: Posted = { ok: true, status: 400, body: '{"kind":"unknown_group","value":"unknown group"}' };
    const rows: Array<[string, Posted | Posted[], number, string]> = [
      ['a race lost, then granted', [CONFLICT, GRANTED], 2, 'maintenance-window'],
      ['busy every time', FULL, 3, 'fleet-lock-busy'],
      ['rejected', REJECTED, 1, 'fleet-lock-rejected'],
    ];
    for (const [name, answers, asked, reason] of rows) {
      const host = fakeHost({ files: MACHINE_ID, fleetLock: { 'pre-reboot': answers } });
      const ctx = runContext(host, 'run', FLEET);
      const before = host.clock.now().getTime();
      const gated = await gateOnFleetLock(ctx, plannedUpgrade(ctx), stateRecord(ctx, emptyState));
      assert.equal(host.posts.length, asked, name);
      assert.equal(gated.decision.reason, reason, name);
      const waited = host.clock.now().getTime() - before;
      const expected = Array.from({ length: asked - 1 }, (_, i) => retryDelayMs(ID, i + 1)).reduce((a, b) => a + b, 0);
      assert.equal(waited, expected, `${name}: waited ${waited} ms`);
    }
  });

  it('dry-run asks nothing and writes nothing, but says it would', async () => {
    const host = fakeHost({ files: MACHINE_ID, fleetLock: { 'pre-reboot': GRANTED } });
    const ctx = runContext(host, 'dry-run', FLEET);
    const gated = await gateOnFleetLock(ctx, plannedUpgrade(ctx), stateRecord(ctx, emptyState));
    assert.deepEqual(host.posts, []);
    assert.equal(host.files.get(STATE_FILE), undefined);
    assert.deepEqual(gated.fleetLock, { server: 'https://lock.example.com/base', group: 'workers', id: ID, needed: true });
    assert.match(
      host.text(),
      /^\[i\] run would first ask the FleetLock server at https:\/\/lock\.example\.com\/base for a slot in group "workers"/m,
    );
  });

  it('without a machine id or fleetlock-id, says how to set one (exit 2)', async () => {
    const ctx = runContext(fakeHost(), 'run', FLEET);
    await assert.rejects(gateOnFleetLock(ctx, plannedUpgrade(ctx), stateRecord(ctx, emptyState)), (e: Error & { exitStatus?: number }) => {
      assert.equal(e.exitStatus, 2);
      assert.match(
        e.message,
        /^\/etc\/machine-id cannot be read, so this host has no id to take FleetLock slots as\. Write one .* to \/etc\/teleport-upgrade\.d\/fleetlock-id\.$/,
      );
      return true;
    });
  });

  it('a plan that installs nothing asks for nothing', async () => {
    const host = fakeHost({ files: MACHINE_ID });
    const ctx = runContext(host, 'run', FLEET);
    const plan = plannedUpgrade(ctx);
    const { upgrade: _, ...nothing } = plan;
    const gated = await gateOnFleetLock(
      ctx,
      { ...nothing, decision: { ...plan.decision, action: 'none', reason: 'outside-window' } },
      stateRecord(ctx, emptyState),
    );
    assert.deepEqual(host.posts, []);
    assert.equal(gated.fleetLock?.needed, false);
  });
});

describe('releaseSlotIfDue (fake apt host)', () => {
  const slot = {
    server: 'https://lock.example.com/base',
    group: 'workers',
    id: 'node-1',
    since: '2026-11-23T00:00:00.000Z',
    confirmed: true,
  };
  const rows: Array<[string, Partial<State>, Answers, boolean, RegExp]> = [
    [
      'steady: given back',
      {},
      {},
      true,
      /^\[i\] gave back the slot in group "workers" of the FleetLock server at https:\/\/lock\.example\.com\/base\.$/m,
    ],
    [
      'after a rollback: kept',
      { badTarget: { version: '1.2.4', reason: 'crash-looping', at: slot.since } },
      {},
      false,
      /^\[i\] keeping the slot in group "workers" .*: 1\.2\.4 failed its health check here and is recorded as bad; it goes back once this host is steady\.$/m,
    ],
    [
      'the agent crash-loops: kept',
      {},
      { [ARGV.show]: CRASH_LOOPING },
      false,
      /teleport\.service is activating \(auto-restart\), not running/,
    ],
    [
      'half-configured: kept',
      {},
      { [ARGV.dpkgQuery]: dpkg('1.2.4', { configured: false }) },
      false,
      /the Teleport package is not fully installed/,
    ],
  ];
  for (const [name, over, answers, released, says] of rows) {
    it(name, async () => {
      const host = fakeHost({
        commands: { [ARGV.dpkgQuery]: dpkg('1.2.4'), [ARGV.show]: agent(), ...answers },
        fleetLock: { 'steady-state': GRANTED },
      });
      const ctx = runContext(host, 'run');
      const state = stateRecord(ctx, { ...emptyState, fleetLock: slot, ...over });
      await releaseSlotIfDue(ctx, state);
      assert.deepEqual(host.posts, released ? ['steady-state {"client_params":{"id":"node-1","group":"workers"}}'] : []);
      assert.equal(state.current().fleetLock === undefined, released);
      assert.match(host.text(), says);
    });
  }
  it('a release that lost a race is asked again, and goes back', async () => {
    const CONFLICT: Posted = { ok: true, status: 500, body: '{"kind":"failed_unlock","value":"conflict on semaphore detected, aborting"}' };
    const host = fakeHost({
      commands: { [ARGV.dpkgQuery]: dpkg('1.2.4'), [ARGV.show]: agent() },
      fleetLock: { 'steady-state': [CONFLICT, GRANTED] },
    });
    const state = stateRecord(runContext(host), { ...emptyState, fleetLock: slot });
    await releaseSlotIfDue(runContext(host), state);
    assert.equal(host.posts.length, 2);
    assert.equal(state.current().fleetLock, undefined);
    assert.match(host.text(), /^\[i\] gave back the slot in group "workers"/m);
  });
  it('a server that cannot take it back: kept, with a warning; dry-run only says', async () => {
    const host = fakeHost({ commands: { [ARGV.dpkgQuery]: dpkg('1.2.4'), [ARGV.show]: agent() }, fleetLock: { 'steady-state': FULL } });
    const state = stateRecord(runContext(host), { ...emptyState, fleetLock: slot });
    await releaseSlotIfDue(runContext(host), state);
    assert.deepEqual(state.current().fleetLock, slot);
    assert.match(host.text(), /^\[!\] could not give back the slot .* \(HTTP 500: failed_lock: .*\); the next run tries again\.$/m);
    const dry = fakeHost({ commands: { [ARGV.dpkgQuery]: dpkg('1.2.4'), [ARGV.show]: agent() } });
    await releaseSlotIfDue(runContext(dry, 'dry-run'), stateRecord(runContext(dry, 'dry-run'), { ...emptyState, fleetLock: slot }));
    assert.deepEqual(dry.posts, []);
    assert.match(dry.text(), /^\[i\] run would give back the slot in group "workers"/m);
  });
});
