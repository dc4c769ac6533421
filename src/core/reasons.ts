// Every decision reason and everything it implies, in one table: what it does, its sentence, the exit status, the
// outcome it counts as, whether the installed files are checked after it, and how it is logged. Pure.
import type { Facts } from './decide.ts';
import { describeAnswer } from './fleet-lock.ts';
import type { Outcome } from './run-outcome.ts';
import { skewViolation } from '../version/cluster.ts';

export const REASONS = [
  'forced',
  'critical',
  'maintenance-window',
  'unhealthy-agent',
  'up-to-date',
  'outside-window',
  'marked-unhealthy',
  'no-target',
  'prerelease-refused',
  'version-skew',
  'cluster-version-unknown',
  'known-bad',
  'managed-by-v2',
  'outside-local-window',
  'frozen',
  'fleet-lock-busy',
  'fleet-lock-rejected',
  'fleet-lock-unreachable',
] as const;
export type Reason = (typeof REASONS)[number];

export interface ReasonRule {
  /** Whether the decision installs the target. */
  readonly action: 'upgrade' | 'none';
  /** 1 for a refusal the operator must see as a failure (the run ends with it as its error), else 0. */
  readonly exitStatus: 0 | 1;
  /** What a run that ends with this decision counts as when it did nothing else (an upgrade the nop installer only described waits). */
  readonly outcome: Outcome;
  /** After this decision the installed files are checked (in full, or by their metadata). */
  readonly checkFiles: boolean;
  /** The sentence's log level; a refusal is logged once, as the run's error. */
  readonly level: 'info' | 'warn' | 'error';
  /** "an upgrade is available (a -> b)" is logged before the sentence. */
  readonly availability: boolean;
  /** The one sentence that says why, in words a v1 operator recognises. */
  readonly sentence: (facts: Facts, configDir: string) => string;
}

const targetOf = (facts: Facts): string => (facts.target.kind === 'version' ? facts.target.version : 'none');

/** What a slot was asked for: installing the target, or the installed version again over damaged files. */
const installing = (facts: Facts): string =>
  facts.fleetLock?.purpose === 'reinstall' ? `reinstalling ${facts.installed} over its damaged files` : `installing ${targetOf(facts)}`;
const fleetLockOf = (facts: Facts): string => `the FleetLock server at ${facts.fleetLock?.server}`;
const answerOf = (facts: Facts): string => (facts.fleetLock === undefined ? 'no answer' : describeAnswer(facts.fleetLock.answer));

/** When the windows that apply next open: the exported ones alone, or the exported and the local ones together. */
const when = ({ windows }: Facts): string => {
  const { next, local, exported } = windows;
  if (local.state === 'absent') return next === null ? 'no later window is scheduled' : `the next window opens at ${next.toISOString()}`;
  if (exported.state !== 'inside' && exported.state !== 'outside') {
    return next === null ? 'no local window opens in the next 62 days' : `the next local window opens at ${next.toISOString()}`;
  }
  if (!windows.nextWorkedOut)
    return 'when both windows are next open was not worked out: the local windows are too many or open too often to look that far ahead';
  return next === null
    ? 'no time at which both windows are open is known yet: none of the windows the agent has exported meets a local window'
    : `the next time both windows are open is ${next.toISOString()}`;
};

/** When the freeze in effect ends, in words: its end, or how far it is known to last. */
export const freezeEnd = ({ until, lastsAtLeast }: Facts['windows']['freeze']): string => {
  if (until !== null) return until.toISOString();
  if (lastsAtLeast === undefined) return 'beyond the next 62 days';
  return `at least ${lastsAtLeast.toISOString()} (its rules open too often to work out its end)`;
};

/** The freeze in effect, for the sentences. */
export const freezeClause = ({ windows: { freeze } }: Facts): string =>
  `a change freeze is in effect (${freeze.rule}) until ${freezeEnd(freeze)}`;

const upgrade = (sentence: ReasonRule['sentence']): ReasonRule => ({
  action: 'upgrade',
  exitStatus: 0,
  outcome: 'waiting',
  checkFiles: false,
  level: 'info',
  availability: true,
  sentence,
});

const waiting = (sentence: ReasonRule['sentence'], checkFiles: boolean): ReasonRule => ({
  action: 'none',
  exitStatus: 0,
  outcome: 'waiting',
  checkFiles,
  level: 'info',
  availability: true,
  sentence,
});

const refusal = (sentence: ReasonRule['sentence']): ReasonRule => ({
  action: 'none',
  exitStatus: 1,
  outcome: 'refused',
  checkFiles: false,
  level: 'error',
  availability: true,
  sentence,
});

export const REASON_RULES = {
  forced: upgrade(() => 'force was requested, so the upgrade will be attempted now without checking the maintenance window.'),
  critical: upgrade(() => 'upgrade is marked as critical, will be attempted without checking maintenance window.'),
  'maintenance-window': upgrade(() => 'within maintenance window, upgrade will be attempted.'),
  'unhealthy-agent': upgrade(
    (facts) =>
      `agent was previously marked unhealthy and does not appear recovered (schedule ${facts.windows.exported.state}), upgrade will be attempted.`,
  ),
  'up-to-date': {
    action: 'none',
    exitStatus: 0,
    outcome: 'up-to-date',
    checkFiles: true,
    level: 'info',
    availability: false,
    sentence: (facts) => `no upgrades available (${facts.installed} == ${targetOf(facts)})`,
  },
  'no-target': {
    action: 'none',
    exitStatus: 0,
    outcome: 'no-target',
    checkFiles: true,
    level: 'info',
    availability: false,
    sentence: () => 'the proxy serves no target version (none), so there is nothing to install.',
  },
  'managed-by-v2': {
    action: 'none',
    exitStatus: 0,
    outcome: 'waiting',
    checkFiles: false,
    level: 'info',
    availability: false,
    sentence: () =>
      'the schedule says nop: a Managed Updates v2 agent (teleport-update) owns updates on this host, so this updater does nothing.',
  },
  'outside-window': waiting(
    (facts) => `upgrade is non-critical and we are outside of maintenance window, not attempting; ${when(facts)}.`,
    true,
  ),
  'outside-local-window': waiting((facts) => {
    const window = facts.windows.exported;
    const why =
      window.state === 'inside'
        ? "the agent's maintenance window is open, the local one is not"
        : `the agent was marked unhealthy (schedule ${window.state}), so only the local windows apply`;
    return `outside the local maintenance window (${facts.windows.local.rule}), not attempting the upgrade: ${why}; ${when(facts)}.`;
  }, true),
  'marked-unhealthy': waiting((facts) => {
    const window = facts.windows.exported;
    return `agent does not appear to have exported a valid upgrade schedule (schedule ${window.state}${window.problem ? `: ${window.problem}` : ''}); it is new or newly unhealthy, so it is marked and the upgrade will be attempted on the next run if it does not recover.`;
  }, true),
  // During a freeze not even damaged files are reinstalled, so they are not checked either.
  frozen: waiting(
    (facts) =>
      `not installing ${targetOf(facts)}: ${freezeClause(facts)}; nothing is installed during a freeze, not even a critical upgrade. teleport-upgrade force overrides it.`,
    false,
  ),
  'known-bad': {
    action: 'none',
    exitStatus: 0,
    outcome: 'refused',
    checkFiles: false,
    level: 'warn',
    availability: true,
    sentence: (facts) =>
      `not installing ${targetOf(facts)}: it failed its health check on this host and was rolled back (see the state file in the state dir); it is skipped while the channel serves it. A different target clears this, and so does teleport-upgrade force.`,
  },
  'prerelease-refused': refusal(
    (facts, configDir) =>
      `refusing to install pre-release ${targetOf(facts)}: pre-releases are not meant for production; write yes to ${configDir}/allow-prerelease to allow them.`,
  ),
  'version-skew': refusal((facts) => {
    const target = targetOf(facts);
    const cluster = facts.cluster.kind === 'version' ? facts.cluster.version : 'unknown';
    const rule =
      facts.cluster.kind === 'version' && skewViolation(target, cluster) === 'ahead-of-cluster'
        ? 'an agent must never run a newer major version than its cluster'
        : 'an agent may be at most one major version older than its cluster';
    return `refusing to install ${target}: the cluster runs ${cluster}, and ${rule} (Teleport's version compatibility rule). Check the channel the endpoint file points at; force does not override this.`;
  }),
  'cluster-version-unknown': refusal((facts) => {
    const target = targetOf(facts);
    const problem = facts.cluster.kind === 'unknown' ? facts.cluster.problem : 'unknown';
    return (
      `refusing to install ${target} over ${facts.installed}: it is another major version, and the cluster's version could not be learned (${problem}), so Teleport's version compatibility rule cannot be checked. ` +
      `Once the proxy's /webapi/ping answers this host again, the next run decides; to install it now, check that the cluster runs ${target.split('.')[0]}.x and run teleport-upgrade force.`
    );
  }),
  'fleet-lock-busy': waiting(
    (facts) =>
      `not ${installing(facts)} now: ${fleetLockOf(facts)} has no free slot in group "${facts.fleetLock?.group}" (${answerOf(facts)}); the next run asks again.`,
    false,
  ),
  'fleet-lock-rejected': {
    ...refusal(
      (facts, configDir) =>
        `not ${installing(facts)}: ${fleetLockOf(facts)} rejected the request for a slot in group "${facts.fleetLock?.group}" (${answerOf(facts)}), and asking again will not change that. Check ${configDir}/fleetlock (the base URL the /v1/... paths go under) and ${configDir}/fleetlock-group against the server's groups.`,
    ),
    outcome: 'failed',
  },
  'fleet-lock-unreachable': {
    ...refusal(
      (facts, configDir) =>
        `not ${installing(facts)}: ${fleetLockOf(facts)} could not be asked for a slot (${answerOf(facts)}), and nothing is installed without one. Check that this host reaches it; to let this host upgrade on its own, remove ${configDir}/fleetlock.`,
    ),
    outcome: 'failed',
  },
} satisfies Record<Reason, ReasonRule>;
