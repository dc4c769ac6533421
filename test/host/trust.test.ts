// Which CA store verifies the proxy first, and how many connections a CA that only the OS store knows costs. The test
// CA stands in for the OS store through SSL_CERT_FILE, set before this process reads that store (it reads it once).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fetchChannel } from '../../src/host/channel-fetch.ts';
import { hostHasOwnTrust } from '../../src/host/trust.ts';
import { makeTestTls } from '../support/tls.ts';
import { CHANNEL_PATH, startVersionServer, type VersionServer } from '../support/version-server.ts';

describe('hostHasOwnTrust', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-trust-'));
    await mkdir(join(dir, 'empty'));
    await mkdir(join(dir, 'anchors'));
    await writeFile(join(dir, 'anchors', 'corp-root.crt'), 'a CA\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is true when OpenSSL is pointed at another store', () => {
    assert.equal(hostHasOwnTrust({ SSL_CERT_FILE: '/etc/corp/ca.pem' }, []), true);
    assert.equal(hostHasOwnTrust({ SSL_CERT_DIR: '/etc/corp/certs' }, []), true);
  });
  it('is true when a local anchor is installed, false for empty or missing anchor directories', () => {
    assert.equal(hostHasOwnTrust({}, [join(dir, 'missing'), join(dir, 'anchors')]), true);
    assert.equal(hostHasOwnTrust({}, [join(dir, 'missing'), join(dir, 'empty')]), false);
    assert.equal(hostHasOwnTrust({ SSL_CERT_FILE: '' }, []), false);
  });
});

describe('a CA only the operating system trusts', () => {
  let dir: string;
  let server: VersionServer;
  const fetchWith = (ownTrust: boolean) =>
    fetchChannel({
      userAgent: 'teleport-upgrade/test',
      limits: { timeoutMs: 1500, maxBytes: 4096, deadlineMs: 4500 },
      env: {},
      ownTrust: () => ownTrust,
    });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-trust-'));
    const tls = await makeTestTls(dir);
    process.env.SSL_CERT_FILE = tls.caFile;
    delete process.env.SSL_CERT_DIR;
    server = await startVersionServer(tls);
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [ownTrust, connections] of [
    [true, 1],
    [false, 2],
  ] as const) {
    it(`is trusted in ${connections} connection(s) when the host ${ownTrust ? 'has' : 'shows no'} CAs of its own`, async () => {
      const base = `https://127.0.0.1:${server.port}${CHANNEL_PATH}`;
      const before = server.connections();
      const answers = await fetchWith(ownTrust)(base, `https://127.0.0.1:${server.port}/webapi/ping`);
      assert.deepEqual(answers.version, { ok: true, body: 'v1.2.4' });
      assert.equal(answers.ping.ok, true);
      assert.equal(server.connections() - before, connections);
    });
  }
});
