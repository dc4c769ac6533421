// The channel client against a real local server: answers, faults, limits, TLS and proxies.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fetchChannel } from '../src/host/http.ts';
import { makeTestTls, type TestTls } from './support/tls.ts';
import { CHANNEL_PATH, pingBody, startVersionServer, type VersionServer } from './support/version-server.ts';

const fetchAll = fetchChannel('teleport-upgrade/test', { timeoutMs: 1500, maxBytes: 4096 });
/** The channel and the proxy's ping, as run.ts asks for them. */
const fetch = (base: string) => fetchAll(base, `${new URL(base).origin}/webapi/ping`);

describe('fetchChannel over plain http (insecure localhost)', () => {
  let server: VersionServer;
  let base: string;
  before(async () => {
    server = await startVersionServer();
    base = `http://127.0.0.1:${server.port}${CHANNEL_PATH}`;
  });
  after(() => server.close());

  it('fetches the three answers over one connection', async () => {
    server.answer('v1.2.4', 'yes');
    server.ping({ body: pingBody('17.1.0') });
    const before = server.connections();
    assert.deepEqual(await fetch(base), { version: { ok: true, body: 'v1.2.4' }, critical: { ok: true, body: 'yes' }, ping: { ok: true, body: pingBody('17.1.0') } });
    assert.equal(server.connections() - before, 1);
  });
  it('a failing ping does not spoil the channel answers', async () => {
    server.answer('v1.2.4', 'no');
    for (const fault of [{ status: 404 }, { fault: 'giant' as const }, { fault: 'reset' as const }]) {
      server.ping(fault);
      const answers = await fetch(base);
      assert.equal(answers.ping.ok, false, JSON.stringify(fault));
      assert.deepEqual(answers.version, { ok: true, body: 'v1.2.4' }, JSON.stringify(fault));
    }
    server.ping({ body: pingBody('1.2.4') });
  });
  it('reports a non-200 status, and does not follow redirects', async () => {
    server.answer({ status: 503, body: 'down' }, { status: 302, headers: { location: 'https://elsewhere.example/critical' } });
    const answers = await fetch(base);
    assert.deepEqual(answers.version, { ok: false, problem: 'HTTP 503' });
    assert.deepEqual(answers.critical, { ok: false, problem: 'HTTP 302 redirecting to https://elsewhere.example/critical (redirects are not followed)' });
  });
  it('gives up on a server that never answers, within the bound', async () => {
    server.answer({ fault: 'hang' }, { fault: 'hang' });
    const started = Date.now();
    const answers = await fetch(base);
    assert.deepEqual(answers.version, { ok: false, problem: 'no complete answer within 1.5 s' });
    assert.ok(Date.now() - started < 10_000);
  });
  it('gives up on a slow drip', async () => {
    server.answer({ fault: 'drip' });
    assert.deepEqual((await fetch(base)).version, { ok: false, problem: 'no complete answer within 1.5 s' });
  });
  it('stops reading a giant answer at the cap', async () => {
    server.answer({ fault: 'giant' });
    assert.deepEqual((await fetch(base)).version, { ok: false, problem: 'the answer is larger than 4096 bytes' });
  });
  it('reports a reset connection', async () => {
    server.answer({ fault: 'reset' }, { fault: 'reset' });
    const answers = await fetch(base);
    assert.equal(answers.version.ok, false);
    assert.match(answers.version.ok ? '' : answers.version.problem, /socket|closed|ECONNRESET/i);
  });
  it('reports a refused connection', async () => {
    const answers = await fetch('http://127.0.0.1:1/v1');
    assert.match(answers.version.ok ? '' : answers.version.problem, /ECONNREFUSED/);
  });
});

describe('fetchChannel over https', () => {
  let dir: string;
  let tls: TestTls;
  let server: VersionServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-http-'));
    tls = await makeTestTls(dir);
    server = await startVersionServer(tls);
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a certificate that neither Node nor the operating system trusts', async () => {
    const answers = await fetch(`https://127.0.0.1:${server.port}${CHANNEL_PATH}`);
    assert.match(answers.version.ok ? '' : answers.version.problem, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|self-signed|unable to verify/i);
  });

  it('goes through HTTPS_PROXY with CONNECT, and NO_PROXY bypasses it', async () => {
    const tunnels: string[] = [];
    const proxy: Server = createServer();
    proxy.on('connect', (req, client) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const saved = { https: process.env.HTTPS_PROXY, no: process.env.NO_PROXY };
    try {
      process.env.HTTPS_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      delete process.env.NO_PROXY;
      await fetch(`https://127.0.0.1:${server.port}${CHANNEL_PATH}`);
      assert.deepEqual([...new Set(tunnels)], [`127.0.0.1:${server.port}`]);
      tunnels.length = 0;
      process.env.NO_PROXY = '127.0.0.1';
      await fetch(`https://127.0.0.1:${server.port}${CHANNEL_PATH}`);
      assert.deepEqual(tunnels, []);
    } finally {
      if (saved.https === undefined) delete process.env.HTTPS_PROXY; else process.env.HTTPS_PROXY = saved.https;
      if (saved.no === undefined) delete process.env.NO_PROXY; else process.env.NO_PROXY = saved.no;
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});
