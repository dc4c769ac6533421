// Wires the real machine into a Host.
import { constants } from 'node:fs';
import { access, copyFile, lstat, mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { Log } from '../log/log.ts';
import { systemClock } from './clock.ts';
import { readSmallFile, syncDir, writeFileAtomic } from './files.ts';
import type { Fingerprint } from '../core/files-check.ts';
import type { Host, PathInfo } from './host.ts';
import { fetchChannel } from './channel-fetch.ts';
import { fleetLockClient } from './fleet-lock-client.ts';
import { probeStatus } from './http-transport.ts';
import { onOwnPath } from './fs-problem.ts';
import { acquireLock, lockHolder } from './lock.ts';
import type { Runner } from './runner.ts';
import { inDir, openSafely } from './safe-path.ts';

/** execa loads with the first command, which a run starts while the proxy is still being asked. */
let runner: Promise<typeof import('./runner.ts')> | undefined;
const runCommand: Runner = async (command, options) => {
  runner ??= import('./runner.ts');
  return (await runner).runCommand(command, options);
};

const listDir = async (path: string, options: { recursive?: boolean; rootOnly?: boolean } = {}): Promise<string[]> => {
  if (options.rootOnly) {
    let dir: FileHandle;
    try {
      ({ handle: dir } = await openSafely(path, { kind: 'directory', strict: true, noFinalLink: true }));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    try {
      return (await readdir(inDir(dir, '.'))).sort();
    } finally {
      await dir.close();
    }
  }
  try {
    return (await readdir(path, { recursive: options.recursive === true })).sort();
  } catch {
    return [];
  }
};

/** Walks the path strictly (see openSafely) and describes the file it leads to. */
const inspectExecutable = async (path: string): Promise<PathInfo> => {
  const { handle, stats } = await openSafely(path, { kind: 'file', strict: true });
  await handle.close();
  return { kind: stats.isFile() ? 'file' : 'other', uid: stats.uid, mode: stats.mode & 0o7777 };
};

/** lstat with nanoseconds: a symbolic link or anything else but a regular file is no fingerprint of a package file. */
const fingerprints = (paths: readonly string[]): Promise<Array<Fingerprint | undefined>> =>
  Promise.all(
    paths.map(async (path) => {
      const info = await lstat(path, { bigint: true }).catch(() => undefined);
      if (info === undefined || !info.isFile()) return undefined;
      return { path, ino: String(info.ino), size: String(info.size), mtimeNs: String(info.mtimeNs), ctimeNs: String(info.ctimeNs) };
    }),
  );

/** fsync of a file, then of its directory. */
const persist = async (path: string): Promise<void> => {
  const file = await open(path, 'r');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
  await syncDir(dirname(path));
};

const hasExecutable = async (name: string): Promise<boolean> => {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    try {
      await access(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
};

export const realHost = (log: Log, userAgent: string, stdout: (text: string) => void): Host => ({
  run: runCommand,
  fetchChannel: fetchChannel({ userAgent, env: process.env }),
  postFleetLock: fleetLockClient({ userAgent, env: process.env }),
  probeStatus,
  readFile: readSmallFile,
  listDir,
  inspectExecutable,
  hasExecutable,
  copyFile: (from, to) =>
    onOwnPath('copy a package file', to, async () => {
      await mkdir(dirname(to), { recursive: true, mode: 0o700 });
      try {
        await copyFile(from, to);
      } catch (error) {
        await rm(to, { force: true });
        throw error;
      }
    }),
  resetDir: (path) =>
    onOwnPath('empty the directory', path, async () => {
      await rm(path, { recursive: true, force: true });
      await mkdir(path, { recursive: true, mode: 0o700 });
    }),
  fingerprints,
  persist: (path) => onOwnPath('flush to disk', path, () => persist(path)),
  writeFile: (path, text, { what = 'the state file', foreignDir = false } = {}) =>
    onOwnPath(`write ${what}`, path, () => writeFileAtomic(path, text, { createDir: !foreignDir })),
  hostname,
  lock: (path, command) => acquireLock(path, command, systemClock.now()),
  lockHolder,
  clock: systemClock,
  log,
  stdout,
});
