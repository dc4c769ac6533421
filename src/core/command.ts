// Commands as data: what to run (argv, environment, bound), what came back, and a step of a plan.

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;

/** A process to run: argv only (never a shell string), extra environment, and a hard time bound. */
export interface Command {
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** The working directory (apt-get download saves there). */
  readonly cwd?: string;
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
  /** Only these exit statuses call for the fallback; any failure does when absent. */
  readonly fallbackOn?: readonly number[];
}
