// The standalone binary (npm run build:binary): runs without Node.js on PATH and answers like the CLI from source.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { testBinary } from '../support/binary.ts';
import { cleanEnv, SOURCE_BIN } from '../support/cli.ts';
import { laterWindow, sandboxPerTest } from '../support/sandbox.ts';
import { aptMissing, binaryToolsMissing } from '../support/tools.ts';

const missing = (await binaryToolsMissing()) ?? (await aptMissing());

describe('the standalone binary', { skip: missing }, () => {
  let binary: string;
  before(async () => {
    binary = await testBinary();
  });
  const { withSandbox } = sandboxPerTest({ before, after });

  it('runs with no Node.js on PATH', async () => {
    const result = await execa(binary, ['version', '--raw'], { env: { PATH: '/nonexistent' }, extendEnv: false, reject: false });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /^\d+\.\d+\.\d+$/);
  });

  it('carries a code cache, trained at build time, that V8 accepts', async () => {
    const result = await execa(binary, ['version'], {
      env: { PATH: '/nonexistent', TELEPORT_UPGRADE_DEBUG_CODE_CACHE: '1' },
      extendEnv: false,
      reject: false,
    });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stderr, 'code cache accepted');
  });

  it("takes no options from Node's environment: NODE_OPTIONS runs nothing, NODE_TLS_REJECT_UNAUTHORIZED turns nothing off", () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      const marker = join(s.dir, 'required');
      await writeFile(join(s.dir, 'evil.cjs'), `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran as root')\n`);
      const version = await execa(binary, ['version'], {
        env: { PATH: '/nonexistent', NODE_OPTIONS: `--require ${join(s.dir, 'evil.cjs')}` },
        extendEnv: false,
        reject: false,
      });
      assert.equal(version.exitCode, 0, version.stderr);
      assert.equal(existsSync(marker), false, 'the file NODE_OPTIONS names was not run');
      // A critical target from a server whose certificate nobody here signed.
      s.server.answer('v1.2.4', 'yes');
      const r = await execa(binary, ['run'], {
        env: cleanEnv(s.env({ SSL_CERT_FILE: '/nonexistent', NODE_TLS_REJECT_UNAUTHORIZED: '0' })),
        extendEnv: false,
        reject: false,
      });
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /the server's certificate is not signed by a CA this host trusts/);
      assert.doesNotMatch(r.stderr, /use-system-ca/);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
    }));

  it('decides exactly as the CLI from source does', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: laterWindow() } }, async (s) => {
      const fromSource = await execa(process.execPath, [SOURCE_BIN, 'dry-run', '--json'], {
        env: cleanEnv(s.env()),
        extendEnv: false,
        reject: false,
      });
      const fromBinary = await execa(binary, ['dry-run', '--json'], { env: cleanEnv(s.env()), extendEnv: false, reject: false });
      assert.equal(fromBinary.exitCode, 0, fromBinary.stderr);
      assert.deepEqual(JSON.parse(fromBinary.stdout), JSON.parse(fromSource.stdout));
      assert.equal(JSON.parse(fromBinary.stdout).reason, 'outside-window');
    }));
});
