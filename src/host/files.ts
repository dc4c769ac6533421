// Bounded, careful reads of config and schedule files, and atomic writes of state.
import { constants } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Config and schedule files are a few lines; anything larger is refused, not read. */
export const MAX_FILE_BYTES = 64 * 1024;

export class FileRefusedError extends Error {
  override name = 'FileRefusedError';
}

/**
 * Reads a small regular file; undefined when it does not exist. With `noFollow`, a symlink is refused
 * (the schedule is written by a non-root agent and must not make root read other files).
 */
export const readSmallFile = async (path: string, options: { noFollow?: boolean } = {}): Promise<string | undefined> => {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0);
  let handle;
  try {
    handle = await open(path, flags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new FileRefusedError(`${path} is a symbolic link, which is not accepted here`);
    throw new FileRefusedError(`${path} cannot be read (${code ?? String(error)})`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new FileRefusedError(`${path} is not a regular file`);
    if (info.size > MAX_FILE_BYTES) throw new FileRefusedError(`${path} is ${info.size} bytes, more than the ${MAX_FILE_BYTES} allowed`);
    const buffer = Buffer.alloc(MAX_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_FILE_BYTES) throw new FileRefusedError(`${path} grew past ${MAX_FILE_BYTES} bytes while being read`);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
};

/** Writes a file atomically: a temporary file in the same directory, fsync, then rename over the target. */
export const writeFileAtomic = async (path: string, text: string, mode = 0o644): Promise<void> => {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const temporary = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(temporary, text, { mode, flush: true });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
};
