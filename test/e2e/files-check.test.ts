// A run with nothing to do reads none of the package's files once a full check has recorded them (real apt; strace
// shows what the process tree opens and runs).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, cliCommand } from '../support/cli.ts';
import { laterWindow, sandboxPerTest } from '../support/sandbox.ts';
import { aptMissing, straceMissing } from '../support/tools.ts';

describe('the installed files, on a host where nothing changes (real apt)', {
  skip: (await aptMissing()) ?? (await straceMissing()),
}, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('the first run checks every file; the next opens none of them and starts no process for them', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: laterWindow() } }, async (s) => {
      s.server.answer('v1.2.3');
      const first = await s.cli(['--debug', 'run']);
      assert.equal(first.exitCode, 0, first.stderr);
      assert.match(first.stderr, /checking every file of teleport-ent against the package database: there is no record of a full check\./);
      const trace = join(s.dir, 'strace.out');
      const second = await execa('strace', ['-f', '-qq', '-e', 'trace=open,openat,execve', '-o', trace, ...cliCommand(), 'run'], {
        env: cleanEnv(s.env()),
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
      });
      assert.equal(second.exitCode, 0, second.stderr);
      const calls = await readFile(trace, 'utf8');
      const binary = join(s.apt.root, 'usr/local/bin/teleport');
      assert.ok(calls.includes('execve("/usr/bin/dpkg-query"'), 'the installed version is still asked');
      assert.doesNotMatch(calls, /execve\("[^"]*\/dpkg", \["dpkg", "--verify"/, 'no full check');
      assert.equal(
        calls.split('\n').filter((line) => /^\d+\s+open(at)?\(/.test(line) && line.includes(binary)).length,
        0,
        'the package file is never opened',
      );
      const status = JSON.parse((await s.cli(['status', '--json'])).stdout) as { filesVerifiedAt: string | null };
      assert.ok(status.filesVerifiedAt !== null);
    }));
});
