// The fault suite, against real apt: every network and package-manager fault leaves the agent's package installed and
// configured at a known version, logs what happened, and exits with the right status.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { aptInstall } from '../support/apt-root.ts';
import { bin, cleanEnv, bundleFlags } from '../support/cli.ts';
import { openWindow, sandboxPerTest, sandboxState, type Sandbox } from '../support/sandbox.ts';
import { aptMissing, sh } from '../support/tools.ts';
import type { Answer } from '../support/version-server.ts';

const missing = await aptMissing();

/** The package is fully installed and configured at `version`, and dpkg has nothing half-done to report. */
const assertUnharmed = async (s: Sandbox, version: string) => {
  assert.equal(await s.status(), `install ok installed\t${version}`);
  assert.equal(await sh('dpkg', ['--audit'], { env: { ...s.apt.env } }), '', 'dpkg --audit finds nothing half-done');
  const state = await readFile(join(s.stateDir, 'state.json'), 'utf8').catch(() => undefined);
  if (state !== undefined) assert.equal(JSON.parse(state).inProgress, null, 'no upgrade left in flight');
};

interface NetworkFault {
  readonly name: string;
  readonly answer?: Answer;
  /** Applied to the sandbox instead of (or besides) an answer. */
  readonly arrange?: (s: Sandbox) => Promise<Record<string, string>>;
  readonly says: RegExp;
}

const NETWORK: readonly NetworkFault[] = [
  {
    name: 'connection refused',
    arrange: async (s) => {
      await s.write('endpoint', '127.0.0.1:1/v1/webapi/automaticupgrades/channel/default\n');
      return {};
    },
    says: /failed to get target version from .*: (ECONNREFUSED|connect ECONNREFUSED)/,
  },
  {
    name: 'connection reset',
    answer: { fault: 'reset' },
    says: /failed to get target version from .*\/version: .*(socket|ECONNRESET|other side closed)/i,
  },
  { name: 'no answer (hang)', answer: { fault: 'hang' }, says: /failed to get target version from .*: no complete answer within 10 s/ },
  {
    name: 'a slow drip that never ends',
    answer: { fault: 'drip' },
    says: /failed to get target version from .*: (no complete answer within 10 s|the answer is larger than 4096 bytes)/,
  },
  { name: 'a huge body', answer: { fault: 'giant' }, says: /failed to get target version from .*: the answer is larger than 4096 bytes/ },
  {
    name: 'an HTML page',
    answer: '<!doctype html><html><body>Teleport login</body></html>',
    says: /the proxy's \/version answer is not a semantic version: "<!doctype html><html><body>Teleport login/,
  },
  {
    name: 'HTTP 503',
    answer: { status: 503, body: 'unavailable' },
    says: /failed to get target version from .*\/version: HTTP 503\. Cannot proceed/,
  },
  {
    name: 'a redirect',
    answer: { status: 302, headers: { location: 'https://evil.example.com/version' } },
    says: /HTTP 302 redirecting to "https:\/\/evil\.example\.com\/version" \(redirects are not followed\)/,
  },
  {
    name: 'an untrusted certificate',
    arrange: async () => ({ SSL_CERT_FILE: '/nonexistent' }),
    says: /failed to get target version from https:.*: the server's certificate is not signed by a CA this host trusts \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED)/,
  },
  { name: 'a version with shell metacharacters', answer: 'v1.2.4; rm -rf /', says: /not a semantic version: "v1\.2\.4; rm -rf \/"/ },
];

describe('fault suite: the network (real apt)', { skip: missing, concurrency: true }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });
  for (const fault of NETWORK) {
    it(`${fault.name}: exit 1, nothing installed, the log says why`, () =>
      withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
        if (fault.answer !== undefined) s.server.answer(fault.answer);
        const env = (await fault.arrange?.(s)) ?? {};
        const r = await s.cli(['run'], { FAKE_SYSTEMCTL_MODE: 'active', ...env });
        assert.equal(r.exitCode, 1, r.stderr);
        assert.match(r.stderr, fault.says);
        assert.doesNotMatch(r.stderr, /attempting apt install/);
        await assertUnharmed(s, '1.2.3');
      }));
  }
});

describe('fault suite: the package manager (real apt)', { skip: missing }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });
  const window = { schedule: openWindow() };
  const active = { FAKE_SYSTEMCTL_MODE: 'active' };

  it('a version the repository does not offer', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: window }, async (s) => {
      s.server.answer('v1.2.8');
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /the apt repositories do not offer that version/);
      await assertUnharmed(s, '1.2.3');
    }));

  it('a broken repository (its source points at nothing)', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: window }, async (s) => {
      await writeFile(join(s.apt.root, 'etc/apt/sources.list.d/teleport.list'), 'deb [trusted=yes] file:/nonexistent/teleport-repo ./\n');
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /^\[!\] apt-get: E: Failed to fetch file:\/nonexistent\/teleport-repo\/\.\/Packages/m);
      assert.match(r.stderr, /the apt repositories do not offer that version/);
      await assertUnharmed(s, '1.2.3');
    }));

  it('a file conflict with another package: dpkg refuses, the old version stays', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: window }, async (s) => {
      await aptInstall(s.apt, 'teleport-tools=1.0.0');
      s.server.answer('v1.2.9');
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /trying to overwrite '\/usr\/local\/bin\/tctl', which is also in package teleport-tools/);
      assert.match(r.stderr, /teleport-ent is still 1\.2\.3: the failed install changed nothing/);
      await assertUnharmed(s, '1.2.3');
      const state = await sandboxState(s);
      assert.equal(state.badTarget, null, 'an install failure is not the health of the version');
    }));

  it('--log-format json carries the facts of each line as fields with constant keys', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: window }, async (s) => {
      await writeFile(join(s.apt.root, 'etc/apt/sources.list.d/teleport.list'), 'deb [trusted=yes] file:/nonexistent/teleport-repo ./\n');
      const r = await s.cli(['--log-format', 'json', 'run'], active);
      assert.equal(r.exitCode, 1, r.stderr);
      const lines = r.stderr
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const decision = lines.find((l) => /within maintenance window/.test(String(l.msg)));
      assert.deepEqual(
        [decision?.reason, decision?.installed_version, decision?.target_version, decision?.package],
        ['maintenance-window', '1.2.3', '1.2.4', 'teleport-ent'],
      );
      const refresh = lines.find((l) => /^could not refresh the Teleport package source/.test(String(l.msg)));
      assert.match(String(refresh?.command), /^apt-get update -o Dir::Etc::sourcelist=sources\.list\.d\/teleport\.list/);
      assert.equal(refresh?.exit_code, 100);
      assert.equal(typeof refresh?.duration_ms, 'number');
      const failed = lines.at(-1);
      assert.deepEqual([failed?.level, failed?.package, failed?.target_version], [50, 'teleport-ent', '1.2.4']);
    }));

  it('a held package whose install fails keeps its hold', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: window }, async (s) => {
      await sh('apt-mark', ['hold', 'teleport-ent'], { env: { ...s.apt.env } });
      s.server.answer('v1.2.6');
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.equal(await s.status(), 'hold ok installed\t1.2.3');
    }));

  it('an interrupted transaction is finished by the next run before anything else', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: window }, async (s) => {
      s.server.answer('v1.2.7');
      await writeFile(join(s.apt.root, 'fail-postinst'), '');
      await execa('apt-get', ['install', '-y', '-qq', 'teleport-ent=1.2.7'], {
        env: { ...s.apt.env, DEBIAN_FRONTEND: 'noninteractive' },
        reject: false,
      });
      assert.match(await s.status(), /half-configured\t1\.2\.7/);
      await execa('rm', [join(s.apt.root, 'fail-postinst')]);
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /was left half-installed by an interrupted package transaction; finishing it first/);
      await assertUnharmed(s, '1.2.7');
    }));

  it('two runs started together: one upgrades, the other sees it in progress and exits 0', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: window }, async (s) => {
      const start = () =>
        execa(process.execPath, [...bundleFlags(), bin(), 'run'], {
          env: cleanEnv(s.env(active)),
          extendEnv: false,
          reject: false,
          stdin: 'ignore',
        });
      const [a, b] = await Promise.all([start(), start()]);
      assert.equal(a.exitCode, 0, a.stderr);
      assert.equal(b.exitCode, 0, b.stderr);
      const logs = [String(a.stderr), String(b.stderr)];
      const installs = logs.filter((l) => /upgrade to 1\.2\.4 complete/.test(l)).length;
      const waited = logs.filter((l) => /another teleport-upgrade is in progress: pid \d+ \(teleport-upgrade run/.test(l)).length;
      // Either the second found the lock held, or (on a very slow start) the first had already finished and it found 1.2.4.
      assert.equal(installs, 1, logs.join('\n---\n'));
      assert.equal(waited + logs.filter((l) => /no upgrades available \(1\.2\.4 == 1\.2\.4\)/.test(l)).length, 1, logs.join('\n---\n'));
      const dpkgLog = await readFile(join(s.apt.root, 'var/log/dpkg.log'), 'utf8');
      assert.equal(dpkgLog.match(/ upgrade teleport-ent:amd64 1\.2\.3 1\.2\.4/g)?.length, 1, 'installed exactly once');
      await assertUnharmed(s, '1.2.4');
    }));
});
