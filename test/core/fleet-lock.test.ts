// The FleetLock protocol as data: the host's id, what is sent, what each answer means, the gate on a plan, and when a slot goes back.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { decide } from '../../src/core/decide.ts';
import { explain } from '../../src/core/explain.ts';
import {
  appSpecificId,
  FLEET_LOCK_APP_ID,
  gateOnSlot,
  holdsAfter,
  releaseVerdict,
  retryDelayMs,
  slotAnswerOf,
  slotRequestBody,
  slotUrl,
  type ReleaseFacts,
  type SlotAnswer,
} from '../../src/core/fleet-lock.ts';
import { factsOf, planRun, snapshotOf, type Planned } from '../../src/core/planned.ts';
import { emptyState } from '../../src/core/state.ts';
import { config, packagesAt, planInput } from '../support/apt-host.ts';

/** systemd-id128 machine-id --app-specific=b6e082f8167a48e4b160914be2629041 on a host whose machine id is the first. */
const SYSTEMD_VECTOR = ['3d1219c7c4c5404aaa1f6d2a48adfda4', '0b31442a2d3649399f52cac84a0e8661'] as const;

describe("the host's FleetLock id", () => {
  it("is systemd's app-specific machine id: a hash the raw machine id cannot be read back from", () => {
    assert.equal(appSpecificId(`${SYSTEMD_VECTOR[0]}\n`), SYSTEMD_VECTOR[1]);
    assert.notEqual(appSpecificId(SYSTEMD_VECTOR[0]), SYSTEMD_VECTOR[0]);
    assert.equal(
      appSpecificId(SYSTEMD_VECTOR[0], 'ffffffffffffffffffffffffffffffff') === SYSTEMD_VECTOR[1],
      false,
      'another application, another id',
    );
    for (const bad of [
      '',
      'uninitialized\n',
      '3D1219C7C4C5404AAA1F6D2A48ADFDA4',
      '3d1219c7-c4c5-404a-aa1f-6d2a48adfda4',
      '3d1219c7c4c5404aaa1f6d2a48adfda',
    ]) {
      assert.equal(appSpecificId(bad), undefined, bad);
    }
  });
  it('matches systemd-id128 on this host', {
    skip: existsSync('/etc/machine-id') ? undefined : 'this host has no /etc/machine-id',
  }, async () => {
    const tool = await execa('systemd-id128', ['machine-id', `--app-specific=${FLEET_LOCK_APP_ID}`], { reject: false });
    if (tool.exitCode !== 0) {
      assert.match(
        tool.stderr + String(tool.failed),
        /No such file|not found|ENOENT|true/,
        'only a missing tool or machine id excuses this',
      );
      return;
    }
    const { readFile } = await import('node:fs/promises');
    assert.equal(appSpecificId(await readFile('/etc/machine-id', 'utf8')), tool.stdout.trim());
  });
});

describe('the requests', () => {
  it("carry the protocol's body, under the configured base", () => {
    assert.deepEqual(JSON.parse(slotRequestBody('c988d2509fdf5cdcbed39037c56406fb', 'workers')), {
      client_params: { id: 'c988d2509fdf5cdcbed39037c56406fb', group: 'workers' },
    });
    assert.equal(slotUrl('https://example.com/base', 'pre-reboot'), 'https://example.com/base/v1/pre-reboot');
    assert.equal(slotUrl('https://example.com', 'steady-state'), 'https://example.com/v1/steady-state');
  });
});

describe('what an answer means', () => {
  const airlock = (status: number, kind: string, value: string) => ({
    ok: true as const,
    status,
    body: `${JSON.stringify({ kind, value })}\n`,
  });
  const rows: Array<[string, Parameters<typeof slotAnswerOf>[0], SlotAnswer['kind'], RegExp]> = [
    ['200: granted', { ok: true, status: 200, body: '' }, 'granted', /^HTTP 200$/],
    [
      "airlock's full semaphore",
      airlock(500, 'failed_lock', 'all 1 semaphore slots currently locked'),
      'busy',
      /^HTTP 500: failed_lock: all 1 semaphore slots currently locked$/,
    ],
    [
      "airlock's store unreachable",
      airlock(500, 'failed_sem_init', 'failed to initialize semaphore manager: context deadline exceeded'),
      'busy',
      /failed_sem_init/,
    ],
    ['too many requests', { ok: true, status: 429, body: '' }, 'busy', /^HTTP 429 \(no FleetLock error in the body\)$/],
    [
      'a proxy in front, unavailable',
      { ok: true, status: 503, body: '<html>Service Unavailable</html>' },
      'busy',
      /^HTTP 503 \(no FleetLock error in the body\)$/,
    ],
    ['an unknown group', airlock(400, 'unknown_group', 'unknown group "x"'), 'rejected', /^HTTP 400: unknown_group: unknown group "x"$/],
    [
      'a wrong base URL',
      { ok: true, status: 404, body: '404 page not found\n' },
      'rejected',
      /^HTTP 404 \(no FleetLock error in the body\)$/,
    ],
    ['a redirect (not followed)', { ok: true, status: 302, body: '' }, 'rejected', /^HTTP 302/],
    ["201 is not the protocol's success", { ok: true, status: 201, body: '' }, 'rejected', /^HTTP 201/],
    [
      'an error body with control characters',
      airlock(500, 'failed_lock\u001b[31m', 'all\u202e slots'),
      'busy',
      /^HTTP 500: failed_lock\\x1b\[31m: all\\u202e slots$/,
    ],
    [
      'no answer',
      { ok: false, problem: 'connect ECONNREFUSED 127.0.0.1:3333' },
      'unreachable',
      /^no answer: connect ECONNREFUSED 127\.0\.0\.1:3333$/,
    ],
  ];
  for (const [name, posted, kind, said] of rows) {
    it(name, async () => {
      const answer = slotAnswerOf(posted);
      assert.equal(answer.kind, kind);
      const { describeAnswer } = await import('../../src/core/fleet-lock.ts');
      assert.match(describeAnswer(answer), said);
    });
  }
  it('tells whether the host holds a slot afterwards, or cannot know', () => {
    const granted: SlotAnswer = { kind: 'granted' };
    const busy: SlotAnswer = { kind: 'busy', status: 500, said: 'HTTP 500' };
    const none: SlotAnswer = { kind: 'unreachable', problem: 'timeout' };
    assert.deepEqual(
      [holdsAfter('pre-reboot', granted), holdsAfter('pre-reboot', busy), holdsAfter('pre-reboot', none)],
      ['held', 'free', 'unknown'],
    );
    assert.deepEqual(
      [holdsAfter('steady-state', granted), holdsAfter('steady-state', busy), holdsAfter('steady-state', none)],
      ['free', 'unknown', 'unknown'],
    );
  });
});

describe('the gate on a plan that installs', () => {
  const planned = (over: { forced?: boolean; markedUnhealthy?: boolean; noSchedule?: boolean } = {}): Planned => {
    const now = Math.floor(Date.parse('2026-11-23T01:00:00Z') / 1000);
    const snapshot = snapshotOf(
      {
        config: config(),
        target: { kind: 'version', version: '1.2.4' },
        critical: false,
        cluster: { kind: 'version', version: '1.2.4' },
        packages: packagesAt('1.2.3'),
        schedule: over.noSchedule ? { kind: 'missing' } : { kind: 'windows', windows: [{ start: now - 60, stop: now + 3600 }] },
        state: { ...emptyState, unhealthySince: over.markedUnhealthy ? '2026-11-22T01:00:00.000Z' : null },
      },
      new Date(now * 1000),
    );
    const facts = factsOf(snapshot, over.forced ?? false);
    return planRun(snapshot, facts, decide(facts), [], { input: planInput() });
  };
  const slot = (answer: SlotAnswer) => ({
    server: 'https://lock.example.com',
    group: 'workers',
    id: 'node-1',
    purpose: 'upgrade' as const,
    answer,
  });

  it('a granted slot leaves the plan as it is', () => {
    const plan = planned();
    const gated = gateOnSlot(plan, slot({ kind: 'granted' }));
    assert.equal(gated.decision, plan.decision);
    assert.equal(gated.upgrade, plan.upgrade);
  });
  const rows: Array<[string, SlotAnswer, string, number, RegExp]> = [
    [
      'busy',
      { kind: 'busy', status: 500, said: 'HTTP 500: failed_lock: all 1 semaphore slots currently locked' },
      'fleet-lock-busy',
      0,
      /^not installing 1\.2\.4 now: the FleetLock server at https:\/\/lock\.example\.com has no free slot in group "workers" \(HTTP 500: failed_lock: all 1 semaphore slots currently locked\); the next run asks again\.$/,
    ],
    [
      'rejected',
      { kind: 'rejected', status: 400, said: 'HTTP 400: unknown_group: unknown group "workers"' },
      'fleet-lock-rejected',
      1,
      /^not installing 1\.2\.4: the FleetLock server at https:\/\/lock\.example\.com rejected the request for a slot in group "workers" \(HTTP 400: unknown_group: unknown group "workers"\), and asking again will not change that\. Check \/etc\/teleport-upgrade\.d\/fleetlock/,
    ],
    [
      'unreachable',
      { kind: 'unreachable', problem: 'no complete answer within 10 s' },
      'fleet-lock-unreachable',
      1,
      /^not installing 1\.2\.4: the FleetLock server at https:\/\/lock\.example\.com could not be asked for a slot \(no answer: no complete answer within 10 s\), and nothing is installed without one\./,
    ],
  ];
  for (const [name, answer, reason, exitStatus, sentence] of rows) {
    it(`${name}: nothing is installed, and the decision says why`, () => {
      const gated = gateOnSlot(planned({ forced: true }), slot(answer));
      assert.deepEqual([gated.decision.action, gated.decision.reason, gated.decision.exitStatus], ['none', reason, exitStatus]);
      assert.equal(gated.upgrade, undefined);
      assert.match(explain(gated.decision, gated.facts, '/etc/teleport-upgrade.d'), sentence);
    });
  }
  it('keeps the unhealthy mark for an unhealthy agent that could not be upgraded, and clears it for a healthy schedule', () => {
    const busy: SlotAnswer = { kind: 'busy', status: 500, said: 'HTTP 500' };
    assert.equal(
      gateOnSlot(planned({ markedUnhealthy: true }), slot(busy)).decision.mark,
      'clear',
      'the schedule is healthy: the mark goes',
    );
    const unhealthy = planned({ markedUnhealthy: true, noSchedule: true });
    assert.deepEqual([unhealthy.decision.reason, unhealthy.decision.mark], ['unhealthy-agent', 'clear']);
    assert.equal(gateOnSlot(unhealthy, slot(busy)).decision.mark, 'keep', 'no upgrade happened: the agent stays marked');
    const reinstall = gateOnSlot(planned(), { ...slot(busy), purpose: 'reinstall' });
    assert.match(explain(reinstall.decision, reinstall.facts, '/etc'), /^not reinstalling 1\.2\.3 over its damaged files now:/);
  });
});

describe('when a slot goes back', () => {
  const running = { activeState: 'active', subState: 'running', mainPid: 42, restarts: 0 };
  const steady: ReleaseFacts = { inProgress: false, badTarget: null, packageConfigured: true, agent: running };
  const rows: Array<[string, Partial<ReleaseFacts>, string | undefined]> = [
    ['steady: the agent runs', {}, undefined],
    ['the agent is stopped on purpose', { agent: { ...running, activeState: 'inactive', subState: 'dead', mainPid: 0 } }, undefined],
    ['no systemd to ask', { agent: undefined }, undefined],
    ['after a rollback: the bad target is on record', { badTarget: '1.2.4' }, '1.2.4 failed its health check here and is recorded as bad'],
    ['an install in flight', { inProgress: true }, 'an install is still in flight'],
    ['the package half-installed', { packageConfigured: false }, 'the Teleport package is not fully installed'],
    [
      'the package database could not be asked',
      { packageConfigured: undefined },
      'the package database could not be asked how Teleport is installed',
    ],
    [
      'the agent crash-loops',
      { agent: { ...running, activeState: 'activating', subState: 'auto-restart' } },
      'teleport.service is activating (auto-restart), not running',
    ],
    [
      'the agent failed',
      { agent: { ...running, activeState: 'failed', subState: 'failed' } },
      'teleport.service is failed (failed), not running',
    ],
  ];
  for (const [name, over, why] of rows) {
    it(name, () => {
      const verdict = releaseVerdict({ ...steady, ...over });
      assert.deepEqual(verdict, why === undefined ? { due: true } : { due: false, why });
    });
  }
});

describe('retryDelayMs', () => {
  it('waits half a second more each attempt, plus a share of a second that differs between hosts', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `host-${i}`);
    for (const id of ids) {
      for (const attempt of [1, 2]) {
        const wait = retryDelayMs(id, attempt);
        assert.ok(wait >= 500 * attempt && wait < 500 * attempt + 1000, `${id}, attempt ${attempt}: ${wait} ms`);
      }
      assert.equal(retryDelayMs(id, 2) - retryDelayMs(id, 1), 500);
    }
    assert.ok(new Set(ids.map((id) => retryDelayMs(id, 1))).size > 40, 'hosts that raced do not ask again together');
  });
});
