// Opens a path so that no other account can redirect root: a symbolic link is followed only where root alone can change it.
import { constants, type Stats } from 'node:fs';
import { lstat, open, readlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** A path refused because another account could change where it leads, or it is not what it must be. */
export class PathRefusedError extends Error {
  override name = 'PathRefusedError';
  /** What is wrong, without the path's context: "/etc/x is writable by its group (gid 998)". */
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

/** The sticky bit (S_ISVTX): in such a directory only an entry's owner (or the directory's) may rename or remove it. */
const STICKY = 0o1000;
/** Links followed on one path at most (the kernel's own limit). */
const MAX_LINKS = 40;

/** Who besides root can change what a directory holds, or undefined when nobody can. */
export const foreignWriter = (info: Pick<Stats, 'uid' | 'gid' | 'mode'>): string | undefined => {
  if (info.uid !== 0) return `owned by uid ${info.uid}`;
  if ((info.mode & 0o020) !== 0) return `writable by its group (gid ${info.gid})`;
  if ((info.mode & 0o002) !== 0) return 'writable by everyone';
  return undefined;
};

/**
 * Whether only root can replace the entry `entry` of directory `dir`: the directory is root's alone, or it is root's
 * and sticky (like /tmp), where an entry can be replaced only by its owner, and the entry is root's.
 */
const entryIsRoots = (dir: Stats, entry: Pick<Stats, 'uid'>): boolean =>
  foreignWriter(dir) === undefined || (dir.uid === 0 && (dir.mode & STICKY) !== 0 && entry.uid === 0);

export interface OpenOptions {
  /** What the path must lead to. */
  readonly kind: 'directory' | 'file';
  /**
   * Every directory on the way, the last one included, must be root's and changeable by root alone (for what runs as
   * root; a file at the end is the caller's to judge). Otherwise another account's directory may be on the way, but no
   * link in it is followed.
   */
  readonly strict: boolean;
  /** The last component must not be a symbolic link at all. */
  readonly noFinalLink?: boolean;
}

const ROOT_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY;

/** The path of an entry of an open directory, for the calls Node has no *at() form of. */
export const inDir = (dir: FileHandle, name: string): string => `/proc/self/fd/${dir.fd}/${name}`;

/**
 * Opens `path` component by component from `/`, each through the directory opened before it, so that nothing renamed on
 * the way can redirect the walk. A symbolic link is followed only when root alone can change it (see entryIsRoots);
 * with `strict`, every directory on the way must also be root's alone. Throws PathRefusedError naming what is wrong,
 * or the errno error (ENOENT) when something is missing. The caller closes the handle.
 */
export const openSafely = async (path: string, options: OpenOptions): Promise<{ handle: FileHandle; stats: Stats }> => {
  if (!path.startsWith('/')) throw new PathRefusedError(`${path} is not an absolute path`);
  let dir = await open('/', ROOT_FLAGS);
  let dirStats = await dir.stat();
  let where = '/';
  const queue = path.split('/').filter((part) => part !== '' && part !== '.');
  let links = 0;
  try {
    if (options.strict && foreignWriter(dirStats) !== undefined) throw new PathRefusedError(`/ is ${foreignWriter(dirStats)}`);
    while (queue.length > 0) {
      const name = queue.shift()!;
      const last = queue.length === 0;
      const here = join(where, name);
      const wantsFile = last && options.kind === 'file';
      let next: FileHandle;
      try {
        next = await open(
          inDir(dir, name),
          constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | (wantsFile ? 0 : constants.O_DIRECTORY),
        );
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw error;
        const info = await lstat(inDir(dir, name));
        if (!info.isSymbolicLink()) throw new PathRefusedError(`${here} is not a directory`);
        if (last && options.noFinalLink) throw new PathRefusedError(`${here} is a symbolic link, which is not accepted here`);
        if (!entryIsRoots(dirStats, info))
          throw new PathRefusedError(`${here} is a symbolic link in ${where}, which is ${foreignWriter(dirStats)}`);
        if (++links > MAX_LINKS) throw new PathRefusedError(`${path} leads through more than ${MAX_LINKS} symbolic links`);
        const target = await readlink(inDir(dir, name));
        queue.unshift(...target.split('/').filter((part) => part !== '' && part !== '.'));
        if (target.startsWith('/')) {
          await dir.close();
          dir = await open('/', ROOT_FLAGS);
          dirStats = await dir.stat();
          where = '/';
        }
        continue;
      }
      const stats = await next.stat();
      await dir.close();
      dir = next;
      if (options.strict && stats.isDirectory()) {
        const writer = foreignWriter(stats);
        // A root-owned sticky directory (like /tmp) is fine on the way: its entries are checked in turn.
        const stickyRoots = stats.uid === 0 && (stats.mode & STICKY) !== 0;
        if (writer !== undefined && !(stickyRoots && !last)) throw new PathRefusedError(`${here} is ${writer}`);
      }
      if (wantsFile && !stats.isFile()) throw new PathRefusedError(`${here} is not a regular file`);
      dirStats = stats;
      where = here;
    }
    return { handle: dir, stats: dirStats };
  } catch (error) {
    await dir.close();
    throw error;
  }
};
