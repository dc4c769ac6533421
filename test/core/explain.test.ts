// The sentences for local windows and freezes: each names the constraint that holds and when it lifts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, type Facts } from '../../src/core/decide.ts';
import { explain } from '../../src/core/explain.ts';
import type { Windows } from '../../src/schedule/windows.ts';
import { windowsOf } from '../support/windows.ts';

const facts = (windows: Windows, over: Partial<Facts> = {}): Facts => ({
  forced: false,
  installed: '1.2.3',
  target: { kind: 'version', version: '1.2.4' },
  critical: false,
  windows,
  markedUnhealthy: false,
  allowPrerelease: false,
  cluster: { kind: 'version', version: '1.2.4' },
  badTarget: null,
  ...over,
});
const NEXT = new Date('2026-11-28T01:00:00Z');
const sentence = (f: Facts) => explain(decide(f), f, '/etc/teleport-upgrade.d');

describe('explain: local windows and freezes', () => {
  const rows: Array<[string, Facts, RegExp]> = [
    [
      'inside the exported window, outside the local one',
      facts({ ...windowsOf({ state: 'inside', local: 'closed' }), next: NEXT }),
      /^outside the local maintenance window \(0 2 \* \* Sat,Sun 4h Europe\/Berlin\), not attempting the upgrade: the agent's maintenance window is open, the local one is not; the next time both windows are open is 2026-11-28T01:00:00\.000Z\.$/,
    ],
    [
      'marked unhealthy, outside the local window',
      facts({ ...windowsOf({ state: 'missing', local: 'closed' }), next: NEXT }, { markedUnhealthy: true }),
      /the agent was marked unhealthy \(schedule missing\), so only the local windows apply; the next local window opens at 2026-11-28T01:00:00\.000Z\.$/,
    ],
    [
      'outside both, with no meeting among the exported windows',
      facts(windowsOf({ state: 'outside', local: 'closed' })),
      /^upgrade is non-critical and we are outside of maintenance window, not attempting; no time at which both windows are open is known yet/,
    ],
    [
      'outside the exported window without local ones: as before',
      facts({ ...windowsOf(), next: NEXT }),
      /^upgrade is non-critical and we are outside of maintenance window, not attempting; the next window opens at 2026-11-28T01:00:00\.000Z\.$/,
    ],
    [
      'a freeze, even for a critical upgrade',
      facts(windowsOf({ state: 'inside', frozen: true }), { critical: true }),
      /^not installing 1\.2\.4: a change freeze is in effect \(2026-12-20T00:00:00Z 2027-01-04T00:00:00\+01:00\) until 2027-01-03T23:00:00\.000Z; nothing is installed during a freeze, not even a critical upgrade\. teleport-upgrade force overrides it\.$/,
    ],
    [
      'a freeze with no end in sight',
      facts({ ...windowsOf({ frozen: true }), freeze: { active: true, until: null, rule: '0 0 * * * 168h' } }),
      /a change freeze is in effect \(0 0 \* \* \* 168h\) until beyond the next 62 days/,
    ],
  ];
  for (const [name, input, expected] of rows) it(name, () => assert.match(sentence(input), expected));
});
