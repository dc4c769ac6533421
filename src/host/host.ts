// Everything the updater may do to or learn from the machine, passed to the core as one parameter.
import type { Log } from '../log/log.ts';
import type { Clock } from './clock.ts';
import type { FetchChannel, ProbeStatus } from './http.ts';
import type { LockHolder, LockResult } from './lock.ts';

export interface PathInfo {
  readonly kind: 'file' | 'directory' | 'other';
  readonly uid: number;
  /** Permission bits, e.g. 0o755. */
  readonly mode: number;
}
import type { Runner } from './runner.ts';

export interface Host {
  readonly run: Runner;
  readonly fetchChannel: FetchChannel;
  /** GETs a local URL (the agent's /readyz) without a proxy: `HTTP <status>` or what failed. */
  readonly probeStatus: ProbeStatus;
  /** Reads a small regular file; undefined when absent. Throws FileRefusedError for anything else odd. */
  readonly readFile: (path: string, options?: { noFollow?: boolean }) => Promise<string | undefined>;
  /** File names in a directory, sorted; empty when it does not exist. `recursive`: paths relative to it, at any depth. */
  readonly listDir: (path: string, options?: { recursive?: boolean }) => Promise<string[]>;
  /** Empties a directory of the updater's own (creating it, mode 0700). Throws UnusablePathError when it cannot. */
  readonly resetDir: (path: string) => Promise<void>;
  /** True when an executable of that name is on PATH. */
  readonly hasExecutable: (name: string) => Promise<boolean>;
  /** Copies a file, creating the destination's directory; a partial copy is removed. Throws UnusablePathError when it cannot. */
  readonly copyFile: (from: string, to: string) => Promise<void>;
  /**
   * Atomic replace of one of the updater's own files (a temporary file in the same directory, then a rename; mode
   * 0644). Throws UnusablePathError, naming the file as `what` ("the state file"), when the directory cannot take it.
   */
  readonly writeFile: (path: string, text: string, what?: string) => Promise<void>;
  /** What is at a path, following symbolic links: its kind, owner and mode; undefined when nothing is. */
  readonly inspectPath: (path: string) => Promise<PathInfo | undefined>;
  /** This host's name. */
  readonly hostname: () => string;
  /** Takes the one-run-at-a-time lock at `path`, or names its live holder; never waits. Throws UnusablePathError. */
  readonly lock: (path: string, command: string) => Promise<LockResult>;
  /** The live holder of the lock at `path`, if any, without taking it. */
  readonly lockHolder: (path: string) => Promise<LockHolder | undefined>;
  readonly clock: Clock;
  readonly log: Log;
  /** Standard output, reserved for machine-readable answers (`dry-run --json`, `version`). */
  readonly stdout: (text: string) => void;
}
