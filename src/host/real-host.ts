// Wires the real machine into a Host.
import { constants } from 'node:fs';
import { access, copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { writeSync } from 'node:fs';
import type { Log } from '../log/log.ts';
import { systemClock } from './clock.ts';
import { readSmallFile, writeFileAtomic } from './files.ts';
import type { Host } from './host.ts';
import { fetchChannel, probeStatus } from './http.ts';
import { onOwnPath } from './fs-problem.ts';
import { acquireLock, lockHolder } from './lock.ts';
import type { Runner } from './runner.ts';

/** execa loads with the first command, which a run starts while the proxy is still being asked. */
let runner: Promise<typeof import('./runner.ts')> | undefined;
const runCommand: Runner = async (command, options) => (await (runner ??= import('./runner.ts'))).runCommand(command, options);

const listDir = async (path: string, options: { recursive?: boolean } = {}): Promise<string[]> => {
  try {
    return (await readdir(path, { recursive: options.recursive === true })).sort();
  } catch {
    return [];
  }
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

export const realHost = (log: Log, userAgent: string): Host => ({
  run: runCommand,
  fetchChannel: fetchChannel(userAgent),
  probeStatus,
  readFile: readSmallFile,
  listDir,
  hasExecutable,
  copyFile: (from, to) => onOwnPath('copy a package file', to, async () => {
    await mkdir(dirname(to), { recursive: true, mode: 0o700 });
    try {
      await copyFile(from, to);
    } catch (error) {
      await rm(to, { force: true });
      throw error;
    }
  }),
  resetDir: (path) => onOwnPath('empty the directory', path, async () => {
    await rm(path, { recursive: true, force: true });
    await mkdir(path, { recursive: true, mode: 0o700 });
  }),
  writeFile: (path, text, what = 'the state file') => onOwnPath(`write ${what}`, path, () => writeFileAtomic(path, text)),
  inspectPath: async (path) => {
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) return undefined;
    return { kind: info.isFile() ? 'file' : info.isDirectory() ? 'directory' : 'other', uid: info.uid, mode: info.mode & 0o7777 };
  },
  hostname,
  lock: (path, command) => acquireLock(path, command, systemClock.now()),
  lockHolder,
  clock: systemClock,
  log,
  stdout: (text) => {
    writeSync(1, text);
  },
});
