// One run at a time: a lock file naming its holder (pid and process start time); a dead holder's lock is taken over.
import { spawnSync } from 'node:child_process';
import { constants, type Stats } from 'node:fs';
import { link, lstat, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as z from 'zod/mini';
import { UnusablePathError } from '../core/errors.ts';
import { fields } from '../log/fields.ts';
import { kindOf, readSmallFile, syncDir } from './files.ts';
import { onOwnPath } from './fs-problem.ts';

const holderSchema = z.object({
  pid: z.number().check(z.int(), z.positive()),
  /** The process's start time in clock ticks since boot (/proc/PID/stat field 22): tells a live holder from a reused pid. */
  start: z.string().check(z.regex(/^\d{1,20}$/)),
  command: z.string().check(z.maxLength(200)),
  since: z.iso.datetime(),
});

export type LockHolder = z.infer<typeof holderSchema>;

export type LockResult =
  /** `tookOver` describes the dead holder whose lock was taken over. */
  | { readonly acquired: true; readonly tookOver?: string; readonly release: () => Promise<void> }
  | { readonly acquired: false; readonly holder: LockHolder };

/** The /proc/PID/stat fields after the command name (which may hold spaces and parentheses): from its last ')'. */
const statFields = async (pid: number): Promise<string[] | undefined> => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
};

/** The start time of a process (field 22), or undefined when there is none with that pid. */
export const processStart = async (pid: number): Promise<string | undefined> => (await statFields(pid))?.[19];

const parseHolder = (text: string | undefined): LockHolder | undefined => {
  if (text === undefined) return undefined;
  try {
    const parsed = holderSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
};

/** How the log names a holder. */
export const describeHolder = (holder: LockHolder): string => `pid ${holder.pid} (${holder.command}, since ${holder.since})`;

/**
 * Whether the holder still runs: a process with its pid and start time that has not exited. A zombie (state Z: killed
 * and not yet reaped) or a dying process (X) has closed its files and holds nothing.
 */
const isAlive = async (holder: LockHolder): Promise<boolean> => {
  const fields = await statFields(holder.pid);
  return fields !== undefined && fields[19] === holder.start && fields[0] !== 'Z' && fields[0] !== 'X';
};

const statOrNothing = async (path: string): Promise<Stats | undefined> =>
  lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });

/** Refuses anything at the lock path that is not a regular file, without opening it (a FIFO would block the open). */
const checkLockPath = async (path: string): Promise<void> => {
  const info = await statOrNothing(path);
  if (info === undefined || info.isFile()) return;
  const reason = `it is ${kindOf(info)}, not the updater's lock file`;
  throw new UnusablePathError(
    `cannot take the run lock at ${path}: ${reason}, and nothing else may be there. Remove it (rm -r ${path}), then run teleport-upgrade again.`,
    reason,
    fields({ path }),
  );
};

/** The lock's directory, created when missing; a file standing in its place is refused. */
const lockDirectory = async (path: string): Promise<void> => {
  const dir = dirname(path);
  const info = await statOrNothing(dir);
  if (info !== undefined && !info.isDirectory()) {
    const reason = `${dir} is ${kindOf(info)}, not a directory`;
    throw new UnusablePathError(
      `cannot take the run lock at ${path}: ${reason}. Move it out of the way (or point --state-dir at a directory), then run teleport-upgrade again.`,
      reason,
      fields({ path }),
    );
  }
  await mkdir(dir, { recursive: true, mode: 0o755 });
};

/** The lock file's text, read without following links and without blocking; undefined when it is gone. */
const readLock = async (path: string): Promise<string | undefined> => {
  await checkLockPath(path);
  return readSmallFile(path, { noFollow: true }).catch(async () => {
    // Replaced by something else between the check and the read: refused; else a file that is no lock of ours.
    await checkLockPath(path);
    return '';
  });
};

/** How long one acquisition waits for others to finish theirs (each is a few file operations). */
const ACQUIRE_WAIT_S = 10;

/**
 * Runs `body` while no other process is acquiring the same lock: the kernel's flock(2) on the lock's directory, taken
 * by util-linux's flock(1) on a descriptor it shares with us, held until we close it (or exit: a killed process holds
 * nothing). Without it two processes could both judge a stale lock dead and both take it over.
 */
const oneAcquisitionAtATime = async <T>(path: string, body: () => Promise<T>): Promise<T> => {
  const guard = await open(dirname(path), constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const flock = spawnSync('flock', ['--exclusive', '--timeout', String(ACQUIRE_WAIT_S), '3'], {
      stdio: ['ignore', 'ignore', 'pipe', guard.fd],
      timeout: (ACQUIRE_WAIT_S + 5) * 1000,
      encoding: 'utf8',
    });
    if (flock.error !== undefined) throw new Error(`cannot run flock (util-linux) to take ${path}: ${flock.error.message}`);
    if (flock.status !== 0)
      throw new Error(
        `could not lock ${dirname(path)} to take ${path} within ${ACQUIRE_WAIT_S} s: ${flock.stderr.trim() || `flock exited with ${flock.status ?? flock.signal}`}`,
      );
    return await body();
  } finally {
    await guard.close();
  }
};

/**
 * Takes the lock at `path` for this process, or reports the live process that holds it. The lock file appears
 * complete or not at all (written aside, then hard-linked into place, which fails if it exists), and the directory is
 * flushed. A lock whose holder is gone (dead, a zombie, or a pid now another process's; or unreadable) is removed and
 * taken over; acquisitions run one at a time, so two processes never both take over the same stale lock. Anything but
 * a regular file at the path, and a directory that cannot hold the lock (not a directory, read-only, full), is an
 * UnusablePathError.
 */
export const acquireLock = async (path: string, command: string, now: Date): Promise<LockResult> => {
  const start = await processStart(process.pid);
  if (start === undefined) throw new Error("cannot read this process's start time from /proc");
  const mine: LockHolder = { pid: process.pid, start, command, since: now.toISOString() };
  return onOwnPath('take the run lock', path, async () => {
    await lockDirectory(path);
    await checkLockPath(path);
    const text = `${JSON.stringify(mine)}\n`;
    const aside = `${path}.${process.pid}.new`;
    try {
      await writeFile(aside, text, { mode: 0o644 });
      // Usually there is no lock file: linking ours into place needs nobody else's leave. Only a lock that is there
      // (live, or to be taken over) is dealt with one acquisition at a time.
      return (await linkInPlace(path, aside, text, undefined)) ?? (await oneAcquisitionAtATime(path, () => takeOver(path, aside, text)));
    } finally {
      await rm(aside, { force: true });
    }
  });
};

/** The lock, when linking `aside` into place succeeds; undefined when a lock file is there (EEXIST). */
const linkInPlace = async (path: string, aside: string, text: string, tookOver: string | undefined): Promise<LockResult | undefined> => {
  try {
    await link(aside, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  await syncDir(dirname(path));
  const release = async () => {
    if ((await readSmallFile(path, { noFollow: true }).catch(() => undefined)) === text) await rm(path, { force: true });
  };
  return tookOver === undefined ? { acquired: true, release } : { acquired: true, tookOver, release };
};

/** With a lock file in the way: its live holder keeps it; a gone holder's is removed and ours linked in its place. */
const takeOver = async (path: string, aside: string, text: string): Promise<LockResult> => {
  let tookOver: string | undefined;
  // A live holder may release its lock at any moment (outside the one-at-a-time section): then try again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const taken = await linkInPlace(path, aside, text, tookOver);
    if (taken !== undefined) return taken;
    const found = await readLock(path);
    if (found === undefined) continue;
    const holder = parseHolder(found);
    if (holder !== undefined && (await isAlive(holder))) return { acquired: false, holder };
    // Nobody else takes a lock over now, a new lock cannot be linked while this one is there, and a holder that is
    // gone releases nothing: what was read is what is removed.
    await rm(path, { force: true });
    tookOver = holder === undefined ? 'an unreadable lock file' : `the lock of ${describeHolder(holder)}, which is no longer running`;
  }
  throw new Error(`could not take the lock ${path} after 5 attempts; another process keeps taking and releasing it`);
};

/** The live holder of the lock at `path`, if any; reads only (dry-run and status take no lock). */
export const lockHolder = async (path: string): Promise<LockHolder | undefined> => {
  const text = await readLock(path).catch(() => undefined);
  const holder = parseHolder(text);
  return holder !== undefined && (await isAlive(holder)) ? holder : undefined;
};
