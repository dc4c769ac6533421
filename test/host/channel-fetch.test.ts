// The channel client against a real local server: answers, faults, limits, TLS and proxies.
import assert from 'node:assert/strict';
import type { LookupAllOptions } from 'node:dns';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fetchChannel } from '../../src/host/channel-fetch.ts';
import { loopbackLookup } from '../../src/host/loopback-lookup.ts';
import { startConnectProxy, type ConnectProxy, type ProxyMode } from '../support/connect-proxy.ts';
import { makeTestTls, type TestTls } from '../support/tls.ts';
import { CHANNEL_PATH, pingBody, startVersionServer, type VersionServer } from '../support/version-server.ts';

const LIMITS = { timeoutMs: 1500, maxBytes: 4096, deadlineMs: 4500 };
/** The channel and the proxy's ping, as a run asks for them, with `env` as the environment (no proxy unless it names one). */
const fetch = (base: string, env: NodeJS.ProcessEnv = {}) =>
  fetchChannel({ userAgent: 'teleport-upgrade/test', limits: LIMITS, env })(base, `${new URL(base).origin}/webapi/ping`);

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
    assert.deepEqual(await fetch(base), {
      version: { ok: true, body: 'v1.2.4' },
      critical: { ok: true, body: 'yes' },
      ping: { ok: true, body: pingBody('17.1.0') },
    });
    assert.equal(server.connections() - before, 1);
  });

  it('sends all three requests at once (pipelined), before any answer is in', async () => {
    // A server that answers nothing until it holds all three requests: without pipelining the first answer never comes.
    const held: Array<{ path: string; socket: Socket }> = [];
    const raw = createNetServer((socket) => {
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString();
        for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
          held.push({ path: buffered.slice(0, end).split(' ')[1] ?? '', socket });
          buffered = buffered.slice(end + 4);
        }
        if (held.length < 3) return;
        for (const { path, socket: s } of held.splice(0)) {
          const body = path.endsWith('/version') ? 'v1.2.4' : path.endsWith('/critical') ? 'no' : pingBody('1.2.4');
          s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
        }
      });
    });
    raw.listen(0, '127.0.0.1');
    await once(raw, 'listening');
    const { port } = raw.address() as AddressInfo;
    try {
      const answers = await fetch(`http://127.0.0.1:${port}${CHANNEL_PATH}`);
      assert.deepEqual(answers, {
        version: { ok: true, body: 'v1.2.4' },
        critical: { ok: true, body: 'no' },
        ping: { ok: true, body: pingBody('1.2.4') },
      });
    } finally {
      raw.close();
    }
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
    assert.deepEqual(answers.critical, {
      ok: false,
      problem: 'HTTP 302 redirecting to "https://elsewhere.example/critical" (redirects are not followed)',
    });
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
  let proxy: ConnectProxy;
  /** The channel with the test CA in NODE_EXTRA_CA_CERTS' place: Node's store, as the updater uses it. */
  const fetchTrusted = async (base: string, env: NodeJS.ProcessEnv = {}) => {
    const trusted = fetchChannel({ userAgent: 'teleport-upgrade/test', limits: LIMITS, env, ca: [await readFile(tls.caFile, 'utf8')] });
    return trusted(base, `${new URL(base).origin}/webapi/ping`);
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-http-'));
    tls = await makeTestTls(dir);
    [server, proxy] = await Promise.all([startVersionServer(tls), startConnectProxy()]);
  });
  after(async () => {
    await Promise.all([server.close(), proxy.close()]);
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    proxy.mode('tunnel');
    proxy.tunnels.length = 0;
  });

  it('refuses a certificate that neither Node nor the operating system trusts', async () => {
    const answers = await fetch(`https://127.0.0.1:${server.port}${CHANNEL_PATH}`);
    assert.match(
      answers.version.ok ? '' : answers.version.problem,
      /^the server's certificate is not signed by a CA this host trusts \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT)\)/,
    );
  });

  it('leaves no timer behind that would keep the updater alive after its answers are in', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    for (let i = 0; i < 3; i++) {
      assert.equal((await fetchTrusted(`https://localhost:${server.port}${CHANNEL_PATH}`)).ping.ok, true);
      // A connection that fails fails all three requests at once.
      assert.equal((await fetch(`https://localhost:${server.port}${CHANNEL_PATH}`)).version.ok, false);
      assert.equal((await fetch('https://127.0.0.1:1/v1')).version.ok, false);
    }
    await sleep(10);
    assert.equal(timers(), before);
  });

  it('goes through HTTPS_PROXY with CONNECT, and NO_PROXY bypasses it', async () => {
    const before = proxy.connections();
    // updates.test is the proxy's to resolve (it tunnels to 127.0.0.1); this host cannot.
    const answers = await fetchTrusted(`https://updates.test:${server.port}${CHANNEL_PATH}`, { HTTPS_PROXY: proxy.url });
    assert.deepEqual(answers.version, { ok: true, body: 'v1.2.4' });
    assert.deepEqual([...new Set(proxy.tunnels)], [`updates.test:${server.port}`]);
    assert.equal(proxy.connections() - before, 1, 'one connection through the proxy for all three answers');
    proxy.tunnels.length = 0;
    const direct = await fetchTrusted(`https://updates.test:${server.port}${CHANNEL_PATH}`, {
      HTTPS_PROXY: proxy.url,
      NO_PROXY: 'updates.test',
    });
    assert.deepEqual(proxy.tunnels, []);
    assert.match(direct.version.ok ? '' : direct.version.problem, /ENOTFOUND|EAI_AGAIN/);
  });

  it('takes the proxy from the environment it is given, not from the process', async () => {
    const saved = process.env.HTTPS_PROXY;
    process.env.HTTPS_PROXY = proxy.url;
    try {
      const direct = await fetchTrusted(`https://updates.test:${server.port}${CHANNEL_PATH}`);
      assert.deepEqual(proxy.tunnels, []);
      assert.match(direct.version.ok ? '' : direct.version.problem, /ENOTFOUND|EAI_AGAIN/);
    } finally {
      if (saved === undefined) delete process.env.HTTPS_PROXY;
      else process.env.HTTPS_PROXY = saved;
    }
  });

  it('never sends a loopback endpoint through a proxy', async () => {
    const answers = await fetchTrusted(`https://localhost:${server.port}${CHANNEL_PATH}`, {
      HTTPS_PROXY: proxy.url,
      HTTP_PROXY: proxy.url,
    });
    assert.deepEqual(answers.version, { ok: true, body: 'v1.2.4' });
    assert.deepEqual(proxy.tunnels, []);
  });

  const PROXY_FAULTS: ReadonlyArray<{ mode: ProxyMode; says: RegExp }> = [
    { mode: 'reject', says: /^the proxy at http:\/\/127\.0\.0\.1:\d+ closed the connection without answering the CONNECT request/ },
    { mode: 407, says: /^the proxy at http:\/\/127\.0\.0\.1:\d+ answered 407 Proxy Authentication Required$/ },
    { mode: 403, says: /^the proxy at http:\/\/127\.0\.0\.1:\d+ answered 403 Forbidden$/ },
    { mode: 502, says: /^the proxy at http:\/\/127\.0\.0\.1:\d+ answered 502 Bad Gateway$/ },
    { mode: 'hang', says: /^the proxy at http:\/\/127\.0\.0\.1:\d+ did not answer the CONNECT request within 1\.5 s$/ },
  ];
  for (const { mode, says } of PROXY_FAULTS) {
    it(`a proxy that ${typeof mode === 'number' ? `answers ${mode}` : mode === 'reject' ? 'closes without answering' : 'never answers'}: a bounded failure that says so`, async () => {
      proxy.mode(mode);
      const before = proxy.connections();
      const started = Date.now();
      const answers = await fetchTrusted(`https://updates.test:${server.port}${CHANNEL_PATH}`, {
        HTTPS_PROXY: `http://user:secret@${proxy.url.slice('http://'.length)}`,
      });
      assert.ok(Date.now() - started < 4500 + 1000, `took ${Date.now() - started} ms`);
      for (const answer of [answers.version, answers.critical, answers.ping]) {
        assert.match(answer.ok ? '' : answer.problem, says);
        assert.doesNotMatch(answer.ok ? '' : answer.problem, /secret/, 'credentials never reach a message');
      }
      assert.ok(proxy.connections() - before <= 3, `${proxy.connections() - before} connections to the proxy`);
    });
  }
});

describe('fetchChannel against a server that answers one request at a time (like Go net/http)', () => {
  let server: Server;
  let port: number;
  before(async () => {
    // Each answer takes 0.6 s and is started only once the one before it is sent: 1.8 s for all three.
    let queue = Promise.resolve();
    server = createServer((req, res) => {
      queue = queue.then(async () => {
        await sleep(600);
        res.end(req.url === '/webapi/ping' ? pingBody('1.2.4') : req.url?.endsWith('/critical') ? 'yes' : 'v2.0.0');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('gets every answer: each has its own bound from when the connection is ready for it', async () => {
    const answers = await fetch(`http://127.0.0.1:${port}${CHANNEL_PATH}`);
    assert.deepEqual(answers, {
      version: { ok: true, body: 'v2.0.0' },
      critical: { ok: true, body: 'yes' },
      ping: { ok: true, body: pingBody('1.2.4') },
    });
  });

  it('keeps an overall deadline', async () => {
    const short = fetchChannel({
      userAgent: 'teleport-upgrade/test',
      limits: { timeoutMs: 1000, maxBytes: 4096, deadlineMs: 1000 },
      env: {},
    });
    const answers = await short(`http://127.0.0.1:${port}${CHANNEL_PATH}`, `http://127.0.0.1:${port}/webapi/ping`);
    assert.deepEqual(answers.version, { ok: true, body: 'v2.0.0' });
    assert.deepEqual(answers.ping, { ok: false, problem: 'no complete answers within 1 s in all' });
  });
});

describe('plain http (insecure localhost)', () => {
  let server: VersionServer;
  let proxy: ConnectProxy;
  before(async () => {
    [server, proxy] = await Promise.all([startVersionServer(), startConnectProxy()]);
  });
  after(() => Promise.all([server.close(), proxy.close()]));

  it('never goes through a proxy, whatever the environment says', async () => {
    server.answer('v1.2.4');
    const answers = await fetch(`http://localhost:${server.port}${CHANNEL_PATH}`, {
      HTTP_PROXY: proxy.url,
      HTTPS_PROXY: proxy.url,
      http_proxy: proxy.url,
    });
    assert.deepEqual(answers.version, { ok: true, body: 'v1.2.4' });
    assert.deepEqual(proxy.tunnels, []);
    assert.equal(proxy.connections(), 0);
  });
});

describe('loopbackLookup', () => {
  it('answers localhost with 127.0.0.1 and ::1 without the resolver, and leaves other names to it', async () => {
    const lookup = (name: string, options: LookupAllOptions | { family?: number }) =>
      new Promise<unknown>((resolve) =>
        loopbackLookup(name, options as LookupAllOptions, (error, address, family) => resolve(error ? error.code : [address, family])),
      );
    assert.deepEqual(await lookup('localhost', { all: true }), [
      [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ],
      undefined,
    ]);
    assert.deepEqual(await lookup('LOCALHOST.', {}), ['127.0.0.1', 4]);
    assert.deepEqual(await lookup('agent.localhost', { family: 6 }), ['::1', 6]);
    assert.match(String(await lookup('no-such-host.invalid', {})), /ENOTFOUND|EAI_AGAIN/);
  });
});
