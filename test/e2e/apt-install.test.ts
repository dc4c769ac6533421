// End to end on real apt: holds, lock contention, detection, hostile answers, TLS trust and graceful restart.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { aptMissing, sh } from '../support/tools.ts';
import { FIXTURE_BIN, laterWindow, openWindow, runWhileLocked, sandboxPerTest } from '../support/sandbox.ts';
import { pingBody } from '../support/version-server.ts';

const missing = await aptMissing();

describe('installs against real apt', { skip: missing, concurrency: 2 }, () => {
  const { withSandbox, fixtures: getFixtures } = sandboxPerTest({ before, after });

  it('upgrades a held package and puts the hold back', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      await sh('apt-mark', ['hold', 'teleport-ent'], { env: { ...s.apt.env } });
      const dry = JSON.parse((await s.cli(['dry-run', '--json'])).stdout);
      assert.ok(dry.commands[1].includes('--allow-change-held-packages'));
      assert.deepEqual(dry.commands[2], ['apt-mark', 'hold', 'teleport-ent']);
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(await s.status(), 'hold ok installed\t1.2.4');
    }));

  it('keeps the hold and the old version when the install fails, and quotes apt', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      await sh('apt-mark', ['hold', 'teleport-ent'], { env: { ...s.apt.env } });
      s.server.answer('v1.2.6');
      const r = await s.cli(['run', '--debug']);
      assert.equal(r.exitCode, 1);
      assert.match(r.stderr, /^\[!\] apt-get: .*teleport-ent-missing-dependency/m);
      assert.match(r.stderr, /running: apt-mark hold teleport-ent/);
      assert.match(r.stderr, /upgrade attempt failed for teleport-ent=1\.2\.6; teleport-ent is still at 1\.2\.3/);
      assert.equal(await s.status(), 'hold ok installed\t1.2.3');
    }));

  it('waits for a dpkg lock held by another process, then installs', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      // Held until the updater says it is waiting for it, so the test does not depend on timing.
      const holder = execa(join(FIXTURE_BIN, 'hold-fcntl-lock.pl'), [join(s.apt.root, 'var/lib/dpkg/lock-frontend'), '120'], {
        reject: false,
      });
      await new Promise<void>((resolve) => holder.stdout?.once('data', () => resolve()));
      const r = await runWhileLocked(s, ['run', '--debug'], holder, /Waiting for cache lock: Could not get lock .*lock-frontend/);
      assert.equal(r.released, true, r.stderr);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }));

  it('fails with exit 2 and says what to write when the endpoint is missing', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      await rm(join(s.configDir, 'endpoint'));
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 2);
      assert.match(
        r.stderr,
        new RegExp(`no endpoint is configured: ${s.configDir}/endpoint is missing\\. Write your proxy's version channel to it`),
      );
    }));

  it('detects the installer and the package (OSS teleport) from the dpkg database', () =>
    withSandbox({ installed: 'teleport=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(await s.status('teleport'), 'install ok installed\t1.2.4');
      assert.equal(await s.status('teleport-ent'), '');
    }));

  it('refuses to guess when no Teleport package is installed and no installer is configured', () =>
    withSandbox({ config: { schedule: openWindow() } }, async (s) => {
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 2);
      assert.match(r.stderr, /cannot detect the installer: none of teleport-ent, teleport-ent-fips, teleport is installed/);
    }));

  for (const body of ['1.2.4; touch PWNED', '$(touch PWNED)', '1.2.4`touch PWNED`', '1.2.4\n--allow-unauthenticated']) {
    it(`runs nothing for a version body carrying shell metacharacters: ${JSON.stringify(body)}`, () =>
      withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
        s.server.answer(body.replaceAll('PWNED', join(s.dir, 'pwned')), 'yes');
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 1);
        assert.match(r.stderr, /the proxy's \/version answer is not a semantic version: "/);
        assert.equal(existsSync(join(s.dir, 'pwned')), false);
        assert.equal(await s.status(), 'install ok installed\t1.2.3');
      }));
  }

  it('resolves the exact repository version when the repository adds a revision', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      s.server.answer('v1.2.5');
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(await s.status(), 'install ok installed\t1.2.5-1');
    }));

  it('fails clearly when the repository does not offer the target', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      s.server.answer('v9.9.9');
      s.server.ping({ body: pingBody('9.9.9') });
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 1);
      assert.match(
        r.stderr,
        /upgrade attempt failed for teleport-ent=9\.9\.9: the apt repositories do not offer that version \(they offer 1\.3\.0~beta\.1, 1\.2\.9, 1\.2\.7, 1\.2\.6, 1\.2\.5-1, 1\.2\.4, 1\.2\.3\)/,
      );
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
    }));

  it('reloads a running agent after the install (systemctl stands in for systemd, which cannot run here)', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const r = await s.cli(['run'], { FAKE_SYSTEMCTL_MODE: 'active' });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /gracefully restarting Teleport/);
      const show = 'show teleport.service --property=ActiveState,SubState,MainPID,NRestarts';
      assert.deepEqual((await readFile(s.systemctlLog, 'utf8')).trim().split('\n'), [
        'is-active teleport.service',
        show,
        'daemon-reload',
        'reload teleport.service',
        show,
      ]);
      assert.match(r.stderr, /^\[i\] teleport\.service is healthy on 1\.2\.4\.$/m);
    }));

  it('says so and skips the restart when systemd is not running', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /systemd is not running on this host, so teleport was not restarted/);
      assert.deepEqual((await readFile(s.systemctlLog, 'utf8')).trim().split('\n'), ['is-active teleport.service']);
    }));

  it("trusts a CA from Node's store (NODE_EXTRA_CA_CERTS) over a single connection for all three requests", () =>
    withSandbox({ installed: 'teleport-ent=1.2.4', config: { schedule: laterWindow() } }, async (s) => {
      const r = await s.cli(['dry-run'], { SSL_CERT_FILE: '/nonexistent', NODE_EXTRA_CA_CERTS: getFixtures().tls.caFile });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(s.server.connections(), 1);
      assert.deepEqual(s.server.requests.map((u) => u.split('/').pop()).sort(), ['critical', 'ping', 'version']);
    }));

  it('refuses a certificate no trust store knows, whatever NODE_TLS_REJECT_UNAUTHORIZED says, and says what to do about it', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      s.server.answer('v1.2.4', 'yes');
      const r = await s.cli(['run'], { SSL_CERT_FILE: '/nonexistent', NODE_TLS_REJECT_UNAUTHORIZED: '0' });
      assert.equal(r.exitCode, 1);
      assert.match(
        r.stderr,
        /failed to get target version from https:\/\/127\.0\.0\.1:\d+\/v1\/webapi\/automaticupgrades\/channel\/default\/version: the server's certificate is not signed by a CA this host trusts \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)\)\. .*update-ca-certificates .*SSL_CERT_FILE/,
      );
      assert.doesNotMatch(r.stderr, /use-system-ca|NODE_TLS_REJECT_UNAUTHORIZED/);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
    }));
});

describe('repairs against real apt', { skip: missing }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('reinstalls the same version when the installed binary no longer matches the package (truncated)', () =>
    withSandbox({ installed: 'teleport-ent=1.2.4', config: { schedule: laterWindow() } }, async (s) => {
      const binary = join(s.apt.root, 'usr/local/bin/teleport');
      await writeFile(binary, '#!/bin/sh\n');
      const dry = await s.cli(['dry-run', '--json']);
      assert.equal(dry.exitCode, 0, dry.stderr);
      assert.equal(JSON.parse(dry.stdout).reason, 'up-to-date');
      assert.ok(JSON.parse(dry.stdout).commands.some((argv: string[]) => argv.join(' ').includes('install -y --reinstall')));
      assert.equal(await readFile(binary, 'utf8'), '#!/bin/sh\n');
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /teleport-ent 1\.2\.4 is damaged: \/usr\/local\/bin\/teleport no longer match/);
      assert.match(await readFile(binary, 'utf8'), /Teleport v1\.2\.4/);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }));

  it('finishes an interrupted dpkg transaction before deciding', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: laterWindow() } }, async (s) => {
      await writeFile(join(s.apt.root, 'fail-postinst'), '');
      await sh('apt-get', ['install', '-y', '-qq', 'teleport-ent=1.2.7'], { env: { ...s.apt.env } }).catch(() => undefined);
      assert.equal(await s.status(), 'install ok half-configured\t1.2.7');
      await rm(join(s.apt.root, 'fail-postinst'));
      s.server.answer('v1.2.7');
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /was left half-installed by an interrupted package transaction; finishing it first/);
      assert.match(r.stderr, /no upgrades available \(1\.2\.7 == 1\.2\.7\)/);
      assert.equal(await s.status(), 'install ok installed\t1.2.7');
    }));
});
