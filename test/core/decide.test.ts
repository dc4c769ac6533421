// Table tests for the pure decision, in v1's order with this project's additions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, type Facts } from '../../src/core/decide.ts';
import type { LocalState } from '../../src/schedule/local-windows.ts';
import type { WindowState } from '../../src/schedule/exported-window.ts';
import { windowsOf } from '../support/windows.ts';

const facts = ({ state, local, frozen, ...over }: Partial<Facts> & { state?: WindowState; local?: LocalState; frozen?: boolean } = {}): Facts => ({
  forced: false,
  installed: '1.2.3',
  target: { kind: 'version', version: '1.2.4' },
  critical: false,
  windows: windowsOf({ ...(state === undefined ? {} : { state }), ...(local === undefined ? {} : { local }), ...(frozen === undefined ? {} : { frozen }) }),
  markedUnhealthy: false,
  allowPrerelease: false,
  cluster: { kind: 'version', version: '1.2.4' },
  badTarget: null,
  ...over,
});

const cases: Array<[string, Facts, string, string, string, number?]> = [
  // name, facts, action, reason, mark, exit
  ['nop schedule keeps hands off even when critical and forced', facts({ state: 'nop', critical: true, forced: true }), 'none', 'managed-by-v2', 'keep'],
  ['no target', facts({ target: { kind: 'none' }, state: 'inside' }), 'none', 'no-target', 'keep'],
  ['installed equals target', facts({ installed: '1.2.4', state: 'inside', critical: true }), 'none', 'up-to-date', 'keep'],
  ['semver equality ignores build metadata', facts({ installed: '1.2.4', target: { kind: 'version', version: '1.2.4+abc' } }), 'none', 'up-to-date', 'keep'],
  ['pre-release refused before force', facts({ target: { kind: 'version', version: '1.3.0-beta.1' }, forced: true }), 'none', 'prerelease-refused', 'keep', 1],
  ['pre-release allowed', facts({ target: { kind: 'version', version: '1.3.0-beta.1' }, allowPrerelease: true, state: 'inside' }), 'upgrade', 'maintenance-window', 'keep'],
  ['force outside the window', facts({ forced: true }), 'upgrade', 'forced', 'keep'],
  ['critical outside the window', facts({ critical: true }), 'upgrade', 'critical', 'keep'],
  ['critical with an unhealthy schedule keeps the mark as it is', facts({ critical: true, state: 'missing', markedUnhealthy: true }), 'upgrade', 'critical', 'keep'],
  ['inside the window', facts({ state: 'inside' }), 'upgrade', 'maintenance-window', 'keep'],
  ['inside the window clears an old mark', facts({ state: 'inside', markedUnhealthy: true }), 'upgrade', 'maintenance-window', 'clear'],
  ['missing schedule, first run marks', facts({ state: 'missing' }), 'none', 'marked-unhealthy', 'set'],
  ['invalid schedule, first run marks', facts({ state: 'invalid' }), 'none', 'marked-unhealthy', 'set'],
  ['stale schedule, first run marks', facts({ state: 'stale' }), 'none', 'marked-unhealthy', 'set'],
  ['still unhealthy and marked: upgrade, then clear', facts({ state: 'stale', markedUnhealthy: true }), 'upgrade', 'unhealthy-agent', 'clear'],
  ['outside the window', facts(), 'none', 'outside-window', 'keep'],
  ['outside the window with a healthy schedule clears the mark', facts({ markedUnhealthy: true }), 'none', 'outside-window', 'clear'],
  ['up to date with a healthy schedule clears the mark', facts({ installed: '1.2.4', markedUnhealthy: true }), 'none', 'up-to-date', 'clear'],
  ['downgrade inside the window', facts({ installed: '1.2.5', state: 'inside' }), 'upgrade', 'maintenance-window', 'keep'],
  ['a target a major ahead of the cluster is refused, even forced', facts({ target: { kind: 'version', version: '18.0.0' }, cluster: { kind: 'version', version: '17.4.2' }, forced: true }), 'none', 'version-skew', 'keep', 1],
  ['a target two majors behind the cluster is refused, even critical', facts({ installed: '15.0.0', target: { kind: 'version', version: '15.4.0' }, cluster: { kind: 'version', version: '17.0.0' }, critical: true }), 'none', 'version-skew', 'keep', 1],
  ['a target one major behind the cluster is allowed', facts({ installed: '16.0.0', target: { kind: 'version', version: '16.4.0' }, cluster: { kind: 'version', version: '17.0.0' }, state: 'inside' }), 'upgrade', 'maintenance-window', 'keep'],
  ['a newer minor than the cluster is allowed (only majors are checked)', facts({ installed: '17.0.0', target: { kind: 'version', version: '17.5.0' }, cluster: { kind: 'version', version: '17.1.0' }, state: 'inside' }), 'upgrade', 'maintenance-window', 'keep'],
  ['an unknown cluster version does not block an upgrade within the installed major', facts({ target: { kind: 'version', version: '1.9.0' }, cluster: { kind: 'unknown', problem: 'timed out' }, state: 'inside' }), 'upgrade', 'maintenance-window', 'keep'],
  ['an unknown cluster version refuses a target in another major', facts({ installed: '1.2.4', target: { kind: 'version', version: '2.0.0' }, cluster: { kind: 'unknown', problem: 'timed out' }, state: 'inside' }), 'none', 'cluster-version-unknown', 'keep', 1],
  ['an unknown cluster version refuses a critical major upgrade too', facts({ installed: '1.2.4', target: { kind: 'version', version: '2.0.0' }, cluster: { kind: 'unknown', problem: 'timed out' }, critical: true }), 'none', 'cluster-version-unknown', 'keep', 1],
  ['an unknown cluster version refuses a major downgrade', facts({ installed: '2.0.1', target: { kind: 'version', version: '1.9.0' }, cluster: { kind: 'unknown', problem: 'timed out' }, state: 'inside' }), 'none', 'cluster-version-unknown', 'keep', 1],
  ['an unknown cluster version keeps the mark of an unhealthy agent it refuses', facts({ installed: '1.2.4', target: { kind: 'version', version: '2.0.0' }, cluster: { kind: 'unknown', problem: 'x' }, state: 'stale', markedUnhealthy: true }), 'none', 'cluster-version-unknown', 'keep', 1],
  ['outside the window an unknown cluster version is no refusal (nothing would be installed)', facts({ installed: '1.2.4', target: { kind: 'version', version: '2.0.0' }, cluster: { kind: 'unknown', problem: 'x' } }), 'none', 'outside-window', 'keep'],
  ['force is the operator\'s word across majors when the cluster version is unknown', facts({ target: { kind: 'version', version: '99.0.0' }, cluster: { kind: 'unknown', problem: 'refused' }, forced: true }), 'upgrade', 'forced', 'keep'],
  ['an unknown installed version cannot cross a major it cannot see', facts({ installed: null, target: { kind: 'version', version: '2.0.0' }, cluster: { kind: 'unknown', problem: 'x' }, state: 'inside' }), 'upgrade', 'maintenance-window', 'keep'],
  ['up to date wins over the skew check', facts({ installed: '18.0.0', target: { kind: 'version', version: '18.0.0' }, cluster: { kind: 'version', version: '17.0.0' } }), 'none', 'up-to-date', 'keep'],
  ['a target that failed its health check is skipped, even critical', facts({ badTarget: '1.2.4', critical: true, state: 'inside' }), 'none', 'known-bad', 'keep'],
  ['force installs a target that failed its health check', facts({ badTarget: '1.2.4', forced: true }), 'upgrade', 'forced', 'keep'],
  ['a different target is not held back by an old failure', facts({ badTarget: '1.2.3', state: 'inside', installed: '1.2.2' }), 'upgrade', 'maintenance-window', 'keep'],
  ['unknown installed version is upgraded', facts({ installed: null, state: 'inside' }), 'upgrade', 'maintenance-window', 'keep'],
  // Local windows and freezes.
  ['inside both windows', facts({ state: 'inside', local: 'open' }), 'upgrade', 'maintenance-window', 'keep'],
  ['inside the exported window, outside the local one', facts({ state: 'inside', local: 'closed' }), 'none', 'outside-local-window', 'keep'],
  ['outside the exported window, inside the local one', facts({ state: 'outside', local: 'open' }), 'none', 'outside-window', 'keep'],
  ['outside both windows: the exported one is named first', facts({ state: 'outside', local: 'closed' }), 'none', 'outside-window', 'keep'],
  ['a healthy schedule clears the mark outside the local window', facts({ state: 'inside', local: 'closed', markedUnhealthy: true }), 'none', 'outside-local-window', 'clear'],
  ['critical bypasses a closed local window', facts({ state: 'outside', local: 'closed', critical: true }), 'upgrade', 'critical', 'keep'],
  ['force bypasses a closed local window', facts({ state: 'outside', local: 'closed', forced: true }), 'upgrade', 'forced', 'keep'],
  ['unhealthy and marked, local window open', facts({ state: 'missing', local: 'open', markedUnhealthy: true }), 'upgrade', 'unhealthy-agent', 'clear'],
  ['unhealthy and marked, local window closed: the mark stays', facts({ state: 'stale', local: 'closed', markedUnhealthy: true }), 'none', 'outside-local-window', 'keep'],
  ['unhealthy and not yet marked: marked whatever the local window', facts({ state: 'invalid', local: 'closed' }), 'none', 'marked-unhealthy', 'set'],
  ['a freeze holds a critical upgrade', facts({ state: 'inside', local: 'open', critical: true, frozen: true }), 'none', 'frozen', 'keep'],
  ['a freeze holds an upgrade inside every window', facts({ state: 'inside', frozen: true }), 'none', 'frozen', 'keep'],
  ['a freeze holds the unhealthy-agent path', facts({ state: 'missing', markedUnhealthy: true, frozen: true }), 'none', 'frozen', 'keep'],
  ['force overrides a freeze', facts({ frozen: true, forced: true, critical: true }), 'upgrade', 'forced', 'keep'],
  ['a freeze is no reason to hide a refusal', facts({ frozen: true, target: { kind: 'version', version: '3.0.0' } }), 'none', 'version-skew', 'keep', 1],
  ['up to date during a freeze says up-to-date', facts({ frozen: true, installed: '1.2.4' }), 'none', 'up-to-date', 'keep'],
  ['nop during a freeze', facts({ frozen: true, state: 'nop' }), 'none', 'managed-by-v2', 'keep'],
  ['force during a freeze still never crosses the skew rule', facts({ frozen: true, forced: true, target: { kind: 'version', version: '3.0.0' } }), 'none', 'version-skew', 'keep', 1],
];

describe('decide', () => {
  for (const [name, input, action, reason, mark, exit = 0] of cases) {
    it(name, () => {
      assert.deepEqual(decide(input), { action, reason, mark, exitStatus: exit });
    });
  }
});
