// Which hooks may run as root, and what they are told.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hookEnvironment, hookVerdict } from '../../src/core/hooks.ts';

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
