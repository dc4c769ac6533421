// The state file's schema: older versions read, every field kept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextState } from '../../src/core/next-state.ts';
import { emptyState, parseState } from '../../src/core/state.ts';

describe('the state file, version 5', () => {
  it('reads version 3 with no last run and zero counters; the last run and counters come through nextState', () => {
    const v3 = { version: 3, kind: 'teleport-upgrade-state', unhealthySince: null, badTarget: null, inProgress: null };
    assert.deepEqual(parseState(JSON.stringify(v3)), emptyState);
    const now = new Date('2026-11-23T01:00:00.000Z');
    const lastRun = {
      at: now.toISOString(),
      command: 'run',
      outcome: 'upgraded',
      exitStatus: 0,
      reason: 'critical',
      durationSeconds: 3.1,
      from: '1.2.3',
      to: '1.2.4',
    } as const;
    const after = [{ type: 'upgraded' } as const, { type: 'rolled-back' } as const, { type: 'run-finished', lastRun } as const].reduce(
      (s, e) => nextState(s, e, now),
      emptyState,
    );
    assert.deepEqual([after.counters, after.lastRun, after.lastSuccessAt], [{ upgrades: 1, rollbacks: 1 }, lastRun, now.toISOString()]);
    const failed = nextState(
      after,
      { type: 'run-finished', lastRun: { ...lastRun, at: '2026-11-23T02:00:00.000Z', outcome: 'failed', exitStatus: 1 } },
      now,
    );
    assert.equal(failed.lastSuccessAt, now.toISOString(), 'a failure keeps the last success');
  });
  it('keeps a FleetLock slot and its last answer, and writes neither key while there is none', async () => {
    const { serializeState } = await import('../../src/core/state.ts');
    const withSlot = {
      ...emptyState,
      fleetLock: {
        server: 'https://lock.example.com',
        group: 'workers',
        id: 'node-1',
        since: '2026-11-23T01:00:00.000Z',
        confirmed: false,
      },
      fleetLockAnswer: {
        at: '2026-11-23T01:00:00.000Z',
        request: 'pre-reboot',
        server: 'https://lock.example.com',
        granted: false,
        said: 'no answer: x',
      },
    } as const;
    assert.deepEqual(parseState(serializeState(withSlot)), withSlot);
    assert.doesNotMatch(serializeState(emptyState), /fleetLock/);
    assert.equal(typeof parseState(JSON.stringify({ ...withSlot, fleetLock: { ...withSlot.fleetLock, confirmed: 'yes' } })), 'string');
  });
});
