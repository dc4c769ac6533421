// Shared shapes for package managers: commands as data, results as data, no processes here.

/** A process to run: argv only (never a shell string), extra environment, and a hard time bound. */
export interface Command {
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/** What a finished (or failed-to-start) process left behind. */
export interface CommandResult {
  /** null when the process could not start, timed out or was killed. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Why there is no exit code (not found, timed out, killed). */
  readonly failure?: string;
}

/** One step of an upgrade plan. */
export interface Step extends Command {
  /** Short description for the log: "refresh the Teleport package source". */
  readonly purpose: string;
  /** A failure is logged as a warning and the plan goes on. */
  readonly mayFail?: boolean;
  /** Runs even when an earlier step failed (restoring a hold). */
  readonly always?: boolean;
  /** Runs when this step fails (reload → try-restart). */
  readonly fallback?: Step;
}

export interface InstalledPackage {
  readonly name: string;
  /** The package database's own version string, e.g. `1:17.4.8-1`. */
  readonly version: string;
  /** The version as semver, when it maps to one. */
  readonly semver: string | undefined;
  /** The package is held back from upgrades (apt-mark hold, a zypper lock, a yum exclude). */
  readonly held: boolean;
  /** Fully installed and configured, or left half-way by an interrupted transaction. */
  readonly configured: boolean;
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
