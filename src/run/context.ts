// What every phase of a run is given: the command's options, the host, and the configuration once it is read.
import type { Config } from '../config/parse-config.ts';
import type { PackageFacts } from '../core/package-facts.ts';
import type { PlanInput } from '../core/plan.ts';
import type { Host } from '../host/host.ts';
import type { PackageManager } from '../package-managers/types.ts';
import type { StateRecord } from './state-store.ts';

export type Mode = 'run' | 'dry-run' | 'force';

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
