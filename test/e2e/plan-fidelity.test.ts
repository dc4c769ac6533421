// The plan that is printed is the plan that runs: on real apt, dnf and zypper, `dry-run --json`'s commands equal, in
// order, the state-changing commands `run` then executes, as the tools themselves receive them.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openWindow, sandboxPerTest, type Sandbox } from '../support/sandbox.ts';
import { executedChanges, subcommand, writeRecordingShims } from '../support/recording.ts';
import { aptMissing, rpmMissing, sh } from '../support/tools.ts';

/** Recording shims first on PATH: each appends the argv it is given to the log, then runs the real tool. */
const recording = async (s: Sandbox): Promise<{ PATH: string; log: string }> => {
  const dir = join(s.dir, 'recording');
  const log = join(s.dir, 'argv.log');
  await writeRecordingShims(dir, log);
  return { PATH: `${dir}:${s.env().PATH}`, log };
};

const executed = async (log: string): Promise<string[][]> => executedChanges(await readFile(log, 'utf8'));

/** dry-run --json's commands, then run's executed commands, on the same host; asserts the upgrade happened. */
const printedAndExecuted = async (s: Sandbox, upgraded: () => Promise<void>) => {
  const env = { FAKE_SYSTEMCTL_MODE: 'active' };
  const dry = await s.cli(['dry-run', '--json'], env);
  assert.equal(dry.exitCode, 0, dry.stderr);
  const printed = (JSON.parse(dry.stdout) as { commands: string[][] }).commands;
  const { PATH, log } = await recording(s);
  const r = await s.cli(['run'], { ...env, PATH });
  assert.equal(r.exitCode, 0, r.stderr);
  await upgraded();
  return { printed, executed: await executed(log) };
};

describe('the printed plan is the executed plan (real apt)', { skip: await aptMissing() }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });
  it('refresh, install through the hold, the hold put back, daemon-reload, reload', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      await sh('apt-mark', ['hold', 'teleport-ent'], { env: { ...s.apt.env } });
      const { printed, executed: ran } = await printedAndExecuted(s, async () =>
        assert.equal(await s.status(), 'hold ok installed\t1.2.4'),
      );
      assert.deepEqual(ran, printed);
      assert.deepEqual(
        printed.map((argv) => argv.slice(0, 2).join(' ')),
        ['apt-get update', 'apt-get install', 'apt-mark hold', 'systemctl daemon-reload', 'systemctl reload'],
      );
    }));
});

for (const kind of ['dnf', 'zypper'] as const) {
  describe(`the printed plan is the executed plan (real ${kind})`, { skip: await rpmMissing() }, () => {
    const { withSandbox } = sandboxPerTest({ before, after }, { rpm: true });
    it(
      kind === 'zypper'
        ? 'refresh, lift the lock, install, put the lock back, daemon-reload, reload'
        : 'refresh, install, daemon-reload, reload',
      () =>
        withSandbox({ packages: kind, installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
          if (kind === 'zypper') await s.rpm!.run('zypper', ['--non-interactive', '--quiet', 'addlock', 'teleport-ent']);
          const { printed, executed: ran } = await printedAndExecuted(s, async () => assert.equal(await s.status(), '1.2.4-1'));
          assert.deepEqual(ran, printed);
          assert.deepEqual(
            printed.map((argv) => `${argv[0]} ${subcommand(argv.slice(1))}`),
            kind === 'zypper'
              ? ['zypper refresh', 'zypper removelock', 'zypper install', 'zypper addlock', 'systemctl daemon-reload', 'systemctl reload']
              : ['dnf makecache', 'dnf install', 'systemctl daemon-reload', 'systemctl reload'],
          );
        }),
    );
  });
}
