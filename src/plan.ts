// The pure upgrade plan: every command `run` would execute, built from the decision's facts.
import { restartSteps, type AgentState } from './agent-service.ts';
import * as apt from './package-managers/apt.ts';
import type { Step } from './package-managers/types.ts';

export interface PlanInput {
  readonly pkg: string;
  /** Target as semver. */
  readonly target: string;
  /** Versions the repository offers, in apt's preference order. */
  readonly available: readonly string[];
  /** The Teleport source file relative to Dir::Etc, if one was found. */
  readonly source: string | undefined;
  readonly held: boolean;
  readonly agent: AgentState;
}

export interface Plan {
  readonly refresh: Step;
  /** The exact repository version, or the bare target when the repository does not (yet) list it. */
  readonly version: string;
  readonly resolved: boolean;
  readonly install: readonly Step[];
  readonly restart: readonly Step[];
}

export const planUpgrade = (input: PlanInput): Plan => {
  const exact = apt.pickVersion(input.target, input.available);
  const version = exact ?? input.target;
  return {
    refresh: apt.refreshStep(input.source),
    version,
    resolved: exact !== undefined,
    install: apt.installSteps({ pkg: input.pkg, version, held: input.held }),
    restart: restartSteps(input.agent),
  };
};

/** The argv lists in the order `run` executes them (fallbacks only run when their step fails). */
export const planCommands = (plan: Plan): string[][] => [plan.refresh, ...plan.install, ...plan.restart].map((step) => [...step.argv]);
