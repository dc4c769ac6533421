// The writer behind every log line and answer: a full pipe waits a bounded time, then lines are dropped and counted; it never throws.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { output } from '../../src/host/output.ts';

const errno = (code: string) => Object.assign(new Error(code), { code });

/**
 * A descriptor whose reader takes nothing while `full()` says so, and at most `chunk` bytes per write otherwise; the
 * clock advances only by the writer's own sleeps.
 */
const pipe = (full: (now: number) => boolean, chunk = Infinity, fail?: string) => {
  let now = 0;
  let text = '';
  const write = ((_fd: number, data: Buffer) => {
    if (fail !== undefined) throw errno(fail);
    if (full(now)) throw errno('EAGAIN');
    const n = Math.min(chunk, data.length);
    text += data.subarray(0, n).toString();
    return n;
  }) as never;
  const sleep = (ms: number) => {
    now += ms;
  };
  return { write, sleep, text: () => text, now: () => now };
};

const limits = { lineWaitMs: 100, totalWaitMs: 250 };
const render = (sentence: string) => `[!] ${sentence}\n`;

describe('output', () => {
  it('waits for a reader that falls behind, and loses nothing', () => {
    const p = pipe((now) => now < 60);
    const out = output(2, limits, p.write, p.sleep);
    out.write('one\n');
    out.write('two\n');
    assert.equal(p.text(), 'one\ntwo\n');
    assert.equal(out.dropped(), 0);
    assert.ok(p.now() >= 60 && p.now() < 100, `waited ${p.now()} ms`);
  });

  it('writes what a pipe takes in pieces, in order', () => {
    const p = pipe(() => false, 3);
    const out = output(2, limits, p.write, p.sleep);
    out.write('a longer line\n');
    assert.equal(p.text(), 'a longer line\n');
  });

  it('drops a line that waited its bound, then the next ones without waiting, until the reader takes one at once', () => {
    let stalled = true;
    const p = pipe(() => stalled);
    const out = output(2, limits, p.write, p.sleep);
    out.write('first\n');
    const afterFirst = p.now();
    assert.ok(afterFirst >= 100 && afterFirst < 160, `the first line waited its bound (${afterFirst} ms)`);
    out.write('second\n');
    assert.equal(p.now(), afterFirst, 'no second wait while the reader is stalled');
    stalled = false;
    out.write('third\n');
    assert.equal(p.text(), 'third\n');
    assert.equal(out.dropped(), 2);
    out.finish(render);
    assert.match(p.text(), /^\[!\] 2 log line\(s\) were dropped: .*\(waited 0\.1 s in all\)\. The last of them: second$/m);
  });

  it("waits no longer than the total bound over all lines, but the closing sentence gets a line's wait", () => {
    let stalledUntil = Infinity;
    const p = pipe((now) => now < stalledUntil);
    const out = output(2, limits, p.write, p.sleep);
    for (let i = 0; i < 10; i++) {
      out.write(`line ${i}\n`);
      // The reader takes one line at once now and then, so each stall costs a wait again.
      stalledUntil = p.now();
      out.write(`taken ${i}\n`);
      stalledUntil = Infinity;
    }
    assert.ok(p.now() <= limits.totalWaitMs + 60, `all lines waited ${p.now()} ms in all`);
    const before = p.now();
    stalledUntil = before + 50;
    out.finish(render);
    assert.match(p.text(), /^\[!\] 10 log line\(s\) were dropped: .* The last of them: line 9$/m);
    assert.ok(p.now() >= before + 50);
  });

  it('a reader that is gone (EPIPE) drops lines without waiting and without throwing', () => {
    const p = pipe(() => false, Infinity, 'EPIPE');
    const out = output(1, limits, p.write, p.sleep);
    out.write('{"answer":1}\n');
    out.finish(render);
    assert.equal(out.dropped(), 1);
    assert.equal(p.now(), 0);
  });

  it('a line cut off half-way is ended before the next one', () => {
    let calls = 0;
    let text = '';
    const write = ((_fd: number, data: Buffer) => {
      calls += 1;
      if (calls === 2) throw errno('EAGAIN');
      const n = calls === 1 ? 4 : data.length;
      text += data.subarray(0, n).toString();
      return n;
    }) as never;
    const out = output(2, { lineWaitMs: 0, totalWaitMs: 0 }, write, () => undefined);
    out.write('half of it\n');
    out.write('next\n');
    assert.equal(text, 'half\nnext\n');
  });
});
