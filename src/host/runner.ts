// Runs commands as argv arrays through PATH, each in a process group of its own whose whole tree is bounded in time.
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import type { Command, CommandResult } from '../core/command.ts';

export interface RunOptions {
  /** Called with each stdout line while the process runs (cut at MAX_LINE_CHARS). */
  readonly onStdout?: (line: string) => void;
  /** Called with each stderr line while the process runs (cut at MAX_LINE_CHARS). */
  readonly onStderr?: (line: string) => void;
  /** Keep no output in the result (a hook's output is only logged): nothing it prints is held in memory. */
  readonly discard?: boolean;
}

export type Runner = (command: Command, options?: RunOptions) => Promise<CommandResult>;

/** Once the main process has exited, how long its last output lines may take before the group is killed and reading stops. */
export const OUTPUT_GRACE_MS = 500;
/** At the bound the group gets SIGTERM; whatever is left of it this much later gets SIGKILL. */
export const KILL_GRACE_MS = 5000;

/** The output kept of one stream for the result (what the parsers read); the rest is read and dropped, never fatal. */
export const MAX_KEPT_CHARS = 8 * 1024 * 1024;
/** What a tap gets of one line at most; the rest of the line is read and counted, not held in memory. */
export const MAX_LINE_CHARS = 4096;

/**
 * Reads a stream to its end in bounded memory: up to MAX_KEPT_CHARS kept for the result (unless `discard`), and each
 * line handed to `tap`, cut at MAX_LINE_CHARS with the number of characters cut said at its end.
 */
const readOutput = (stream: Readable | null | undefined, tap: ((line: string) => void) | undefined, discard: boolean): (() => string) => {
  let kept = '';
  let line = '';
  let cut = 0;
  const emit = () => {
    tap?.(cut === 0 ? line.replace(/\r$/, '') : `${line}… (${cut} more characters)`);
    line = '';
    cut = 0;
  };
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    if (!discard && kept.length < MAX_KEPT_CHARS) kept += chunk.slice(0, MAX_KEPT_CHARS - kept.length);
    if (tap === undefined) return;
    for (let start = 0; ; ) {
      const end = chunk.indexOf('\n', start);
      const piece = end === -1 ? chunk.slice(start) : chunk.slice(start, end);
      const room = MAX_LINE_CHARS - line.length;
      if (piece.length <= room) line += piece;
      else {
        line += piece.slice(0, room);
        cut += piece.length - room;
      }
      if (end === -1) break;
      emit();
      start = end + 1;
    }
  });
  stream?.on('close', () => {
    if (line !== '' || cut > 0) emit();
  });
  // execa's default: the one final newline is not part of the output.
  return () => kept.replace(/\r?\n$/, '');
};

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
 * The real runner: execa, never a shell, stdin closed, output read in bounded memory (see readOutput; never a reason to
 * stop the command). The command leads a process group of
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
    stdio: ['ignore', 'pipe', 'pipe'],
    buffer: false,
    reject: false,
    shell: false,
    detached: true,
    cleanup: false,
  });
  const discard = options.discard === true;
  const stdout = readOutput(subprocess.stdout, options.onStdout, discard);
  const stderr = readOutput(subprocess.stderr, options.onStderr, discard);
  const pgid = subprocess.pid;
  const timers: NodeJS.Timeout[] = [];
  let timedOut = false;
  if (pgid !== undefined) {
    track(pgid);
    timers.push(
      setTimeout(() => {
        timedOut = true;
        signalGroup(pgid, 'SIGTERM');
        timers.push(setTimeout(() => signalGroup(pgid, 'SIGKILL'), KILL_GRACE_MS));
      }, timeoutMs),
    );
    subprocess.once('exit', () => {
      timers.push(
        setTimeout(() => {
          signalGroup(pgid, 'SIGKILL');
          // A leftover that left the group (a daemon) may still hold the pipes: stop reading them.
          subprocess.stdout?.destroy();
          subprocess.stderr?.destroy();
        }, OUTPUT_GRACE_MS),
      );
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
      ? result.signal
        ? `killed by ${result.signal}`
        : result.originalMessage || result.shortMessage
      : undefined;
  return {
    exitCode: timedOut ? null : (result.exitCode ?? null),
    stdout: stdout(),
    stderr: stderr(),
    ...(failure === undefined ? {} : { failure }),
  };
};
