// Runs commands as argv arrays through PATH, each in a process group of its own whose whole tree is bounded in time.
import { execa } from 'execa';
import type { Command, CommandResult } from '../core/command.ts';

export interface RunOptions {
  /** Called with each stdout line while the process runs. */
  readonly onStdout?: (line: string) => void;
  /** Called with each stderr line while the process runs. */
  readonly onStderr?: (line: string) => void;
}

export type Runner = (command: Command, options?: RunOptions) => Promise<CommandResult>;

/** Once the main process has exited, how long its last output lines may take before the group is killed and reading stops. */
export const OUTPUT_GRACE_MS = 500;
/** At the bound the group gets SIGTERM; whatever is left of it this much later gets SIGKILL. */
export const KILL_GRACE_MS = 5000;

const lineTap = (tap: ((line: string) => void) | undefined) =>
  tap === undefined ? 'pipe' : function* (line: unknown) { tap(String(line)); yield line; };

/** Signals a whole process group; a group that is already gone is not an error. */
const signalGroup = (pgid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing of the group is left.
  }
};

/** Groups of commands still running, so that an interrupted updater takes them down with it. */
const running = new Set<number>();
const INTERRUPTS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Forwards the signal to every running group, then lets it take its default course on the updater itself. */
const onInterrupt = (signal: NodeJS.Signals): void => {
  for (const pgid of running) signalGroup(pgid, signal);
  for (const s of INTERRUPTS) process.removeListener(s, onInterrupt);
  process.kill(process.pid, signal);
};

const track = (pgid: number): void => {
  if (running.size === 0) for (const s of INTERRUPTS) process.on(s, onInterrupt);
  running.add(pgid);
};

const untrack = (pgid: number): void => {
  running.delete(pgid);
  if (running.size === 0) for (const s of INTERRUPTS) process.removeListener(s, onInterrupt);
};

/**
 * The real runner: execa, never a shell, stdin closed, 8 MiB of output at most. The command leads a process group of
 * its own (a new session); at its bound the whole group is terminated, then killed. When the main process exits, its
 * output is read for OUTPUT_GRACE_MS more, then the group is killed and reading stops, so that a leftover child holding
 * the pipes never stalls the run.
 */
export const runCommand: Runner = async ({ argv, env, timeoutMs, cwd }, options = {}) => {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty command');
  const subprocess = execa(file, args, {
    env: env === undefined ? undefined : { ...env },
    extendEnv: true,
    ...(cwd === undefined ? {} : { cwd }),
    stdin: 'ignore',
    stdout: lineTap(options.onStdout),
    stderr: lineTap(options.onStderr),
    maxBuffer: 8 * 1024 * 1024,
    reject: false,
    shell: false,
    detached: true,
    cleanup: false,
  });
  const pgid = subprocess.pid;
  const timers: NodeJS.Timeout[] = [];
  let timedOut = false;
  if (pgid !== undefined) {
    track(pgid);
    timers.push(setTimeout(() => {
      timedOut = true;
      signalGroup(pgid, 'SIGTERM');
      timers.push(setTimeout(() => signalGroup(pgid, 'SIGKILL'), KILL_GRACE_MS));
    }, timeoutMs));
    subprocess.once('exit', () => {
      timers.push(setTimeout(() => {
        signalGroup(pgid, 'SIGKILL');
        // A leftover that left the group (a daemon) may still hold the pipes: stop reading them.
        subprocess.stdout?.destroy();
        subprocess.stderr?.destroy();
      }, OUTPUT_GRACE_MS));
    });
  }
  const result = await subprocess;
  for (const timer of timers) clearTimeout(timer);
  if (pgid !== undefined) {
    // Whatever the command left behind in its group goes with it.
    signalGroup(pgid, 'SIGKILL');
    untrack(pgid);
  }
  const failure = timedOut
    ? `timed out after ${Number((timeoutMs / 1000).toFixed(1))} s`
    : result.exitCode === undefined
      ? (result.signal ? `killed by ${result.signal}` : result.originalMessage || result.shortMessage)
      : undefined;
  return {
    exitCode: timedOut ? null : (result.exitCode ?? null),
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    ...(failure === undefined ? {} : { failure }),
  };
};
