// Wires the real machine into a Host.
import { readdir } from 'node:fs/promises';
import { writeSync } from 'node:fs';
import type { Log } from '../log/log.ts';
import { systemClock } from './clock.ts';
import { readSmallFile, writeFileAtomic } from './files.ts';
import type { Host } from './host.ts';
import { fetchChannel } from './http.ts';
import { runCommand } from './runner.ts';

const listDir = async (path: string): Promise<string[]> => {
  try {
    return (await readdir(path)).sort();
  } catch {
    return [];
  }
};

export const realHost = (log: Log, userAgent: string): Host => ({
  run: runCommand,
  fetchChannel: fetchChannel(userAgent),
  readFile: readSmallFile,
  listDir,
  writeFile: writeFileAtomic,
  clock: systemClock,
  log,
  stdout: (text) => {
    writeSync(1, text);
  },
});
