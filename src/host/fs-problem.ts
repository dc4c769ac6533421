// Turns a file-system error on one of the updater's own paths (state, lock, rollback copy) into a sentence an operator can act on.
import { UnusablePathError } from '../core/errors.ts';
import { fields } from '../log/fields.ts';
import { PathRefusedError } from './safe-path.ts';

/** What an errno means here, and what to do about it. */
const MEANINGS: Readonly<Record<string, readonly [meaning: string, remedy: string]>> = {
  ENOSPC: ['no space is left on its file system', 'Free some space there'],
  EDQUOT: ['the disk quota of its file system is exhausted', 'Free some space there'],
  EROFS: [
    'its file system is mounted read-only',
    'Make it writable, or point --state-dir (TELEPORT_UPGRADE_STATE_DIR) at a writable directory',
  ],
  EACCES: ['permission is denied', 'Run teleport-upgrade as root (sudo), or fix the permissions'],
  EPERM: ['the operation is not permitted', 'Run teleport-upgrade as root (sudo), and check the file attributes (lsattr)'],
  ENOTDIR: ['a part of the path is a file, not a directory', 'Move that file out of the way'],
  EISDIR: ['it is a directory', 'Remove that directory'],
  ELOOP: ['it is a symbolic link, which is not accepted here', 'Remove the link'],
  EEXIST: ['something that is not a directory stands where a directory is needed', 'Move it out of the way'],
  EIO: ['the device reports an I/O error', 'Check the disk (dmesg)'],
  ENOENT: ['a directory on the way does not exist', 'Create it, or correct the path'],
};

/** An errno-style error from node:fs. */
export const errnoOf = (error: unknown): string | undefined => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
};

/**
 * The operator-facing error for `action` (e.g. "write the state file") failing on `path`; the error itself when it is
 * not a file-system error. Exit status 2: the host needs fixing, not the network or the package manager.
 */
export const unusablePath = (action: string, path: string, error: unknown): unknown => {
  if (error instanceof PathRefusedError) {
    return new UnusablePathError(
      `cannot ${action} at ${path}: ${error.reason}. Make sure only root can change the directories on the way, then run teleport-upgrade again.`,
      error.reason,
      fields({ path }),
    );
  }
  const code = errnoOf(error);
  if (code === undefined) return error;
  const [meaning, remedy] = MEANINGS[code] ?? [(error as Error).message, 'Check the path'];
  const reason = `${meaning} (${code})`;
  return new UnusablePathError(
    `cannot ${action} at ${path}: ${reason}. ${remedy}, then run teleport-upgrade again.`,
    reason,
    fields({ path }),
  );
};

/** Runs a file-system action on one of the updater's own paths, with unusablePath's errors. */
export const onOwnPath = async <T>(action: string, path: string, body: () => Promise<T>): Promise<T> => {
  try {
    return await body();
  } catch (error) {
    throw unusablePath(action, path, error);
  }
};
