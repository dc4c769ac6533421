// How a run ended: its outcome, most telling first, and the event hooks hear of.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hookEventOf, outcomeOf, type RunEnd } from '../../src/core/run-outcome.ts';

const end = (over: Partial<RunEnd>): RunEnd => ({
  busy: false,
  reason: undefined,
  exitStatus: 0,
  refused: false,
  rolledBack: false,
  upgraded: false,
  repaired: false,
  ...over,
});

describe('the outcome of a run', () => {
  const rows: Array<[string, Partial<RunEnd>, string, string | undefined]> = [
    ['another run held the lock', { busy: true }, 'busy', undefined],
    ['a rollback, whatever else', { rolledBack: true, exitStatus: 1, reason: 'maintenance-window' }, 'rolled-back', 'rolled-back'],
    ['an install that failed', { exitStatus: 1, reason: 'maintenance-window' }, 'failed', 'failed'],
    ['the proxy unreachable', { exitStatus: 1 }, 'failed', 'failed'],
    ['an unusable state dir', { exitStatus: 2 }, 'failed', 'failed'],
    ['a refused pre-release', { exitStatus: 1, refused: true, reason: 'prerelease-refused' }, 'refused', 'failed'],
    ['a known-bad target skipped', { reason: 'known-bad' }, 'refused', undefined],
    ['an upgrade', { upgraded: true, reason: 'critical' }, 'upgraded', 'upgraded'],
    ['damaged files reinstalled', { repaired: true, reason: 'up-to-date' }, 'repaired', 'repaired'],
    ['an interrupted transaction finished, then nothing to do', { repaired: true, reason: 'outside-window' }, 'repaired', 'repaired'],
    ['up to date', { reason: 'up-to-date' }, 'up-to-date', undefined],
    ['no target', { reason: 'no-target' }, 'no-target', undefined],
    ['outside the window', { reason: 'outside-window' }, 'waiting', undefined],
    ['outside the local window', { reason: 'outside-local-window' }, 'waiting', undefined],
    ['during a freeze', { reason: 'frozen' }, 'waiting', undefined],
    ['marked unhealthy', { reason: 'marked-unhealthy' }, 'waiting', undefined],
    ['the nop installer described an upgrade', { reason: 'maintenance-window' }, 'waiting', undefined],
    ['no free FleetLock slot', { reason: 'fleet-lock-busy' }, 'waiting', 'fleet-lock-busy'],
    ['the FleetLock server unreachable', { exitStatus: 1, refused: true, reason: 'fleet-lock-unreachable' }, 'failed', 'failed'],
    ['the FleetLock server rejects the request', { exitStatus: 1, refused: true, reason: 'fleet-lock-rejected' }, 'failed', 'failed'],
  ];
  for (const [name, over, outcome, event] of rows) {
    it(name, () => {
      const e = end(over);
      assert.equal(outcomeOf(e), outcome);
      assert.equal(hookEventOf(outcomeOf(e), e.exitStatus, e.reason), event);
    });
  }
});
