// teleport.service as data: whether systemd runs it, and how it is restarted.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAgentState, restartSteps } from '../../src/agent/agent-service.ts';

const captured = (name: string) => readFileSync(new URL(`../fixtures/captured/${name}`, import.meta.url), 'utf8');

describe('the agent unit', () => {
  it('recognises a host without systemd (captured)', () => {
    const result = { exitCode: 1, stdout: captured('systemctl-no-systemd.stdout'), stderr: captured('systemctl-no-systemd.stderr') };
    assert.equal(parseAgentState(result), 'no-systemd');
    assert.equal(parseAgentState({ exitCode: null, stdout: '', stderr: '', failure: 'spawn systemctl ENOENT' }), 'no-systemd');
  });
  it('reloads an active agent (try-restart as fallback), try-restarts an inactive one', () => {
    assert.equal(parseAgentState({ exitCode: 0, stdout: 'active\n', stderr: '' }), 'active');
    assert.equal(parseAgentState({ exitCode: 3, stdout: 'inactive\n', stderr: '' }), 'inactive');
    const active = restartSteps('active');
    assert.deepEqual(
      active.map((s) => s.argv.join(' ')),
      ['systemctl daemon-reload', 'systemctl reload teleport.service'],
    );
    assert.deepEqual(active[1]?.fallback?.argv, ['systemctl', 'try-restart', 'teleport.service']);
    assert.deepEqual(
      restartSteps('inactive').map((s) => s.argv.join(' ')),
      ['systemctl daemon-reload', 'systemctl try-restart teleport.service'],
    );
    assert.deepEqual(restartSteps('no-systemd'), []);
  });
});
