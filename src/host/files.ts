// Bounded, careful reads of config and schedule files, and atomic, durable writes of state and metrics.
import { constants, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { inDir, openSafely } from './safe-path.ts';

/** Config and schedule files are a few lines; anything larger is refused, not read. */
export const MAX_FILE_BYTES = 64 * 1024;

export class FileRefusedError extends Error {
  override name = 'FileRefusedError';
  /** Why: `link`, `not-regular`, `too-large`, or the errno of the open that failed (EACCES: another user may read it). */
  readonly why: string;
  constructor(message: string, why: string) {
    super(message);
    this.why = why;
  }
}

/** What a file-system entry is, in words. */
export const kindOf = (info: Stats): string =>
  info.isDirectory()
    ? 'a directory'
    : info.isFIFO()
      ? 'a FIFO (named pipe)'
      : info.isSymbolicLink()
        ? 'a symbolic link'
        : info.isSocket()
          ? 'a socket'
          : info.isFile()
            ? 'a regular file'
            : 'a device';

/**
 * Reads a small regular file; undefined when it does not exist. With `noFollow`, a symlink is refused
 * (the schedule is written by a non-root agent and must not make root read other files).
 */
export const readSmallFile = async (path: string, options: { noFollow?: boolean } = {}): Promise<string | undefined> => {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0);
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new FileRefusedError(`${path} is a symbolic link, which is not accepted here`, 'link');
    throw new FileRefusedError(`${path} cannot be read (${code ?? String(error)})`, code ?? 'unknown');
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new FileRefusedError(`${path} is not a regular file (${kindOf(info)})`, 'not-regular');
    if (info.size > MAX_FILE_BYTES)
      throw new FileRefusedError(`${path} is ${info.size} bytes, more than the ${MAX_FILE_BYTES} allowed`, 'too-large');
    const buffer = Buffer.alloc(MAX_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_FILE_BYTES) throw new FileRefusedError(`${path} grew past ${MAX_FILE_BYTES} bytes while being read`, 'too-large');
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
};

/** Flushes a directory's entries (a rename, a new file) to disk, so they survive a power cut. */
export const syncDir = async (path: string): Promise<void> => {
  const dir = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
};

/** Creates a directory (and its missing parents) durably: each new directory's entry is flushed in its parent. */
export const makeDir = async (path: string, mode: number): Promise<void> => {
  const first = await mkdir(path, { recursive: true, mode });
  if (first === undefined) return;
  for (let dir = path; ; dir = dirname(dir)) {
    await syncDir(dirname(dir));
    if (dir === first || dir === '/') return;
  }
};

/** A temporary name nobody can guess, so nobody can plant a link, a FIFO or a directory at it in advance. */
const temporaryName = (name: string): string => `.${name}.${randomBytes(9).toString('base64url')}.tmp`;

export interface AtomicWrite {
  /** The file's permission bits (0644: node_exporter, which is not root, reads the metrics). */
  readonly mode?: number;
  /** Create the directory when it is missing (the updater's own); otherwise a missing one is an error (ENOENT). */
  readonly createDir?: boolean;
  /** The temporary file's name in the directory; unguessable unless a test chooses it. */
  readonly temporary?: string;
}

/**
 * Replaces a file atomically and durably, through its directory opened once (see openSafely: a directory another
 * account owns is fine, a link that account could change on the way is refused). The temporary file is created
 * exclusively, never through a link, never blocking (a FIFO or anything else at its name fails the write), written,
 * fsynced, renamed over the target, and the directory fsynced. Nothing outside that directory is touched, and in it
 * only the temporary file and the target. A failed write removes its temporary file.
 */
export const writeFileAtomic = async (path: string, text: string, options: AtomicWrite = {}): Promise<void> => {
  const name = basename(path);
  if (options.createDir) await makeDir(dirname(path), 0o755);
  const { handle: dir } = await openSafely(dirname(path), { kind: 'directory', strict: false });
  try {
    const temporary = options.temporary ?? temporaryName(name);
    const file = await open(
      inDir(dir, temporary),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      options.mode ?? 0o644,
    );
    try {
      try {
        await file.writeFile(text);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(inDir(dir, temporary), inDir(dir, name));
    } catch (error) {
      await unlink(inDir(dir, temporary)).catch(() => undefined);
      throw error;
    }
    await dir.sync();
  } finally {
    await dir.close();
  }
};
