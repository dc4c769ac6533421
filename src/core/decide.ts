// The pure decision: given the gathered facts, whether to install the target and why.
import semver from 'semver';
import { isUnhealthy } from '../schedule/exported-window.ts';
import type { Windows } from '../schedule/windows.ts';
import { skewViolation, type Cluster } from '../version/cluster.ts';
import type { Target } from '../version/target.ts';
import { isPrerelease, sameVersion } from '../version/semver.ts';
import type { SlotFacts } from './fleet-lock.ts';
import { REASON_RULES, type Reason } from './reasons.ts';

export type { Reason } from './reasons.ts';

export interface Facts {
  /** `force` was requested: skip the maintenance windows and freezes (never the other checks). */
  readonly forced: boolean;
  /** Installed Teleport version as semver, or null when it cannot be determined. */
  readonly installed: string | null;
  readonly target: Target;
  readonly critical: boolean;
  /** The agent's exported windows, the site's own, and its freezes, at this instant. */
  readonly windows: Windows;
  /** An earlier run found the schedule unhealthy and marked the agent. */
  readonly markedUnhealthy: boolean;
  readonly allowPrerelease: boolean;
  /**
   * The cluster's version from the proxy's /webapi/ping. Unknown blocks only an upgrade into another major than the
   * installed one (unless forced): the skew rule cannot be checked.
   */
  readonly cluster: Cluster;
  /** A target that failed its health check here and was rolled back; skipped while served, unless forced. */
  readonly badTarget: string | null;
  /** The FleetLock server's answer when this run asked it for a slot (only a plan that installs asks). */
  readonly fleetLock?: SlotFacts;
}

export interface Decision {
  readonly action: 'upgrade' | 'none';
  readonly reason: Reason;
  /**
   * What becomes of the unhealthy mark. For an upgrade it applies only once the upgrade succeeded;
   * otherwise at once (never in dry-run).
   */
  readonly mark: 'set' | 'clear' | 'keep';
  /** 1 for a refusal the operator must see as a failure, else 0 (the reason's, see REASON_RULES). */
  readonly exitStatus: 0 | 1;
}

/** The decision for a reason: what it does and its exit status come from the reasons' table. */
export const decisionFor = (reason: Reason, mark: Decision['mark']): Decision => ({
  action: REASON_RULES[reason].action,
  reason,
  mark,
  exitStatus: REASON_RULES[reason].exitStatus,
});

/**
 * An install the skew rule cannot vouch for: the cluster's version is unknown and the target is in another major than
 * the installed one. Within one major it goes on (with a warning); force is the operator's word that it is right.
 */
const crossesMajorBlind = (facts: Facts, target: string): boolean =>
  facts.cluster.kind === 'unknown' && !facts.forced && facts.installed !== null && semver.major(target) !== semver.major(facts.installed);

/** First match wins, in the order the v1 updater checks, with the additions. */
export const decide = (facts: Facts): Decision => {
  const chosen = choosePath(facts);
  if (chosen.action === 'upgrade' && facts.target.kind === 'version' && crossesMajorBlind(facts, facts.target.version)) {
    return decisionFor('cluster-version-unknown', chosen.reason === 'unhealthy-agent' ? 'keep' : chosen.mark);
  }
  return chosen;
};

const choosePath = (facts: Facts): Decision => {
  const { state } = facts.windows.exported;
  const localClosed = facts.windows.local.state === 'closed';
  if (state === 'nop') return decisionFor('managed-by-v2', 'keep');
  const unhealthy = isUnhealthy(state);
  // A healthy schedule clears the mark, whatever else happens.
  const mark = !unhealthy && facts.markedUnhealthy ? 'clear' : 'keep';
  if (facts.target.kind === 'none') return decisionFor('no-target', mark);
  const target = facts.target.version;
  if (facts.installed !== null && sameVersion(facts.installed, target)) return decisionFor('up-to-date', mark);
  if (isPrerelease(target) && !facts.allowPrerelease) return decisionFor('prerelease-refused', mark);
  // force skips the window, never this guard.
  if (facts.cluster.kind === 'version' && skewViolation(target, facts.cluster.version) !== undefined)
    return decisionFor('version-skew', mark);
  if (facts.badTarget !== null && !facts.forced && sameVersion(target, facts.badTarget)) return decisionFor('known-bad', mark);
  // A freeze holds even a critical upgrade; force is the operator's word against it.
  if (facts.windows.freeze.active && !facts.forced) return decisionFor('frozen', mark);
  if (facts.forced) return decisionFor('forced', mark);
  // Critical upgrades bypass every window, the exported and the local ones.
  if (facts.critical) return decisionFor('critical', mark);
  if (state === 'inside') return localClosed ? decisionFor('outside-local-window', mark) : decisionFor('maintenance-window', mark);
  if (unhealthy) {
    if (!facts.markedUnhealthy) return decisionFor('marked-unhealthy', 'set');
    return localClosed ? decisionFor('outside-local-window', 'keep') : decisionFor('unhealthy-agent', 'clear');
  }
  return decisionFor('outside-window', mark);
};
