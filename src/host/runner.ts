// Runs commands as argv arrays through PATH with the process environment, bounded in time and output.
import { execa } from 'execa';
import type { Command, CommandResult } from '../package-managers/types.ts';

export interface RunOptions {
  /** Called with each stdout line while the process runs. */
  readonly onStdout?: (line: string) => void;
  /** Called with each stderr line while the process runs. */
  readonly onStderr?: (line: string) => void;
}

export type Runner = (command: Command, options?: RunOptions) => Promise<CommandResult>;

const lineTap = (tap: ((line: string) => void) | undefined) =>
  tap === undefined ? 'pipe' : function* (line: unknown) { tap(String(line)); yield line; };

/** The real runner: execa, never a shell, stdin closed, 8 MiB of output at most. */
export const runCommand: Runner = async ({ argv, env, timeoutMs, cwd }, options = {}) => {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty command');
  const result = await execa(file, args, {
    env: env === undefined ? undefined : { ...env },
    extendEnv: true,
    ...(cwd === undefined ? {} : { cwd }),
    stdin: 'ignore',
    stdout: lineTap(options.onStdout),
    stderr: lineTap(options.onStderr),
    timeout: timeoutMs,
    forceKillAfterDelay: 5000,
    maxBuffer: 8 * 1024 * 1024,
    reject: false,
    shell: false,
  });
  const failure = result.timedOut
    ? `timed out after ${Math.round(timeoutMs / 1000)} s`
    : result.exitCode === undefined
      ? (result.signal ? `killed by ${result.signal}` : result.originalMessage || result.shortMessage)
      : undefined;
  return {
    exitCode: result.exitCode ?? null,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    ...(failure === undefined ? {} : { failure }),
  };
};
