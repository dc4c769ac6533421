// Every window that applies at one instant: the agent's exported ones, the site's own, and the freezes. Pure.
import { WINDOW_EXAMPLE, type CronRule, type FreezeRule } from './local-policy.ts';
import {
  allOpenNow,
  freezeStatus,
  localWindowStatus,
  missedOverlap,
  nextAllOpen,
  SHORT_WINDOW_MS,
  type FreezeStatus,
  type LocalWindowStatus,
} from './local-windows.ts';
import type { Schedule } from './parse-schedule.ts';
import { windowStatus, type WindowStatus } from './exported-window.ts';

/** The local policy, as the config holds it. */
export interface LocalPolicy {
  readonly localWindows: readonly CronRule[] | undefined;
  readonly freezes: readonly FreezeRule[];
}

export interface Windows {
  /** The agent's exported windows. */
  readonly exported: WindowStatus;
  readonly local: LocalWindowStatus;
  readonly freeze: FreezeStatus;
  /** Whether every window that applies is open now. */
  readonly open: boolean;
  /** The next instant (strictly after now) at which every window that applies is open, within the horizon. */
  readonly next: Date | null;
  /** False when the local policy was too costly to look ahead through to `next` (then null). */
  readonly nextWorkedOut: boolean;
}

/** The local windows that constrain: none when the file is absent or holds no window (a warning says it is ignored). */
const ownWindows = (policy: LocalPolicy): readonly CronRule[] | undefined =>
  policy.localWindows?.length ? policy.localWindows : undefined;

export const windowsAt = (schedule: Schedule, policy: LocalPolicy, now: Date): Windows => {
  const exported = windowStatus(schedule, now);
  const rules = ownWindows(policy);
  const local = localWindowStatus(rules, now);
  const next = rules === undefined ? { at: exported.next, worked: true } : nextAllOpen(schedule, rules, now);
  return {
    exported,
    local,
    freeze: freezeStatus(policy.freezes, now),
    open: allOpenNow(exported, local),
    next: next.at,
    nextWorkedOut: next.worked,
  };
};

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

/** `window` (every window that applies, and the local ones) and `freeze`, as dry-run --json and status --json show them. */
export const windowsJson = ({ exported, local, freeze, next }: Windows) => ({
  window: { state: exported.state, next: iso(next), local: { state: local.state, next: iso(local.next) } },
  freeze: { active: freeze.active, until: iso(freeze.until) },
});

const minutes = (ms: number): string => `${Math.round(ms / 60_000)} min`;

/**
 * What is wrong with the policy as a whole, each a sentence for a warning: windows the timer may miss, and local
 * windows that never meet the agent's exported ones in the next 14 days.
 */
export const policyWarnings = (schedule: Schedule, policy: LocalPolicy, now: Date, windowFile: string): string[] => {
  const rules = policy.localWindows ?? [];
  const empty =
    policy.localWindows?.length === 0
      ? [
          `${windowFile} holds no window, so it is ignored: the agent's exported windows alone apply. Add a line like ${WINDOW_EXAMPLE}, or remove the file.`,
        ]
      : [];
  const short = rules
    .filter((rule) => rule.durationMs < SHORT_WINDOW_MS)
    .map(
      (rule) =>
        `${windowFile} line ${rule.line} (${rule.text}) opens a window of ${minutes(rule.durationMs)}, shorter than the ${minutes(SHORT_WINDOW_MS)} between two timer runs: a run may never fall inside it. Make it at least 30m.`,
    );
  const missed = missedOverlap(schedule, ownWindows(policy), now);
  const opens = (which: 'an exported' | 'a local', at: Date | null) =>
    at === null
      ? `no ${which.split(' ')[1]} window opens`
      : at <= now
        ? `${which} window is open now`
        : `the next ${which.split(' ')[1]} window opens ${at.toISOString()}`;
  const overlap =
    missed === undefined
      ? []
      : [
          `the local windows in ${windowFile} and the agent's exported maintenance windows are never open at the same time in the next 14 days ` +
            `(${opens('an exported', missed.exported)}, ${opens('a local', missed.local)}): ` +
            "only critical upgrades would be installed, and this agent would fall behind its cluster. Align the local windows with the cluster's maintenance schedule.",
        ];
  return [...empty, ...short, ...overlap];
};
