// What one run found, decided and planned: dry-run reports it, run acts on it. Pure.
import type { Cluster } from '../version/cluster.ts';
import type { Target } from '../version/target.ts';
import type { Config } from '../config/parse-config.ts';
import type { Schedule } from '../schedule/parse-schedule.ts';
import { windowsAt, type Windows } from '../schedule/windows.ts';
import type { PackageManager } from '../package-managers/types.ts';
import type { Step } from './command.ts';
import type { Decision, Facts } from './decide.ts';
import { REASON_RULES } from './reasons.ts';
import type { FilesCheck, FilesRecord } from './files-check.ts';
import { actingManager, type PackageFacts } from './package-facts.ts';
import { argvOf, planCommands, planReinstall, planUpgrade, type PlanInput, type ReinstallPlan, type UpgradePlan } from './plan.ts';
import type { State } from './state.ts';

/** One snapshot of the facts a decision needs. */
export interface Snapshot {
  readonly config: Config;
  readonly target: Target;
  readonly critical: boolean;
  readonly cluster: Cluster;
  readonly packages: PackageFacts;
  readonly schedule: Schedule;
  readonly windows: Windows;
  readonly state: State;
}

/** The snapshot from what was read and asked at `now`: the one assembly run, dry-run and status share. */
export const snapshotOf = (found: Omit<Snapshot, 'windows'>, now: Date): Snapshot => ({
  ...found,
  windows: windowsAt(found.schedule, found.config, now),
});

/** The decision's facts: the snapshot, and whether the operator forced the upgrade. */
export const factsOf = (snapshot: Snapshot, forced: boolean): Facts => ({
  forced,
  installed: snapshot.packages.semver,
  target: snapshot.target,
  critical: snapshot.critical,
  windows: snapshot.windows,
  markedUnhealthy: snapshot.state.unhealthySince !== null,
  allowPrerelease: snapshot.config.allowPrerelease,
  cluster: snapshot.cluster,
  badTarget: snapshot.state.badTarget?.version ?? null,
});

/** What a plan needs beyond the snapshot, asked only for the decisions that install or verify. */
export interface PlanFacts {
  readonly input?: PlanInput;
  /** Whether the installed files were checked in full, or their metadata showed no change since a recent full check. */
  readonly filesCheck?: FilesCheck;
  /** Installed files that no longer match the package database. */
  readonly damaged?: readonly string[];
  /** A full check found every file intact: what they looked like, to be recorded. */
  readonly verified?: FilesRecord;
}

export interface Planned extends Omit<PlanFacts, 'damaged'> {
  readonly snapshot: Snapshot;
  readonly facts: Facts;
  readonly decision: Decision;
  /** Steps that finish an interrupted transaction (dry-run: would run; run: already ran). */
  readonly repair: readonly Step[];
  readonly upgrade?: UpgradePlan;
  /** The same version again over damaged files. */
  readonly reinstall?: ReinstallPlan;
  /** With a FleetLock server configured: where, in which group and as whom, and whether this plan needs a slot. */
  readonly fleetLock?: { readonly server: string; readonly group: string; readonly id: string; readonly needed: boolean };
}

/**
 * Whether this decision wants the installed files checked (a damaged install is reinstalled): not for nop, only for a
 * known installed version, and not during a freeze unless forced.
 */
export const wantsVerify = ({ packages }: Snapshot, facts: Facts, decision: Decision): boolean =>
  REASON_RULES[decision.reason].checkFiles &&
  actingManager(packages) !== undefined &&
  packages.installed !== undefined &&
  packages.semver !== null &&
  (!facts.windows.freeze.active || facts.forced);

/** The plans for the decision: an upgrade, or a reinstall over damaged files, or nothing. */
export const planRun = (snapshot: Snapshot, facts: Facts, decision: Decision, repair: readonly Step[], planFacts: PlanFacts): Planned => {
  const manager: PackageManager | undefined = snapshot.packages.manager;
  const { input, damaged = [], filesCheck, verified } = planFacts;
  const base = {
    snapshot,
    facts,
    decision,
    repair,
    ...(input === undefined ? {} : { input }),
    ...(filesCheck === undefined ? {} : { filesCheck }),
    ...(verified === undefined ? {} : { verified }),
  };
  if (manager === undefined || input === undefined) return base;
  if (decision.action === 'upgrade') return { ...base, upgrade: planUpgrade(manager, input) };
  const installed = snapshot.packages.installed;
  if (damaged.length > 0 && installed !== undefined) return { ...base, reinstall: planReinstall(manager, input, installed.packageVersion) };
  return base;
};

/** Every argv `run` executes that changes something, in order: repair, then the upgrade or the reinstall and its restart. */
export const plannedCommands = ({ repair, upgrade, reinstall }: Planned): string[][] => [
  ...argvOf(repair),
  ...(reinstall !== undefined ? argvOf([...reinstall.install, ...reinstall.restart]) : upgrade !== undefined ? planCommands(upgrade) : []),
];
