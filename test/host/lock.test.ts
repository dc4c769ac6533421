// The one-run-at-a-time lock on real files and real processes: live holders win, dead or reused pids are taken over, races have one winner.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { acquireLock, processStart } from '../../src/host/lock.ts';

const LOCK_MODULE = fileURLToPath(new URL('../../src/host/lock.ts', import.meta.url));
const startOf = async (pid: number) => (await processStart(pid))!;
const lockText = (pid: number, start: string) =>
  `${JSON.stringify({ pid, start, command: 'teleport-upgrade run', since: '2026-11-22T10:00:00.000Z' })}\n`;
const now = new Date('2026-11-22T12:00:00Z');

describe('the run lock', () => {
  let dir: string;
  let n = 0;
  /** A lock path in a directory of its own; `existing` writes a lock file there first. */
  const lockPath = async (existing?: string) => {
    const caseDir = join(dir, `case-${++n}`);
    await mkdir(caseDir);
    if (existing !== undefined) await writeFile(join(caseDir, 'lock'), existing);
    return join(caseDir, 'lock');
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-lock-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is taken (creating its directory), names this process, and release removes it', async () => {
    const path = join(dir, 'new-dir', 'lock');
    const lock = await acquireLock(path, 'teleport-upgrade run', now);
    assert.equal(lock.acquired, true);
    const written = JSON.parse(await readFile(path, 'utf8')) as { pid: number; start: string; since: string };
    assert.deepEqual(written, {
      pid: process.pid,
      start: await startOf(process.pid),
      command: 'teleport-upgrade run',
      since: now.toISOString(),
    });
    if (lock.acquired) await lock.release();
    assert.equal(existsSync(path), false);
  });

  it('held by a live process: not taken, and the holder is named', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      await once(sleeper, 'spawn');
      const path = await lockPath(lockText(sleeper.pid!, await startOf(sleeper.pid!)));
      const lock = await acquireLock(path, 'teleport-upgrade run', now);
      assert.equal(lock.acquired, false);
      if (!lock.acquired) assert.equal(lock.holder.pid, sleeper.pid);
      assert.equal(JSON.parse(await readFile(path, 'utf8')).pid, sleeper.pid, 'the live holder keeps its lock');
    } finally {
      sleeper.kill();
    }
  });

  it('left by a dead process, by a pid now used by another process, or unreadable: taken over', async () => {
    const dead = await execa('sh', ['-c', 'echo $$']);
    const cases = [
      { text: lockText(Number(dead.stdout), '12345'), says: `pid ${dead.stdout}` },
      { text: lockText(process.pid, '1'), says: `pid ${process.pid}` },
      { text: 'garbage', says: 'unreadable' },
    ];
    for (const { text, says } of cases) {
      const path = await lockPath(text);
      const lock = await acquireLock(path, 'teleport-upgrade run', now);
      assert.equal(lock.acquired, true, text);
      if (lock.acquired) assert.match(lock.tookOver ?? '', new RegExp(says));
      assert.equal(JSON.parse(await readFile(path, 'utf8')).pid, process.pid);
    }
  });

  it('held by a zombie (killed, not yet reaped): a zombie holds nothing, and the lock is taken over', async () => {
    // perl forks a child that is killed at once and never reaped while perl sleeps.
    const parent = execa('perl', ['-e', '$| = 1; my $c = fork(); if ($c == 0) { sleep 60; exit 0 } kill 9, $c; print "$c\n"; sleep 60'], {
      reject: false,
    });
    try {
      const zombie = await new Promise<number>((resolve) =>
        parent.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
      );
      let stat = '';
      for (let i = 0; i < 100 && !/^\d+ \(.*\) Z /.test(stat); i++) stat = await readFile(`/proc/${zombie}/stat`, 'utf8');
      assert.match(stat, /^\d+ \(.*\) Z /, 'the child is a zombie');
      const path = await lockPath(lockText(zombie, await startOf(zombie)));
      const lock = await acquireLock(path, 'teleport-upgrade run', now);
      assert.equal(lock.acquired, true);
      if (lock.acquired) assert.match(lock.tookOver ?? '', new RegExp(`pid ${zombie} .*no longer running`));
    } finally {
      parent.kill();
      await parent;
    }
  });

  it('twelve processes racing for a stale lock: exactly one takes it', async () => {
    const path = await lockPath(lockText(999_999_999, '1'));
    // Each racer stays alive (a holder is live) until every one of them has said how it fared.
    const racer = `const { acquireLock } = await import(${JSON.stringify(LOCK_MODULE)});
      const lock = await acquireLock(${JSON.stringify(path)}, 'racer', new Date());
      console.log(lock.acquired ? 'acquired' : 'held');
      await new Promise((r) => setTimeout(r, 60_000));`;
    const racers = Array.from({ length: 12 }, () => execa(process.execPath, ['--input-type=module', '-e', racer], { reject: false }));
    const said = await Promise.all(
      racers.map((r) => new Promise<string>((resolve) => r.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())))),
    );
    for (const r of racers) r.kill();
    await Promise.all(racers);
    const outcomes = said.sort();
    assert.equal(outcomes.filter((o) => o === 'acquired').length, 1, outcomes.join(','));
    assert.equal(outcomes.filter((o) => o === 'held').length, 11);
  });
});
