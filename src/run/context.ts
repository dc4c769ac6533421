// What every phase of a command is given: its options, the host, and the configuration once it is read.
import type { Config } from '../config/parse-config.ts';
import type { PackageFacts } from '../core/package-facts.ts';
import type { PlanInput } from '../core/plan.ts';
import type { Host } from '../host/host.ts';
import type { PackageManager } from '../package-managers/types.ts';
import { readConfig } from './gather.ts';
import type { StateRecord } from './state-store.ts';

/** The command: run, force and dry-run walk the run's path (dry-run changing nothing); status only reads. */
export type Mode = 'run' | 'dry-run' | 'force' | 'status';
/** The commands that walk the run's path. */
export type UpdateMode = Exclude<Mode, 'status'>;

export interface RunOptions {
  readonly mode: Mode;
  readonly configDir: string;
  readonly stateDir: string;
  /** dry-run only: print one JSON object on stdout. */
  readonly json: boolean;
  /** The one-run-at-a-time lock that run and force take (dry-run only reads it). */
  readonly lockPath: string;
}

export interface RunContext {
  readonly options: RunOptions;
  readonly host: Host;
  readonly config: Config;
}

/** The configuration comes first: its errors exit 2 before any lock is taken. `quiet` ignores its debug switch. */
export const runContext = async (options: RunOptions, host: Host, quiet = false): Promise<RunContext> => {
  const config = await readConfig(host, options.configDir);
  if (config.debug && !quiet) host.log.enableDebug();
  return { options, host, config };
};

/** dry-run describes what run would do at every phase, and changes nothing. */
export const isDryRun = (ctx: RunContext): boolean => ctx.options.mode === 'dry-run';

/** What acting on the Teleport package needs: the run, its manager, what was installed, the plan's facts, the state. */
export interface PackageContext {
  readonly run: RunContext;
  readonly manager: PackageManager;
  readonly packages: PackageFacts;
  readonly input: PlanInput;
  readonly state: StateRecord;
}
