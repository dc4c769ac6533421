// The command runner on real process trees: the bound holds for every process a command starts, and leftovers never stall it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { KILL_GRACE_MS, OUTPUT_GRACE_MS, runCommand } from '../../src/host/runner.ts';

/** Alive means running or sleeping: a zombie waiting for its reaper is dead. */
const alive = async (pid: number): Promise<boolean> => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !/^\S+ \(.*\) Z /.test(stat);
};

/** Waits a little for processes to be gone (the kernel delivers SIGKILL asynchronously). */
const gone = async (pids: readonly number[]): Promise<boolean> => {
  for (let i = 0; i < 50; i++) {
    if (!(await Promise.all(pids.map(alive))).some(Boolean)) return true;
    await sleep(20);
  }
  return false;
};

const pidsIn = async (file: string): Promise<number[]> => (await readFile(file, 'utf8')).trim().split(/\s+/).map(Number);

describe('runCommand', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-runner-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('kills the whole tree of a hung command at its bound, its children included', async () => {
    const pids = join(dir, 'hung.pids');
    const started = Date.now();
    // A hung `teleport version --raw` with a child of its own, both holding the output pipes.
    const result = await runCommand({ argv: ['sh', '-c', `sleep 300 & echo $$ $! > ${pids}; sleep 300`], timeoutMs: 1000 });
    const took = Date.now() - started;
    assert.equal(result.exitCode, null);
    assert.equal(result.failure, 'timed out after 1 s');
    assert.ok(took < 1000 + KILL_GRACE_MS, `returned after ${took} ms`);
    assert.equal(await gone(await pidsIn(pids)), true, 'the shell and its child are both gone');
  });

  it('a command that ignores SIGTERM is killed after the grace period', async () => {
    const pids = join(dir, 'stubborn.pids');
    const result = await runCommand({
      argv: ['sh', '-c', `trap '' TERM; sleep 300 & echo $$ $! > ${pids}; while :; do sleep 1; done`],
      timeoutMs: 500,
    });
    assert.equal(result.failure, 'timed out after 0.5 s');
    assert.equal(await gone(await pidsIn(pids)), true);
  });

  it('returns when the command exits, though a child it left behind holds its output open; the child is killed', async () => {
    const pids = join(dir, 'leftover.pids');
    const lines: string[] = [];
    const started = Date.now();
    // An `apt-get update` that exits but leaves a helper running with its stdout.
    const result = await runCommand(
      { argv: ['sh', '-c', `sleep 300 & echo $! > ${pids}; echo updated; exit 0`], timeoutMs: 60_000 },
      { onStdout: (line) => lines.push(line) },
    );
    const took = Date.now() - started;
    assert.equal(result.exitCode, 0);
    assert.equal(result.failure, undefined);
    assert.equal(result.stdout, 'updated');
    assert.deepEqual(lines, ['updated']);
    assert.ok(took < 10_000, `returned after ${took} ms`);
    assert.equal(await gone(await pidsIn(pids)), true, 'the leftover child is gone');
  });

  it('keeps the last lines written just before the exit, and the exit status', async () => {
    const result = await runCommand({ argv: ['sh', '-c', 'sleep 300 & printf "one\\ntwo\\n"; echo oops >&2; exit 3'], timeoutMs: 60_000 });
    assert.deepEqual([result.exitCode, result.stdout, result.stderr], [3, 'one\ntwo', 'oops']);
  });

  it('stops reading when a leftover escaped the group, and still returns', async () => {
    const pids = join(dir, 'escaped.pids');
    const started = Date.now();
    const result = await runCommand({ argv: ['sh', '-c', `setsid sleep 300 & echo $! > ${pids}; echo done`], timeoutMs: 60_000 });
    assert.equal(result.exitCode, 0);
    assert.equal(result.stdout, 'done');
    assert.ok(Date.now() - started < OUTPUT_GRACE_MS + 5000);
    // Out of reach of a group kill by design (a daemon); the test cleans it up itself.
    for (const pid of await pidsIn(pids)) process.kill(pid, 'SIGKILL');
  });

  it('reports a command that cannot start', async () => {
    const result = await runCommand({ argv: ['/nonexistent/teleport', 'version'], timeoutMs: 1000 });
    assert.equal(result.exitCode, null);
    assert.match(result.failure ?? '', /ENOENT/);
  });
});
