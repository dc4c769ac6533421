// The pure parts of the health check: systemctl show samples, the settle-period rules, and the agent's /readyz address.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readyzUrl } from '../../src/agent/agent-config.ts';
import { observe, observeReady, parseAgentSample, startWatch, verdict, type AgentSample } from '../../src/agent/agent-health.ts';

const show = (stdout: string, exitCode = 0) => ({ exitCode, stdout, stderr: '' });
const sample = (over: Partial<AgentSample> = {}): AgentSample => ({
  activeState: 'active',
  subState: 'running',
  mainPid: 100,
  restarts: 0,
  ...over,
});

describe('parseAgentSample', () => {
  it('reads systemctl show output, and nothing from a failed or partial answer', () => {
    assert.deepEqual(
      parseAgentSample(show('ActiveState=active\nSubState=running\nMainPID=4242\nNRestarts=2\n')),
      sample({ mainPid: 4242, restarts: 2 }),
    );
    assert.equal(parseAgentSample(show('ActiveState=active\n', 0)), undefined);
    assert.equal(parseAgentSample(show('', 1)), undefined);
    assert.equal(parseAgentSample(show('ActiveState=active\nSubState=running\nMainPID=-3\nNRestarts=0\n')), undefined);
  });
});

describe('the settle period', () => {
  it('a steady agent is healthy; one PID change (the graceful handover) is allowed, a second is not', () => {
    let watch = startWatch(0, false);
    for (const pid of [100, 100, 200, 200]) {
      const seen = observe(watch, sample({ mainPid: pid }));
      assert.equal(seen.failed, undefined);
      watch = seen.watch;
    }
    assert.equal(verdict(watch, 30_000), undefined);
    assert.match(observe(watch, sample({ mainPid: 300 })).failed ?? '', /main PID of teleport\.service changed 2 times/);
  });
  it('restarts since the baseline, a failed unit, or no answer fail at once', () => {
    assert.match(observe(startWatch(1, false), sample({ restarts: 2 })).failed ?? '', /restarted teleport\.service 1 time/);
    assert.equal(observe(startWatch(2, false), sample({ restarts: 2 })).failed, undefined);
    assert.match(observe(startWatch(0, false), sample({ activeState: 'failed', subState: 'failed' })).failed ?? '', /is failed/);
    assert.match(observe(startWatch(0, false), undefined).failed ?? '', /did not answer/);
  });
  it('still reloading at the end, or a /readyz that never said 200, is unhealthy', () => {
    const reloading = observe(startWatch(0, false), sample({ activeState: 'reloading', subState: 'running' }));
    assert.equal(reloading.failed, undefined, 'reloading is not a failure while the period runs');
    assert.match(verdict(reloading.watch, 30_000) ?? '', /not active and running after 30 s: reloading/);
    let ready = observe(startWatch(0, true), sample()).watch;
    ready = observeReady(ready, 'HTTP 503');
    assert.match(verdict(ready, 5000) ?? '', /\/readyz did not answer HTTP 200 within 5 s \(last: HTTP 503\)/);
    assert.equal(verdict(observeReady(ready, 'HTTP 200'), 5000), undefined);
  });
});

describe('readyzUrl', () => {
  it('takes teleport.diag_addr, asking a wildcard address on loopback', () => {
    assert.deepEqual(readyzUrl('teleport:\n  diag_addr: "127.0.0.1:3000"\n'), { url: 'http://127.0.0.1:3000/readyz' });
    assert.deepEqual(readyzUrl('teleport:\n  diag_addr: 0.0.0.0:3434\n'), { url: 'http://127.0.0.1:3434/readyz' });
    assert.deepEqual(readyzUrl('teleport: {diag_addr: "[::]:3000"}'), { url: 'http://[::1]:3000/readyz' });
    assert.deepEqual(readyzUrl('version: v3\nteleport:\n  nodename: x\n'), {});
    assert.deepEqual(readyzUrl(undefined), {});
  });
  it('says why when the file or the address cannot be used', () => {
    assert.match(readyzUrl('teleport: [unclosed').problem ?? '', /not valid YAML/);
    assert.match(readyzUrl('teleport:\n  diag_addr: "http://evil/x?"\n').problem ?? '', /is not host:port/);
    assert.match(readyzUrl('teleport:\n  diag_addr: "127.0.0.1:99999"\n').problem ?? '', /is not host:port/);
  });
  it('never throws, and only ever builds a loopback-or-named http URL ending in /readyz', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ maxLength: 40 }).map((a) => `teleport:\n  diag_addr: ${JSON.stringify(a)}\n`),
        ),
        (text) => {
          const result = readyzUrl(text);
          if (result.url !== undefined) assert.match(result.url, /^http:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}\/readyz$/);
        },
      ),
    );
  });
});
