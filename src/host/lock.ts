// One run at a time: a lock file naming its holder (pid and process start time); a dead holder's lock is taken over.
import type { Stats } from 'node:fs';
import { link, lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as z from 'zod/mini';
import { UnusablePathError } from '../core/errors.ts';
import { fields } from '../log/fields.ts';
import { readSmallFile } from './files.ts';
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

/** The start time of a live process, or undefined when there is none with that pid. */
export const processStart = async (pid: number): Promise<string | undefined> => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // The command name (field 2) may hold spaces and parentheses: fields after it start at the last ')'.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
};

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

const isAlive = async (holder: LockHolder): Promise<boolean> => (await processStart(holder.pid)) === holder.start;

/** What an entry is, for the message when it is not what belongs there. */
const kindOf = (info: Stats): string =>
  info.isDirectory() ? 'a directory' : info.isFIFO() ? 'a FIFO (named pipe)' : info.isSymbolicLink() ? 'a symbolic link'
    : info.isSocket() ? 'a socket' : info.isFile() ? 'a regular file' : 'a device';

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
  throw new UnusablePathError(`cannot take the run lock at ${path}: ${reason}, and nothing else may be there. Remove it (rm -r ${path}), then run teleport-upgrade again.`, reason, fields({ path }));
};

/** The lock's directory, created when missing; a file standing in its place is refused. */
const lockDirectory = async (path: string): Promise<void> => {
  const dir = dirname(path);
  const info = await statOrNothing(dir);
  if (info !== undefined && !info.isDirectory()) {
    const reason = `${dir} is ${kindOf(info)}, not a directory`;
    throw new UnusablePathError(`cannot take the run lock at ${path}: ${reason}. Move it out of the way (or point --state-dir at a directory), then run teleport-upgrade again.`, reason, fields({ path }));
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

/**
 * Takes the lock at `path` for this process, or reports the live process that holds it. The lock file appears
 * complete or not at all (written aside, then hard-linked into place, which fails if it exists). A lock whose holder
 * is dead (or whose pid now belongs to another process, or which is unreadable) is moved aside and taken over; if
 * what was moved aside turns out to be a live holder's fresh lock, it is put back. Anything but a regular file at the
 * path, and a directory that cannot hold the lock (not a directory, read-only, full), is an UnusablePathError.
 */
export const acquireLock = async (path: string, command: string, now: Date): Promise<LockResult> => {
  const start = await processStart(process.pid);
  if (start === undefined) throw new Error('cannot read this process\'s start time from /proc');
  const mine: LockHolder = { pid: process.pid, start, command, since: now.toISOString() };
  return onOwnPath('take the run lock', path, async () => {
    await lockDirectory(path);
    await checkLockPath(path);
    return takeLock(path, mine);
  });
};

const takeLock = async (path: string, mine: LockHolder): Promise<LockResult> => {
  const text = `${JSON.stringify(mine)}\n`;
  const aside = `${path}.${process.pid}.new`;
  let tookOver: string | undefined;
  try {
    await writeFile(aside, text, { mode: 0o644 });
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(aside, path);
        const release = async () => {
          if ((await readSmallFile(path, { noFollow: true }).catch(() => undefined)) === text) await rm(path, { force: true });
        };
        return tookOver === undefined ? { acquired: true, release } : { acquired: true, tookOver, release };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const found = await readLock(path);
      if (found === undefined) continue;
      const holder = parseHolder(found);
      if (holder !== undefined && (await isAlive(holder))) return { acquired: false, holder };
      const stale = `${path}.${process.pid}.stale`;
      try {
        await rename(path, stale);
      } catch {
        continue;
      }
      const moved = await readSmallFile(stale, { noFollow: true }).catch(() => undefined);
      if (moved !== found) {
        // Another run took the stale lock over between our read and our rename: give its lock back.
        await rename(stale, path);
        const other = parseHolder(moved);
        if (other !== undefined) return { acquired: false, holder: other };
        continue;
      }
      await rm(stale, { force: true });
      tookOver = holder === undefined ? 'an unreadable lock file' : `the lock of ${describeHolder(holder)}, which is no longer running`;
    }
    throw new Error(`could not take the lock ${path} after 5 attempts; another process keeps replacing it`);
  } finally {
    await rm(aside, { force: true });
  }
};

/** The live holder of the lock at `path`, if any; reads only (dry-run and status take no lock). */
export const lockHolder = async (path: string): Promise<LockHolder | undefined> => {
  const text = await readLock(path).catch(() => undefined);
  const holder = parseHolder(text);
  return holder !== undefined && (await isAlive(holder)) ? holder : undefined;
};
