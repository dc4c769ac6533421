// Table tests of the act phase on a recording fake host (apt): install, restart, judge, roll back, and what is recorded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentState } from '../../src/agent/agent-service.ts';
import { decide } from '../../src/core/decide.ts';
import { factsOf, planRun, snapshotOf } from '../../src/core/planned.ts';
import { emptyState, type State } from '../../src/core/state.ts';
import { act } from '../../src/run/act.ts';
import { stateRecord } from '../../src/run/state-store.ts';
import {
  ARGV,
  acting,
  agent,
  CACHE,
  CRASH_LOOPING,
  dpkg,
  fail,
  healthyUpgrade,
  KEPT,
  packagesAt,
  PKG,
  planInput,
  runContext,
  STATE_FILE,
  type Answers,
} from '../support/apt-host.ts';
import { fakeHost } from '../support/fake-host.ts';

interface Row {
  readonly name: string;
  /** Answers that differ from an upgrade that goes well. */
  readonly answers?: Answers;
  readonly held?: boolean;
  readonly agentState?: AgentState;
  /** The error the run ends with, if any. */
  readonly error?: RegExp;
  /** Lines the log must hold. */
  readonly says?: readonly RegExp[];
  /** The commands that change something, in order. */
  readonly acts: readonly string[];
  /** What the state file holds afterwards. */
  readonly state: Partial<Record<'badTarget' | 'inProgress', 'none' | 'set'>>;
}

const UPGRADE = [ARGV.refresh, ARGV.install('1.2.4')];
const RESTART = [ARGV.daemonReload, ARGV.reload];
const ROLLBACK = [ARGV.rollback(), ARGV.daemonReload, ARGV.restart];

const rows: readonly Row[] = [
  {
    name: 'an upgrade that goes well: installed, reloaded, judged healthy',
    says: [
      /^\[i\] kept a copy of teleport-ent 1\.2\.3 for a rollback/m,
      /^\[i\] teleport\.service is healthy on 1\.2\.4\.$/m,
      /^\[i\] upgrade to 1\.2\.4 complete\.$/m,
    ],
    acts: [...UPGRADE, ...RESTART],
    state: { badTarget: 'none', inProgress: 'none' },
  },
  {
    name: 'the install fails before unpacking: nothing changed, nothing undone, nothing marked bad',
    answers: { [ARGV.install('1.2.4')]: fail(100, 'E: Unable to acquire the dpkg frontend lock'), [ARGV.dpkgQuery]: dpkg('1.2.3') },
    error: /^upgrade attempt failed for teleport-ent=1\.2\.4; teleport-ent is still at 1\.2\.3\./,
    says: [/teleport-ent is still 1\.2\.3: the failed install changed nothing/],
    acts: UPGRADE,
    state: { badTarget: 'none', inProgress: 'none' },
  },
  {
    name: 'the install fails after unpacking: the half-done install is rolled back, the version not marked bad',
    answers: {
      [ARGV.install('1.2.4')]: fail(100, 'dpkg: error processing package teleport-ent'),
      [ARGV.dpkgQuery]: [dpkg('1.2.4', { configured: false }), dpkg('1.2.4', { configured: false }), dpkg('1.2.3')],
    },
    error: /^upgrade attempt failed for teleport-ent=1\.2\.4; teleport-ent is not fully installed/,
    says: [/the failed install left teleport-ent half-installed/, /^\[i\] teleport-ent 1\.2\.4 -> 1\.2\.3 rolled back\.$/m],
    acts: [...UPGRADE, ...ROLLBACK],
    state: { badTarget: 'none', inProgress: 'none' },
  },
  {
    name: 'the health check fails and the rollback succeeds: the target is recorded bad, the run fails',
    answers: { [ARGV.show]: [agent(), CRASH_LOOPING, agent()], [ARGV.dpkgQuery]: [dpkg('1.2.4'), dpkg('1.2.3')] },
    error:
      /failed its health check \(systemd restarted teleport\.service 3 time\(s\).*\) and was rolled back to 1\.2\.3, which is healthy again/,
    acts: [...UPGRADE, ...RESTART, ...ROLLBACK],
    state: { badTarget: 'set', inProgress: 'none' },
  },
  {
    name: 'the rollback fails, from the kept copy and from the repository: the record stays for the next run, and the error says what to do',
    answers: {
      [ARGV.show]: [agent(), CRASH_LOOPING],
      [ARGV.rollback()]: fail(100, 'E: broken'),
      [ARGV.install('1.2.3')]: fail(100, 'E: unreachable'),
      [ARGV.dpkgQuery]: dpkg('1.2.4'),
    },
    error: /^the rollback of teleport-ent to 1\.2\.3 failed; it is 1\.2\.4\. .*Install teleport-ent 1\.2\.3 by hand/,
    acts: [...UPGRADE, ...RESTART, ARGV.rollback(), ARGV.install('1.2.3')],
    state: { badTarget: 'set', inProgress: 'set' },
  },
  {
    name: "a kept copy that cannot be installed (left empty by a power cut): the repository's copy is installed instead",
    answers: {
      [ARGV.show]: [agent(), CRASH_LOOPING, agent()],
      [ARGV.rollback()]: fail(
        1,
        "dpkg-deb: error: '/var/lib/teleport-upgrade/rollback/teleport-ent_1.2.3_amd64.deb' is not a Debian format archive",
      ),
      [ARGV.install('1.2.3')]: {},
      [ARGV.dpkgQuery]: [dpkg('1.2.4'), dpkg('1.2.4'), dpkg('1.2.3')],
    },
    error: /failed its health check .* and was rolled back to 1\.2\.3, which is healthy again/,
    acts: [...UPGRADE, ...RESTART, ARGV.rollback(), ARGV.install('1.2.3'), ARGV.daemonReload, ARGV.restart],
    state: { badTarget: 'set', inProgress: 'none' },
  },
  {
    name: 'the previous version is also unhealthy: rolled back all the same, and said so',
    answers: { [ARGV.show]: [agent(), CRASH_LOOPING], [ARGV.dpkgQuery]: [dpkg('1.2.4'), dpkg('1.2.3')] },
    error: /and was rolled back to 1\.2\.3, which is ALSO unhealthy/,
    acts: [...UPGRADE, ...RESTART, ...ROLLBACK],
    state: { badTarget: 'set', inProgress: 'none' },
  },
  {
    name: 'the package manager reports success but the version did not change: nothing is restarted',
    answers: { [ARGV.dpkgQuery]: dpkg('1.2.3') },
    error: /^apt-get reported success but teleport-ent is 1\.2\.3 instead of 1\.2\.4; nothing was restarted\.$/,
    acts: UPGRADE,
    state: { badTarget: 'none', inProgress: 'none' },
  },
  {
    name: 'the agent was stopped on purpose: try-restart leaves it stopped, and it is not judged',
    agentState: 'inactive',
    says: [
      /teleport\.service was not running before the upgrade \(stopped on purpose\?\), so it was not started and its health is not judged/,
    ],
    answers: { [ARGV.tryRestart]: {} },
    acts: [...UPGRADE, ARGV.daemonReload, ARGV.tryRestart],
    state: { badTarget: 'none', inProgress: 'none' },
  },
  {
    name: 'the reload fails and falls back to try-restart, which restarts the agent onto the new version',
    answers: { [ARGV.reload]: fail(1, 'Job for teleport.service failed.'), [ARGV.tryRestart]: {} },
    says: [/could not gracefully restart the agent .*; trying to restart the agent instead/, /teleport\.service is healthy on 1\.2\.4/],
    acts: [...UPGRADE, ARGV.daemonReload, ARGV.reload, ARGV.tryRestart],
    state: { badTarget: 'none', inProgress: 'none' },
  },
  {
    name: 'a held package is installed through its hold, which is put back',
    held: true,
    acts: [ARGV.refresh, ARGV.install('1.2.4', true), ARGV.hold, ...RESTART],
    state: { badTarget: 'none', inProgress: 'none' },
  },
];

/** Runs act for an upgrade of 1.2.3 to 1.2.4 inside the window on a fake apt host. */
const actOn = async (row: Row) => {
  const held = row.held ?? false;
  const host = fakeHost({
    commands: { ...healthyUpgrade(held), ...row.answers },
    files: { [`${CACHE}${PKG}_1.2.3_amd64.deb`]: 'the 1.2.3 package' },
  });
  const ctx = runContext(host);
  const packages = packagesAt('1.2.3', held);
  // The agent's exported window holds the fake clock's now.
  const now = Math.floor(host.clock.now().getTime() / 1000);
  const snapshot = snapshotOf(
    {
      config: ctx.config,
      target: { kind: 'version', version: '1.2.4' },
      critical: false,
      cluster: { kind: 'version', version: '1.2.4' },
      packages,
      schedule: { kind: 'windows', windows: [{ start: now - 3600, stop: now + 3600 }] },
      state: emptyState,
    },
    host.clock.now(),
  );
  assert.equal(snapshot.windows.exported.state, 'inside');
  const facts = factsOf(snapshot, false);
  const planned = planRun(snapshot, facts, decide(facts), [], { input: planInput({ held, agent: row.agentState ?? 'active' }) });
  const state = stateRecord(ctx, emptyState);
  const error = await act(ctx, planned, state).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  await state.write();
  const written = host.files.get(STATE_FILE);
  return { host, error, state: written === undefined ? undefined : (JSON.parse(written) as State) };
};

describe('act (fake apt host)', () => {
  for (const row of rows) {
    it(row.name, async () => {
      const { host, error, state } = await actOn(row);
      assert.deepEqual(host.unexpected, [], 'every command had an answer');
      if (row.error === undefined) assert.equal(error, undefined, error?.stack);
      else assert.match(error?.message ?? 'no error', row.error);
      for (const pattern of row.says ?? []) assert.match(host.text(), pattern);
      assert.deepEqual(acting(host.commands), row.acts);
      assert.equal(state?.badTarget === null ? 'none' : 'set', row.state.badTarget, 'badTarget');
      assert.equal(state?.inProgress === null ? 'none' : 'set', row.state.inProgress, 'inProgress');
      if (row.state.badTarget === 'set') assert.equal(state?.badTarget?.version, '1.2.4');
    });
  }
  it('keeps a copy of the previous package before the install and rolls back from it', async () => {
    const { host } = await actOn(rows[3]!);
    assert.equal(host.files.get(KEPT), 'the 1.2.3 package');
    assert.ok(host.commands.indexOf(ARGV.rollback()) > host.commands.indexOf(ARGV.install('1.2.4')));
  });
});
