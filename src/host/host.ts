// Everything the updater may do to or learn from the machine, passed to the core as one parameter.
import type { Log } from '../log/log.ts';
import type { Clock } from './clock.ts';
import type { FetchChannel } from './channel-fetch.ts';
import type { PostFleetLock } from './fleet-lock-client.ts';
import type { ProbeStatus } from './http-transport.ts';
import type { LockHolder, LockResult } from './lock.ts';
import type { Runner } from './runner.ts';
import type { Fingerprint } from '../core/files-check.ts';

export interface PathInfo {
  readonly kind: 'file' | 'directory' | 'other';
  readonly uid: number;
  /** Permission bits, e.g. 0o755. */
  readonly mode: number;
}

export interface Host {
  readonly run: Runner;
  readonly fetchChannel: FetchChannel;
  /** POSTs to a FleetLock server's endpoint: its status and error body, or why no answer came. */
  readonly postFleetLock: PostFleetLock;
  /** GETs a local URL (the agent's /readyz) without a proxy: `HTTP <status>` or what failed. */
  readonly probeStatus: ProbeStatus;
  /** Reads a small regular file; undefined when absent. Throws FileRefusedError for anything else odd. */
  readonly readFile: (path: string, options?: { noFollow?: boolean }) => Promise<string | undefined>;
  /**
   * File names in a directory, sorted; empty when it does not exist. `recursive`: paths relative to it, at any depth.
   * `rootOnly`: the directory must be one only root can change (it and every directory above it root's alone, and not a
   * symbolic link), or PathRefusedError says why not.
   */
  readonly listDir: (path: string, options?: { recursive?: boolean; rootOnly?: boolean }) => Promise<string[]>;
  /**
   * What a file to be run as root is, when nobody but root can change what its path leads to: every directory on the
   * way root's alone, and a link followed only where root alone can change it. PathRefusedError says why not; an errno
   * error when it is gone. Whether the file itself may run is the caller's to judge from what is returned.
   */
  readonly inspectExecutable: (path: string) => Promise<PathInfo>;
  /** Empties a directory of the updater's own (creating it, mode 0700). Throws UnusablePathError when it cannot. */
  readonly resetDir: (path: string) => Promise<void>;
  /** True when an executable of that name is on PATH. */
  readonly hasExecutable: (name: string) => Promise<boolean>;
  /** Copies a file, creating the destination's directory; a partial copy is removed. Throws UnusablePathError when it cannot. */
  readonly copyFile: (from: string, to: string) => Promise<void>;
  /**
   * What each file looks like now (inode, size, mtime and ctime in nanoseconds), without reading it; undefined for one
   * that is gone or is not a regular file.
   */
  readonly fingerprints: (paths: readonly string[]) => Promise<Array<Fingerprint | undefined>>;
  /** Flushes a file and its directory entry to disk, so a power cut cannot leave it empty. Throws UnusablePathError. */
  readonly persist: (path: string) => Promise<void>;
  /**
   * Atomic, durable replace of a file (see writeFileAtomic; mode 0644). The updater's own directory is created when
   * missing; with `foreignDir` the directory may be another account's and must exist. Throws UnusablePathError, naming
   * the file as `what` ("the state file", the default), when it cannot be written.
   */
  readonly writeFile: (path: string, text: string, options?: { what?: string; foreignDir?: boolean }) => Promise<void>;
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
