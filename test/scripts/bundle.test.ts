// The ESM bundle reaches Node's built-in modules through require(): an ESM import of one runs all its lazy exports.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { bin, cleanEnv, bundleFlags } from '../support/cli.ts';

describe('the bundle', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-bundle-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("loads node:http without Node's own copy of undici", async () => {
    // Prints the built-in modules the process loaded, as it exits.
    const preload = join(dir, 'modules.cjs');
    await writeFile(
      preload,
      "process.on('exit', () => require('node:fs').writeSync(2, `\\nMODULES ${JSON.stringify(process.moduleLoadList)}\\n`));\n",
    );
    // No endpoint file: a configuration error, after the real host (and with it the HTTP client) is loaded.
    const result = await execa(
      process.execPath,
      [...bundleFlags(), '--require', preload, bin(), 'dry-run', '--config-dir', dir, '--state-dir', dir],
      {
        env: cleanEnv(),
        extendEnv: false,
        reject: false,
      },
    );
    assert.equal(result.exitCode, 2, result.stderr);
    const modules = JSON.parse(/^MODULES (.*)$/m.exec(result.stderr)?.[1] ?? '[]') as string[];
    assert.ok(modules.includes('NativeModule http'), 'the HTTP client was not loaded, so this test proves nothing');
    // An ESM import of node:http reads its lazy WebSocket exports, which load Node's undici with http2, zlib and more.
    assert.ok(!modules.includes('NativeModule internal/deps/undici/undici'), modules.filter((m) => /undici|http2|zlib/.test(m)).join(', '));
  });
});
