// A hostile network, against real apt and the real CLI: proxies that refuse, close or answer errors, plain http with
// proxy variables set, a host without /etc/hosts, a proxy whose /webapi/ping cannot be had, and hostile headers.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy.ts';
import { cliInNamespace, mountsMissing } from '../support/mount-namespace.ts';
import { openWindow, sandboxPerTest, type Sandbox } from '../support/sandbox.ts';
import { aptMissing } from '../support/tools.ts';
import { CHANNEL_PATH, startVersionServer } from '../support/version-server.ts';

const missing = await aptMissing();
const active = { FAKE_SYSTEMCTL_MODE: 'active' };

describe('proxies (real apt)', { skip: missing, concurrency: true }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });
  let proxy: ConnectProxy;
  before(async () => {
    proxy = await startConnectProxy();
  });
  after(() => proxy.close());

  /** The endpoint by a name only the proxy resolves (it tunnels to 127.0.0.1), so the request must go through it. */
  const viaProxy = async (s: Sandbox) => s.write('endpoint', `updates.test:${s.server.port}${CHANNEL_PATH}\n`);

  it('an https endpoint goes through HTTPS_PROXY and upgrades', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      await viaProxy(s);
      const r = await s.cli(['run'], { ...active, HTTPS_PROXY: proxy.url });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.ok(proxy.tunnels.includes(`updates.test:${s.server.port}`));
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }));

  for (const [mode, says] of [
    ['reject', /the proxy at http:\/\/127\.0\.0\.1:\d+ closed the connection without answering the CONNECT request/],
    [407, /the proxy at http:\/\/127\.0\.0\.1:\d+ answered 407 Proxy Authentication Required/],
  ] as const) {
    it(`a proxy that ${mode === 'reject' ? 'closes the connection without answering' : `answers ${mode}`}: exit 1 at once, naming the proxy and what it did`, () =>
      withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
        await viaProxy(s);
        const separate = await startConnectProxy();
        try {
          separate.mode(mode);
          const r = await s.cli(['run'], { ...active, HTTPS_PROXY: separate.url });
          assert.equal(r.exitCode, 1, r.stderr);
          assert.match(
            r.stderr,
            new RegExp(`^\\[!\\] failed to get target version from https://updates\\.test:\\d+/.*/version: ${says.source}`, 'm'),
          );
          assert.doesNotMatch(r.stderr, /no complete answer within/);
          assert.ok(separate.connections() <= 3, `${separate.connections()} connections to the proxy (a storm is thousands)`);
          assert.equal(await s.status(), 'install ok installed\t1.2.3');
        } finally {
          await separate.close();
        }
      }));
  }

  it('plain http to localhost (insecure) never goes through a proxy, whatever the environment says', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow(), insecure: 'yes\n' } }, async (s) => {
      const [plain, watching] = await Promise.all([startVersionServer(), startConnectProxy()]);
      try {
        await s.write('endpoint', `localhost:${plain.port}${CHANNEL_PATH}\n`);
        const r = await s.cli(['run'], { ...active, HTTP_PROXY: watching.url, http_proxy: watching.url, HTTPS_PROXY: watching.url });
        assert.equal(r.exitCode, 0, r.stderr);
        assert.equal(watching.connections(), 0, 'the proxy saw nothing');
        assert.equal(await s.status(), 'install ok installed\t1.2.4');
      } finally {
        await Promise.all([plain.close(), watching.close()]);
      }
    }));
});

describe('the cluster version cannot be learned (real apt)', { skip: missing, concurrency: true }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('a target in another major is refused with its own reason and exit 1', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      s.server.answer('v2.0.0');
      s.server.ping({ status: 503, body: 'busy' });
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(
        r.stderr,
        /^\[!\] refusing to install 2\.0\.0 over 1\.2\.3: it is another major version, and the cluster's version could not be learned \(https:\/\/127\.0\.0\.1:\d+\/webapi\/ping: HTTP 503\)/m,
      );
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      const dry = await s.cli(['dry-run', '--json'], active);
      assert.equal(dry.exitCode, 1);
      assert.deepEqual([JSON.parse(dry.stdout).reason, JSON.parse(dry.stdout).exitStatus], ['cluster-version-unknown', 1]);
    }));

  it('within the installed major it goes on, with the warning', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      s.server.ping({ status: 503, body: 'busy' });
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /^\[!\] could not learn the cluster's version \(.*HTTP 503\); installing without the version-skew check\.$/m);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }));
});

describe('hostile headers (real apt)', { skip: missing }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('a redirect whose Location is 6,000 characters with a C1 control reaches the log quoted, escaped and truncated', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      s.server.answer({ status: 302, headers: { location: `https://evil.example/${'a'.repeat(6000)}\u0085next` } });
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 1, r.stderr);
      const line = r.stderr.split('\n').find((l) => l.includes('redirecting to')) ?? '';
      assert.match(line, /HTTP 302 redirecting to "https:\/\/evil\.example\/a+…" \(redirects are not followed\)/);
      assert.ok(line.length < 600, `a ${line.length}-character line`);
      assert.doesNotMatch(r.stderr, /[\u0080-\u009f]/);
    }));
});

describe('a host without /etc/hosts (real apt, in a mount namespace)', { skip: missing ?? (await mountsMissing()) }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });
  let readyz: Server;
  before(async () => {
    readyz = createServer((req, res) => res.writeHead(req.url === '/readyz' ? 200 : 404).end());
    await new Promise<void>((resolve) => readyz.listen(0, '127.0.0.1', resolve));
  });
  after(() => new Promise<void>((resolve) => readyz.close(() => resolve())));

  it('reaches a localhost endpoint and a localhost /readyz without the resolver', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow(), 'health-settle': '1s\n' } }, async (s) => {
      const teleportYaml = join(s.dir, 'teleport.yaml');
      await writeFile(teleportYaml, `teleport:\n  diag_addr: localhost:${(readyz.address() as AddressInfo).port}\n`);
      await s.write('teleport-config', `${teleportYaml}\n`);
      await s.write('endpoint', `localhost:${s.server.port}${CHANNEL_PATH}\n`);
      const empty = join(s.dir, 'empty');
      await writeFile(empty, '');
      // Like debootstrap's minbase or a container image: no /etc/hosts, and no resolver that knows localhost.
      const r = await cliInNamespace(
        ['run'],
        { ...s.env(active), EMPTY: empty },
        'mount --bind "$EMPTY" /etc/hosts\nmount --bind "$EMPTY" /etc/resolv.conf\nif getent hosts localhost; then echo "localhost still resolves" >&2; exit 99; fi',
      );
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /checking that teleport\.service stays healthy for 1 s and that http:\/\/localhost:\d+\/readyz answers 200/);
      assert.match(r.stderr, /teleport\.service is healthy on 1\.2\.4/);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }));
});
