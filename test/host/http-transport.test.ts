// Connections to loopback on a busy host, and a failure of every address in the operator's words.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { describeFailure } from '../../src/host/http-problem.ts';
import { probeStatus } from '../../src/host/http-transport.ts';

/** Holds the event loop the way a busy CPU does: nothing else in this process runs meanwhile. */
const busyFor = (ms: number): void => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spinning
  }
};

describe('localhost on a busy host', () => {
  let server: Server;
  let port: number;
  before(async () => {
    // IPv4 only, as many agents listen: ::1 refuses.
    server = createServer((_, response) => response.writeHead(200).end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reaches 127.0.0.1 though the process is held for longer than a happy-eyeballs attempt (250 ms)', async () => {
    // Once the first attempt has started (and its timer with it), the process stalls past Node's per-address timer.
    const stall = ({ socket }: { socket: Socket }) => socket.once('connectionAttempt', () => process.nextTick(busyFor, 600));
    subscribe('net.client.socket', stall as (message: unknown) => void);
    try {
      assert.equal(await probeStatus(`http://localhost:${port}/readyz`, 5000), 'HTTP 200');
    } finally {
      unsubscribe('net.client.socket', stall as (message: unknown) => void);
    }
  });
});

describe('describeFailure', () => {
  it('names each address that failed when none answered', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:3025'), { code: 'ECONNREFUSED' });
    const timedOut = Object.assign(new Error('connect ETIMEDOUT 127.0.0.1:3025'), { code: 'ETIMEDOUT' });
    const all = Object.assign(new AggregateError([timedOut, refused], ''), { code: 'ETIMEDOUT' });
    assert.equal(
      describeFailure(all, 10_000).message,
      'no address answered: connect ETIMEDOUT 127.0.0.1:3025; connect ECONNREFUSED ::1:3025',
    );
  });
  it('keeps a single error as it was', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3025'), { code: 'ECONNREFUSED' });
    assert.equal(describeFailure(refused, 10_000).message, 'connect ECONNREFUSED 127.0.0.1:3025');
  });
});
