// Logging never ends a run: stderr on a small non-blocking pipe whose reader stalls (real apt, a real pipe).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, cliCommand } from '../support/cli.ts';
import { FIXTURE_BIN, openWindow, sandboxPerTest, type Sandbox } from '../support/sandbox.ts';
import { aptMissing, localUsersMissing } from '../support/tools.ts';

const active = { FAKE_SYSTEMCTL_MODE: 'active' };

/**
 * `run` with debug lines on (well over the pipe's 4 KiB), its stderr read only after `stall` seconds, or, with
 * `untilRecorded`, not before the run recorded its outcome in the state file (lines had to be dropped by then).
 */
const runBehindSlowReader = async (s: Sandbox, stall: number, untilRecorded = false) => {
  await s.write('debug', 'yes\n');
  const until: Record<string, string> = untilRecorded
    ? { STALL_UNTIL_FILE: join(s.stateDir, 'state.json'), STALL_UNTIL_TEXT: '"outcome"' }
    : {};
  const r = await execa('perl', [join(FIXTURE_BIN, 'slow-reader.pl'), ...cliCommand(), 'run'], {
    env: cleanEnv(s.env({ ...active, STALL: String(stall), ...until })),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: 90_000,
  });
  const exit = Number(/^exit=(\d+)$/m.exec(r.stdout)?.[1]);
  return { exit, log: r.stdout.replace(/\n?exit=\d+$/, ''), stderr: r.stderr };
};

describe('a slow reader of the log (real apt)', { skip: (await aptMissing()) ?? (await localUsersMissing()), concurrency: true }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('a reader that stalls briefly: every line waits for it, none is lost, the run succeeds', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const r = await runBehindSlowReader(s, 2);
      assert.equal(r.exit, 0, r.log + r.stderr);
      assert.ok(r.log.length > 4096, `more output than the pipe holds (${r.log.length} bytes)`);
      assert.doesNotMatch(r.log, /dropped|Node\.js v/);
      assert.equal(r.log.trimEnd().split('\n').at(-1), '[i] upgrade to 1.2.4 complete.');
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }));

  it('a reader that stalls for long: lines are dropped and counted, the run succeeds, and its final line is written anyway', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const r = await runBehindSlowReader(s, 0, true);
      assert.equal(r.exit, 0, r.log + r.stderr);
      assert.doesNotMatch(r.log, /Node\.js v/);
      const last = r.log.trimEnd().split('\n').at(-1) ?? '';
      assert.match(
        last,
        /^\[!\] \d+ log line\(s\) were dropped: the reader of this output did not take them in time \(waited \d+\.\d s in all\)\. The last of them: \[[id!]\] /,
      );
      // The final status line is there, as a line of its own or as the last of the dropped ones.
      assert.match(r.log, /^\[i\] upgrade to 1\.2\.4 complete\.$|The last of them: \[i\] upgrade to 1\.2\.4 complete\.$/m);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }));
});
