// The package's bin from a checkout: the bundle `npm ci` built while it is fresh, else the sources, run via its shebang.
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';

const LAUNCHER = fileURLToPath(new URL('../../bin/teleport-upgrade.ts', import.meta.url));
// The shebang finds `node` on PATH: Node 24 first, as npm's scripts and npx have it.
const env = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` };
const run = (launcher: string, args: string[]) => execa(launcher, args, { env, extendEnv: false, reject: false });

describe('the checkout bin', () => {
  let root: string;
  const at = (path: string) => join(root, path);
  const stamp = (path: string, secondsAgo: number) =>
    utimes(at(path), new Date(Date.now() - secondsAgo * 1000), new Date(Date.now() - secondsAgo * 1000));

  before(async () => {
    // A checkout in miniature: the real launcher, and stand-ins that say which of them ran and with which flags.
    root = await mkdtemp(join(tmpdir(), 'teleport-upgrade-checkout-'));
    await Promise.all(['bin', 'src/core', 'dist/bundle'].map((dir) => mkdir(at(dir), { recursive: true })));
    await copyFile(LAUNCHER, at('bin/teleport-upgrade.ts'));
    await writeFile(at('src/bin.ts'), "console.log('sources', ...process.execArgv, ...process.argv.slice(2));\n");
    await writeFile(at('src/core/decide.ts'), 'export {};\n');
    await writeFile(at('package-lock.json'), '{}\n');
    await writeFile(at('dist/bundle/teleport-upgrade.mjs'), "console.log('bundle', ...process.execArgv, ...process.argv.slice(2));\n");
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** Sources and lockfile 60 s old, the bundle 30 s old: what `npm ci` leaves. */
  const freshlyBuilt = async () => {
    for (const path of ['src/bin.ts', 'src/core/decide.ts', 'src/core', 'src', 'package-lock.json']) await stamp(path, 60);
    await stamp('dist/bundle/teleport-upgrade.mjs', 30);
  };

  it('runs the bundle npm ci built, with Liftoff only and the arguments passed on', async () => {
    await freshlyBuilt();
    const result = await run(at('bin/teleport-upgrade.ts'), ['dry-run', '--json']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, 'bundle --liftoff-only dry-run --json');
  });

  for (const [what, changed] of [
    ['a source edited after the build', 'src/core/decide.ts'],
    ['a file added to a source directory', 'src/core'],
    ['the lockfile changed (other dependencies)', 'package-lock.json'],
  ] as const) {
    it(`runs the sources when the bundle is stale: ${what}`, async () => {
      await freshlyBuilt();
      await stamp(changed, 0);
      const result = await run(at('bin/teleport-upgrade.ts'), ['status']);
      assert.equal(result.exitCode, 0, result.stderr);
      assert.equal(result.stdout, 'sources --liftoff-only status');
    });
  }

  it('runs the sources when there is no bundle', async () => {
    await rm(at('dist'), { recursive: true });
    const result = await run(at('bin/teleport-upgrade.ts'), ['version']);
    assert.equal(result.stdout, 'sources --liftoff-only version');
  });

  it("is this package's bin, and answers from this checkout", async () => {
    const manifest = JSON.parse(await readFile(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as {
      bin: Record<string, string>;
    };
    assert.equal(manifest.bin['teleport-upgrade'], 'bin/teleport-upgrade.ts');
    const result = await run(LAUNCHER, ['version', '--raw']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /^\d+\.\d+\.\d+$/);
  });
});
