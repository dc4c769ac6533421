// The metrics text node_exporter's textfile collector reads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeLabel, renderMetrics } from '../../src/core/metrics.ts';
import { emptyState } from '../../src/core/state.ts';
import type { Windows } from '../../src/schedule/windows.ts';
import { windowsOf } from '../support/windows.ts';

describe('the metrics text', () => {
  const lastRun = {
    at: '2026-11-23T01:00:00.000Z',
    command: 'run',
    outcome: 'upgraded',
    exitStatus: 0,
    reason: 'critical',
    durationSeconds: 3.1,
    from: '1.2.3',
    to: '1.2.4',
  } as const;
  it('escapes label values as the exposition format requires', () => {
    assert.equal(escapeLabel('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    const text = renderMetrics({
      updater: '0.1.0',
      lastRun,
      state: emptyState,
      packages: { pkg: 'tele"port\\x', installer: 'apt', installed: '1.2.4' },
    });
    assert.match(
      text,
      /^teleport_upgrade_info\{updater="0\.1\.0",package="tele\\"port\\\\x",installer="apt",installed="1\.2\.4",target=""\} 1$/m,
    );
  });
  it('gives every series HELP and TYPE, and leaves out what the run could not learn', () => {
    const text = renderMetrics({
      updater: '0.1.0',
      lastRun,
      state: { ...emptyState, badTarget: { version: '1.2.5', reason: 'x', at: lastRun.at } },
    });
    for (const name of text.match(/^teleport_upgrade_\w+/gm) ?? []) {
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, 'm'));
      assert.match(text, new RegExp(`^# TYPE ${name} (gauge|counter)$`, 'm'));
    }
    assert.doesNotMatch(text, /upgrade_available|critical|window_open|next_window|last_success_timestamp/);
    assert.match(text, /^teleport_upgrade_bad_target_info\{version="1\.2\.5"\} 1$/m);
    assert.match(text, /^teleport_upgrade_last_run_timestamp_seconds 1795395600$/m);
  });
  it('says an upgrade is available when the target differs from what is installed', () => {
    const with_ = (installed: string) =>
      renderMetrics({
        updater: '0.1.0',
        lastRun,
        state: emptyState,
        packages: { pkg: 'p', installer: 'apt', installed },
        channel: { target: '1.2.4', critical: true },
      });
    assert.match(with_('1.2.3'), /^teleport_upgrade_upgrade_available 1$/m);
    assert.match(with_('1.2.4'), /^teleport_upgrade_upgrade_available 0$/m);
    assert.match(with_('1.2.4'), /^teleport_upgrade_critical 1$/m);
  });
  it('window_open means every window that applies is open; frozen says whether a freeze is in effect', () => {
    const text = (windows: Windows) => renderMetrics({ updater: '0.1.0', lastRun, state: emptyState, windows });
    const insideButLocalClosed = { ...windowsOf({ state: 'inside', local: 'closed' }), next: new Date('2026-11-28T01:00:00Z') };
    assert.match(text(insideButLocalClosed), /^teleport_upgrade_window_open 0$/m);
    assert.match(text(insideButLocalClosed), /^teleport_upgrade_next_window_timestamp_seconds 1795827600$/m);
    assert.match(text(insideButLocalClosed), /^teleport_upgrade_frozen 0$/m);
    assert.match(
      text(windowsOf({ state: 'inside', local: 'open', frozen: true })),
      /^teleport_upgrade_window_open 1\n[\s\S]*^teleport_upgrade_frozen 1$/m,
    );
    assert.match(text(windowsOf({ state: 'missing', local: 'open' })), /^teleport_upgrade_window_open 1$/m);
  });
  it('fleet_lock_held: 1 while this host holds a slot (kept after a rollback), 0 with a server configured, absent without one', () => {
    const slot = { server: 'https://lock.example.com', group: 'workers', id: 'node-1', since: lastRun.at, confirmed: true };
    const text = (state: typeof emptyState, fleetLockGroup?: string) =>
      renderMetrics({ updater: '0.1.0', lastRun, state, ...(fleetLockGroup === undefined ? {} : { fleetLockGroup }) });
    assert.match(text({ ...emptyState, fleetLock: slot }, 'workers'), /^teleport_upgrade_fleet_lock_held\{group="workers"\} 1$/m);
    assert.match(text(emptyState, 'workers'), /^teleport_upgrade_fleet_lock_held\{group="workers"\} 0$/m);
    assert.match(
      text({ ...emptyState, fleetLock: slot }),
      /^teleport_upgrade_fleet_lock_held\{group="workers"\} 1$/m,
      'a slot outlives its configuration',
    );
    assert.doesNotMatch(text(emptyState), /fleet_lock/);
  });
});
