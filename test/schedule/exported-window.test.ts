// Where now stands among the agent's exported windows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSchedule } from '../../src/schedule/parse-schedule.ts';
import { windowStatus } from '../../src/schedule/exported-window.ts';

const at = (s: number) => new Date(s * 1000);

describe('windowStatus', () => {
  const windows = parseSchedule('100 200\n300 400\n');
  it('is inside strictly between start and stop', () => {
    assert.deepEqual(windowStatus(windows, at(150)), { state: 'inside', next: at(300) });
    assert.equal(windowStatus(windows, at(100)).state, 'outside');
    assert.equal(windowStatus(windows, at(200)).state, 'outside');
  });
  it('is outside with the next opening', () => {
    assert.deepEqual(windowStatus(windows, at(250)), { state: 'outside', next: at(300) });
  });
  it('is stale once every window has ended', () => {
    assert.deepEqual(windowStatus(windows, at(400)), { state: 'stale', next: null });
  });
  it('passes through missing, nop and invalid', () => {
    assert.equal(windowStatus({ kind: 'missing' }, at(1)).state, 'missing');
    assert.equal(windowStatus({ kind: 'nop' }, at(1)).state, 'nop');
    assert.deepEqual(windowStatus({ kind: 'invalid', problem: 'x' }, at(1)), { state: 'invalid', next: null, problem: 'x' });
  });
});
