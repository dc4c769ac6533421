// One sentence per decision, in words a v1 operator recognises.
import type { Decision, Facts } from './decide.ts';
import { skewViolation } from '../version/cluster.ts';
import { direction } from '../version/semver.ts';

/** `[i] an upgrade is available (1.2.3 -> 1.2.4)`, or the downgrade/install form; undefined when nothing differs. */
export const availability = (facts: Facts): string | undefined => {
  if (facts.target.kind === 'none') return undefined;
  const target = facts.target.version;
  const installed = facts.installed ?? 'unknown';
  switch (direction(facts.installed, target)) {
    case 'downgrade':
      return `a downgrade is available (${installed} -> ${target}): the cluster's version is the truth, so it is installed like an upgrade`;
    case 'install':
    case 'upgrade':
      return `an upgrade is available (${installed} -> ${target})`;
  }
};

/** When the windows that apply next open: the exported ones alone, or the exported and the local ones together. */
const when = ({ windows }: Facts): string => {
  const { next, local, exported } = windows;
  if (local.state === 'absent') return next === null ? 'no later window is scheduled' : `the next window opens at ${next.toISOString()}`;
  if (exported.state !== 'inside' && exported.state !== 'outside') {
    return next === null ? 'no local window opens in the next 62 days' : `the next local window opens at ${next.toISOString()}`;
  }
  if (!windows.nextWorkedOut) return 'when both windows are next open was not worked out: the local windows are too many or open too often to look that far ahead';
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
export const freezeClause = ({ windows: { freeze } }: Facts): string => `a change freeze is in effect (${freeze.rule}) until ${freezeEnd(freeze)}`;

/** The single sentence that says why the updater does (or does not do) what it does. */
export const explain = (decision: Decision, facts: Facts, configDir: string): string => {
  const target = facts.target.kind === 'version' ? facts.target.version : 'none';
  const window = facts.windows.exported;
  switch (decision.reason) {
    case 'managed-by-v2':
      return 'the schedule says nop: a Managed Updates v2 agent (teleport-update) owns updates on this host, so this updater does nothing.';
    case 'no-target':
      return 'the proxy serves no target version (none), so there is nothing to install.';
    case 'up-to-date':
      return `no upgrades available (${facts.installed} == ${target})`;
    case 'prerelease-refused':
      return `refusing to install pre-release ${target}: pre-releases are not meant for production; write yes to ${configDir}/allow-prerelease to allow them.`;
    case 'version-skew': {
      const cluster = facts.cluster.kind === 'version' ? facts.cluster.version : 'unknown';
      const rule = facts.cluster.kind === 'version' && skewViolation(target, cluster) === 'ahead-of-cluster'
        ? 'an agent must never run a newer major version than its cluster'
        : 'an agent may be at most one major version older than its cluster';
      return `refusing to install ${target}: the cluster runs ${cluster}, and ${rule} (Teleport's version compatibility rule). Check the channel the endpoint file points at; force does not override this.`;
    }
    case 'cluster-version-unknown': {
      const problem = facts.cluster.kind === 'unknown' ? facts.cluster.problem : 'unknown';
      return `refusing to install ${target} over ${facts.installed}: it is another major version, and the cluster's version could not be learned (${problem}), so Teleport's version compatibility rule cannot be checked. ` +
        `Once the proxy's /webapi/ping answers this host again, the next run decides; to install it now, check that the cluster runs ${target.split('.')[0]}.x and run teleport-upgrade force.`;
    }
    case 'known-bad':
      return `not installing ${target}: it failed its health check on this host and was rolled back (see the state file in the state dir); it is skipped while the channel serves it. A different target clears this, and so does teleport-upgrade force.`;
    case 'forced':
      return 'force was requested, so the upgrade will be attempted now without checking the maintenance window.';
    case 'critical':
      return 'upgrade is marked as critical, will be attempted without checking maintenance window.';
    case 'maintenance-window':
      return 'within maintenance window, upgrade will be attempted.';
    case 'unhealthy-agent':
      return `agent was previously marked unhealthy and does not appear recovered (schedule ${window.state}), upgrade will be attempted.`;
    case 'marked-unhealthy':
      return `agent does not appear to have exported a valid upgrade schedule (schedule ${window.state}${window.problem ? `: ${window.problem}` : ''}); it is new or newly unhealthy, so it is marked and the upgrade will be attempted on the next run if it does not recover.`;
    case 'outside-window':
      return `upgrade is non-critical and we are outside of maintenance window, not attempting; ${when(facts)}.`;
    case 'outside-local-window': {
      const why = window.state === 'inside'
        ? 'the agent\'s maintenance window is open, the local one is not'
        : `the agent was marked unhealthy (schedule ${window.state}), so only the local windows apply`;
      return `outside the local maintenance window (${facts.windows.local.rule}), not attempting the upgrade: ${why}; ${when(facts)}.`;
    }
    case 'frozen':
      return `not installing ${target}: ${freezeClause(facts)}; nothing is installed during a freeze, not even a critical upgrade. teleport-upgrade force overrides it.`;
  }
};
