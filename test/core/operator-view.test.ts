// The pure parts of the operator's view: the outcome of a run and its hook event, the metrics text, which hooks may run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hookEnvironment, hookVerdict } from '../../src/core/hooks.ts';
import { answering } from '../support/ask.ts';
import { escapeLabel, renderMetrics } from '../../src/core/metrics.ts';
import { nextState } from '../../src/core/next-state.ts';
import { hookEventOf, outcomeOf, type RunEnd } from '../../src/core/run-outcome.ts';
import { emptyState, parseState } from '../../src/core/state.ts';
import { repoExcludes, yumManager } from '../../src/package-managers/yum.ts';
import type { Windows } from '../../src/schedule/windows.ts';
import { windowsOf } from '../support/windows.ts';

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
  ];
  for (const [name, over, outcome, event] of rows) {
    it(name, () => {
      const e = end(over);
      assert.equal(outcomeOf(e), outcome);
      assert.equal(hookEventOf(outcomeOf(e), e.exitStatus), event);
    });
  }
});

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
});

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
});

describe('which hooks may run', () => {
  const file = (over: Partial<{ uid: number; mode: number; kind: 'file' | 'directory' | 'other' }> = {}) =>
    ({ kind: 'file', uid: 0, mode: 0o755, ...over }) as const;
  it('runs root-owned executables; refuses others with why; leaves files that are no hook alone, silently', () => {
    assert.deepEqual(hookVerdict(file()), { run: true });
    assert.deepEqual(hookVerdict(file({ mode: 0o775 })), { run: false, why: 'the file is writable by group or others (mode 0775)' });
    assert.deepEqual(hookVerdict(file({ mode: 0o757 })), { run: false, why: 'the file is writable by group or others (mode 0757)' });
    assert.deepEqual(hookVerdict(file({ uid: 1000 })), { run: false, why: 'the file is not owned by root (uid 1000)' });
    assert.deepEqual(hookVerdict(file({ mode: 0o644 })), { run: false });
    assert.deepEqual(hookVerdict(file({ kind: 'directory' })), { run: false });
    assert.deepEqual(hookVerdict(file({ kind: 'other' })), { run: false });
  });
  it('tells a hook the facts in its environment, empty where unknown', () => {
    assert.deepEqual(hookEnvironment({ event: 'failed', from: '1.2.3', to: null, reason: 'x', exitStatus: 1, hostname: 'h' }), {
      TELEPORT_UPGRADE_EVENT: 'failed',
      TELEPORT_UPGRADE_FROM: '1.2.3',
      TELEPORT_UPGRADE_TO: '',
      TELEPORT_UPGRADE_REASON: 'x',
      TELEPORT_UPGRADE_EXIT_STATUS: '1',
      TELEPORT_UPGRADE_HOSTNAME: 'h',
    });
  });
});

describe('the yum exclude as the v1 version lock', () => {
  it('reads the exclude list of dnf 4 and dnf5 repoinfo (captured) and matches its globs', async () => {
    const repoinfo =
      'Repo-id            : teleport\nRepo-exclude       : teleport-ent, tctl*, teleport-foo\nRepo-filename      : /etc/yum.repos.d/teleport.repo\n';
    assert.deepEqual(repoExcludes(repoinfo), ['teleport-ent', 'tctl*', 'teleport-foo']);
    assert.deepEqual(
      repoExcludes('Repo-exclude       : a, b,\n                   : c\nRepo-filename      : x\n'),
      ['a', 'b', 'c'],
      'a list dnf continued on the next line',
    );
    const dnf = yumManager('dnf');
    const asked = answering({ stdout: 'Repo-exclude       : teleport-*\n' });
    assert.equal(await dnf.held(asked, undefined, 'teleport-ent', 'teleport'), true);
    assert.deepEqual(asked.asked, ['dnf -q repoinfo teleport']);
    const none = answering();
    assert.equal(await dnf.held(none, undefined, 'teleport-ent', undefined), false);
    assert.deepEqual(none.asked, [], 'without the repository it cannot be asked');
    const held = (stdout: string) => dnf.held(answering({ stdout }), undefined, 'teleport-ent', 'teleport');
    assert.equal(await held('Repo-exclude       : teleport-ent-fips\n'), false);
    assert.equal(await held('Repo-id            : teleport\n'), false);
    assert.equal(
      await held('Repo ID              : teleport\nExclude packages     : teleport-*\nMetadata expire      : 172800 seconds\n'),
      true,
      'dnf5 (captured)',
    );
  });
});
