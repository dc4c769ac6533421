// The pure plans: every command a run executes to install, reinstall or roll back, built once from the facts.
import { hardRestartSteps, restartSteps, type AgentState } from '../agent/agent-service.ts';
import { pickVersion, type PackageManager } from '../package-managers/types.ts';
import type { Step } from './command.ts';

/** What a plan is made from: the decision's target and what the package manager and systemd said. */
export interface PlanInput {
  readonly pkg: string;
  /** The version to install, as semver. */
  readonly target: string;
  readonly downgrade: boolean;
  /** Package versions the repository offers (the manager's own spelling), in its preference order. */
  readonly available: readonly string[];
  /** The Teleport repository (apt source file, dnf repo id, zypper alias), if found. */
  readonly repo: string | undefined;
  /** The v1 version lock is on: the install goes through it and puts it back. */
  readonly held: boolean;
  readonly agent: AgentState;
}

export interface UpgradePlan {
  readonly refresh: Step;
  /** The exact package version to install, or the target in the manager's spelling when the repository does not (yet) list it. */
  readonly packageVersion: string;
  /** Whether the repository offers `packageVersion`: a run refreshes first, plans again, and fails if it still does not. */
  readonly resolved: boolean;
  readonly install: readonly Step[];
  readonly restart: readonly Step[];
}

export const planUpgrade = (manager: PackageManager, input: PlanInput): UpgradePlan => {
  const exact = pickVersion(manager, input.target, input.available);
  const packageVersion = exact ?? manager.fromSemver(input.target);
  return {
    refresh: manager.refreshStep(input.repo),
    packageVersion,
    resolved: exact !== undefined,
    install: manager.installSteps({ pkg: input.pkg, packageVersion, held: input.held, downgrade: input.downgrade, repo: input.repo }),
    restart: restartSteps(input.agent),
  };
};

export interface ReinstallPlan {
  /** The installed package version, installed again over damaged files. */
  readonly packageVersion: string;
  readonly install: readonly Step[];
  readonly restart: readonly Step[];
}

export const planReinstall = (manager: PackageManager, input: PlanInput, packageVersion: string): ReinstallPlan => ({
  packageVersion,
  install: manager.installSteps({ pkg: input.pkg, packageVersion, held: input.held, downgrade: false, repo: input.repo, reinstall: true }),
  restart: restartSteps(input.agent),
});

export interface RollbackPlan {
  readonly install: readonly Step[];
  /** A broken agent is restarted, not reloaded; nothing when it was not running before or there is no systemd. */
  readonly restart: readonly Step[];
}

/** The previous version back, from the kept package file when there is one, through the v1 version lock it had. */
export const planRollback = (
  manager: PackageManager,
  back: {
    readonly pkg: string;
    readonly packageVersion: string;
    readonly semver: string;
    readonly held: boolean;
    readonly repo: string | undefined;
    readonly file: string | null;
  },
  restartAgent: boolean,
): RollbackPlan => ({
  install: manager.installSteps({
    pkg: back.pkg,
    packageVersion: back.packageVersion,
    held: back.held,
    downgrade: true,
    repo: back.repo,
    ...(back.file === null ? {} : { file: back.file }),
  }),
  restart: restartAgent ? hardRestartSteps(back.semver) : [],
});

/** The argv lists of steps, in the order they run (fallbacks only run when their step fails). */
export const argvOf = (steps: readonly Step[]): string[][] => steps.map((step) => [...step.argv]);

/** An upgrade plan's argv lists in the order `run` executes them. */
export const planCommands = (plan: UpgradePlan): string[][] => argvOf([plan.refresh, ...plan.install, ...plan.restart]);
