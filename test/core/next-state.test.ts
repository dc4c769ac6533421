// Table tests for nextState: every change to the updater's state, as a pure function of the state, an event and the time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextState, type StateEvent } from '../../src/core/next-state.ts';
import { emptyState, type InProgress, type State } from '../../src/core/state.ts';

const now = new Date('2026-11-23T01:02:03.000Z');
const earlier = '2026-11-20T00:00:00.000Z';
const bad = { version: '1.2.4', reason: 'systemd restarted teleport.service 3 time(s)', at: earlier };
const progress: InProgress = {
  purpose: 'upgrade',
  from: '1.2.3',
  fromExact: '1.2.3',
  to: '1.2.4',
  agentWasActive: true,
  held: true,
  rollbackFile: null,
  at: earlier,
};
const state = (over: Partial<State> = {}): State => ({ ...emptyState, ...over });

const slot = { server: 'https://lock.example.com', group: 'workers', id: 'node-1' };
const asked = { ...slot, since: earlier, confirmed: false };
const answered = (request: 'pre-reboot' | 'steady-state', granted: boolean, said: string) => ({
  fleetLockAnswer: { at: now.toISOString(), request, server: slot.server, granted, said },
});
const busy = { kind: 'busy', status: 500, said: 'HTTP 500: failed_lock: all 1 semaphore slots currently locked' } as const;
const noAnswer = { kind: 'unreachable', problem: 'no complete answer within 10 s' } as const;

const cases: Array<[string, State, StateEvent, State]> = [
  [
    'a FleetLock slot is on record before it is asked for',
    state(),
    { type: 'fleet-lock-asked', ...slot },
    state({ fleetLock: { ...slot, since: now.toISOString(), confirmed: false } }),
  ],
  [
    'asking again for the same slot keeps its record',
    state({ fleetLock: asked }),
    { type: 'fleet-lock-asked', ...slot },
    state({ fleetLock: asked }),
  ],
  [
    'a granted slot is confirmed',
    state({ fleetLock: asked }),
    { type: 'fleet-lock-answered', request: 'pre-reboot', server: slot.server, answer: { kind: 'granted' } },
    state({ fleetLock: { ...asked, confirmed: true }, ...answered('pre-reboot', true, 'HTTP 200') }),
  ],
  [
    'a refused slot is not held',
    state({ fleetLock: asked }),
    { type: 'fleet-lock-answered', request: 'pre-reboot', server: slot.server, answer: busy },
    state(answered('pre-reboot', false, busy.said)),
  ],
  [
    'no answer: the slot may be held, so its record stays',
    state({ fleetLock: asked }),
    { type: 'fleet-lock-answered', request: 'pre-reboot', server: slot.server, answer: noAnswer },
    state({ fleetLock: asked, ...answered('pre-reboot', false, 'no answer: no complete answer within 10 s') }),
  ],
  [
    'a slot given back is off record',
    state({ fleetLock: { ...asked, confirmed: true } }),
    { type: 'fleet-lock-answered', request: 'steady-state', server: slot.server, answer: { kind: 'granted' } },
    state(answered('steady-state', true, 'HTTP 200')),
  ],
  [
    'a slot that could not be given back stays on record',
    state({ fleetLock: { ...asked, confirmed: true } }),
    { type: 'fleet-lock-answered', request: 'steady-state', server: slot.server, answer: busy },
    state({ fleetLock: { ...asked, confirmed: true }, ...answered('steady-state', false, busy.said) }),
  ],
  ['set marks an unmarked agent now', state(), { type: 'mark', mark: 'set' }, state({ unhealthySince: now.toISOString() })],
  [
    'set keeps the time an agent was first marked',
    state({ unhealthySince: earlier }),
    { type: 'mark', mark: 'set' },
    state({ unhealthySince: earlier }),
  ],
  ['clear removes the mark', state({ unhealthySince: earlier }), { type: 'mark', mark: 'clear' }, state()],
  ['keep changes nothing', state({ unhealthySince: earlier }), { type: 'mark', mark: 'keep' }, state({ unhealthySince: earlier })],
  ['a different target clears a bad one', state({ badTarget: bad }), { type: 'target-served', target: '1.2.5' }, state()],
  ['the same target keeps it', state({ badTarget: bad }), { type: 'target-served', target: '1.2.4' }, state({ badTarget: bad })],
  ['force clears it', state({ badTarget: bad }), { type: 'forced' }, state()],
  [
    'an install started is on record',
    state({ unhealthySince: earlier }),
    { type: 'install-started', progress },
    state({ unhealthySince: earlier, inProgress: progress }),
  ],
  [
    'an install that is over is off record, the rest kept',
    state({ badTarget: bad, inProgress: progress }),
    { type: 'install-ended' },
    state({ badTarget: bad }),
  ],
  [
    'a failed target is recorded with its reason and the time',
    state({ inProgress: progress }),
    { type: 'target-failed', target: '1.2.4', reason: 'crash-looping' },
    state({ inProgress: progress, badTarget: { version: '1.2.4', reason: 'crash-looping', at: now.toISOString() } }),
  ],
  [
    'a failed target replaces an older record',
    state({ badTarget: { ...bad, version: '1.2.2' } }),
    { type: 'target-failed', target: '1.2.4', reason: 'x' },
    state({ badTarget: { version: '1.2.4', reason: 'x', at: now.toISOString() } }),
  ],
];

describe('nextState', () => {
  for (const [name, before, event, after] of cases) {
    it(name, () => {
      const frozen = structuredClone(before);
      assert.deepEqual(nextState(before, event, now), after);
      assert.deepEqual(before, frozen, 'the state it was given is left as it was');
    });
  }
  it('caps a recorded reason so the state file stays readable', () => {
    const next = nextState(state(), { type: 'target-failed', target: '1.2.4', reason: 'x'.repeat(5000) }, now);
    assert.equal(next.badTarget?.reason.length, 1000);
  });
});
