// The FleetLock requests' HTTP against a real local server: what is sent, and every answer bounded, including none.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fleetLockClient } from '../../src/host/fleet-lock-client.ts';

const LIMITS = { timeoutMs: 1000, maxBytes: 256, deadlineMs: 3000 };
const post = fleetLockClient({ userAgent: 'teleport-upgrade/test', limits: LIMITS, env: {} });

describe('the FleetLock client', () => {
  let server: Server;
  let base: string;
  let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  const seen: Array<{ method?: string; url?: string; headers: IncomingMessage['headers']; body: string }> = [];
  const sockets = new Set<Socket>();
  before(async () => {
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res, body);
    });
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/base`;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    seen.length = 0;
  });

  it("POSTs the body with the protocol's header, and returns the status and body", async () => {
    handler = (_req, res) => res.writeHead(500).end('{"kind":"failed_lock","value":"all 2 semaphore slots currently locked"}\n');
    const body = '{"client_params":{"id":"node-1","group":"default"}}';
    const posted = await post(`${base}/v1/pre-reboot`, body);
    assert.deepEqual(posted, { ok: true, status: 500, body: '{"kind":"failed_lock","value":"all 2 semaphore slots currently locked"}\n' });
    assert.equal(seen.length, 1);
    const [request] = seen;
    assert.deepEqual([request!.method, request!.url, request!.body], ['POST', '/base/v1/pre-reboot', body]);
    assert.equal(request!.headers['fleet-lock-protocol'], 'true');
    assert.equal(request!.headers['content-type'], 'application/json');
  });

  it('keeps the first bytes of a body that runs on', async () => {
    handler = (_req, res) => res.writeHead(500).end(`{"kind":"x","value":"${'y'.repeat(100_000)}"}`);
    const posted = await post(`${base}/v1/pre-reboot`, '{}');
    assert.ok(posted.ok);
    assert.equal(posted.body.length, LIMITS.maxBytes);
  });

  it('does not follow a redirect: the answer is the redirect', async () => {
    handler = (_req, res) => res.writeHead(307, { location: `${base}/elsewhere` }).end();
    const posted = await post(`${base}/v1/pre-reboot`, '{}');
    assert.deepEqual([posted.ok && posted.status, seen.length], [307, 1]);
  });

  it('a server that never answers, or answers garbage, or nobody listening: a problem, within its bound', async () => {
    handler = () => undefined;
    const started = Date.now();
    assert.deepEqual(await post(`${base}/v1/pre-reboot`, '{}'), { ok: false, problem: 'no complete answer within 1 s' });
    assert.ok(Date.now() - started < LIMITS.deadlineMs, `took ${Date.now() - started} ms`);
    handler = (req) => req.socket.end('\u0000 not http\r\n\r\n');
    const garbage = await post(`${base}/v1/pre-reboot`, '{}');
    assert.equal(garbage.ok, false);
    assert.match(garbage.ok ? '' : garbage.problem, /^Response does not match the HTTP\/1\.1 protocol/);
    assert.deepEqual(await post('http://127.0.0.1:1/base/v1/steady-state', '{}'), {
      ok: false,
      problem: 'connect ECONNREFUSED 127.0.0.1:1',
    });
  });
});
