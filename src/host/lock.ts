// One run at a time: a lock file naming its holder (pid and process start time); a dead holder's lock is taken over.
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as z from 'zod/mini';

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

/**
 * Takes the lock at `path` for this process, or reports the live process that holds it. The lock file appears
 * complete or not at all (written aside, then hard-linked into place, which fails if it exists). A lock whose holder
 * is dead (or whose pid now belongs to another process, or which is unreadable) is moved aside and taken over; if
 * what was moved aside turns out to be a live holder's fresh lock, it is put back.
 */
export const acquireLock = async (path: string, command: string, now: Date): Promise<LockResult> => {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const start = await processStart(process.pid);
  if (start === undefined) throw new Error('cannot read this process\'s start time from /proc');
  const mine: LockHolder = { pid: process.pid, start, command, since: now.toISOString() };
  const text = `${JSON.stringify(mine)}\n`;
  const aside = `${path}.${process.pid}.new`;
  await writeFile(aside, text, { mode: 0o644 });
  let tookOver: string | undefined;
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(aside, path);
        const release = async () => {
          if ((await readFile(path, 'utf8').catch(() => undefined)) === text) await rm(path, { force: true });
        };
        return tookOver === undefined ? { acquired: true, release } : { acquired: true, tookOver, release };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const found = await readFile(path, 'utf8').catch(() => undefined);
      if (found === undefined) continue;
      const holder = parseHolder(found);
      if (holder !== undefined && (await isAlive(holder))) return { acquired: false, holder };
      const stale = `${path}.${process.pid}.stale`;
      try {
        await rename(path, stale);
      } catch {
        continue;
      }
      const moved = await readFile(stale, 'utf8').catch(() => undefined);
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
