// The pure upgrade plan: every command `run` would execute, built from the decision's facts.
import { restartSteps, type AgentState } from '../agent/agent-service.ts';
import { pickVersion, type PackageManager } from '../package-managers/types.ts';
import type { Step } from './command.ts';

export interface PlanInput {
  readonly pkg: string;
  /** Target as semver. */
  readonly target: string;
  readonly downgrade: boolean;
  /** Versions the repository offers, in the manager's preference order. */
  readonly available: readonly string[];
  /** The Teleport repository (apt source file, dnf repo id, zypper alias), if found. */
  readonly repo: string | undefined;
  readonly held: boolean;
  readonly agent: AgentState;
}

export interface Plan {
  readonly refresh: Step;
  /** The exact repository version, or the target in the manager's spelling when the repository does not (yet) list it. */
  readonly version: string;
  readonly resolved: boolean;
  readonly install: readonly Step[];
  readonly restart: readonly Step[];
}

export const planUpgrade = (manager: PackageManager, input: PlanInput): Plan => {
  const exact = pickVersion(manager, input.target, input.available);
  const version = exact ?? manager.fromSemver(input.target);
  return {
    refresh: manager.refreshStep(input.repo),
    version,
    resolved: exact !== undefined,
    install: manager.installSteps({ pkg: input.pkg, version, held: input.held, downgrade: input.downgrade, repo: input.repo }),
    restart: restartSteps(input.agent),
  };
};

/** The argv lists in the order `run` executes them (fallbacks only run when their step fails). */
export const planCommands = (plan: Plan): string[][] => [plan.refresh, ...plan.install, ...plan.restart].map((step) => [...step.argv]);
