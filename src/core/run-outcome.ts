// How a run ended, in the words status, the metrics and the hooks use: its outcome and the event hooks hear of.
import type { StateEvent } from './next-state.ts';
import { REASON_RULES, type Reason } from './reasons.ts';

export const OUTCOMES = ['upgraded', 'up-to-date', 'waiting', 'no-target', 'refused', 'failed', 'rolled-back', 'repaired', 'busy'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** What hooks are run for: a run that changed something or failed. */
export const HOOK_EVENTS = ['upgraded', 'rolled-back', 'failed', 'repaired', 'fleet-lock-busy'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

export interface RunEnd {
  /** Another run held the lock. */
  readonly busy: boolean;
  /** The decision's reason, when it got that far. */
  readonly reason: Reason | undefined;
  readonly exitStatus: number;
  /** The run ended in a refusal (pre-release, skew, an unknown cluster across majors). */
  readonly refused: boolean;
  /** A rollback was done (after a failed health check or a half-done install). */
  readonly rolledBack: boolean;
  /** An upgrade was installed. */
  readonly upgraded: boolean;
  /** Damaged files were reinstalled, or an interrupted transaction finished. */
  readonly repaired: boolean;
}

/** What a run's state events say it did: whether an upgrade was installed, whether a rollback was done. */
export const doneBy = (events: readonly StateEvent[]): Pick<RunEnd, 'upgraded' | 'rolledBack'> => ({
  upgraded: events.some((event) => event.type === 'upgraded'),
  rolledBack: events.some((event) => event.type === 'rolled-back'),
});

/** The outcome, most telling first: a rollback, a failure, a change, then what the decision said. */
export const outcomeOf = (end: RunEnd): Outcome => {
  if (end.busy) return 'busy';
  if (end.rolledBack) return 'rolled-back';
  // A refusal counts as its reason says: most are refusals, a FleetLock server that cannot be asked is a failure.
  if (end.exitStatus !== 0) return end.refused ? (end.reason === undefined ? 'refused' : REASON_RULES[end.reason].outcome) : 'failed';
  if (end.upgraded) return 'upgraded';
  if (end.repaired) return 'repaired';
  // Otherwise what the decision's reason counts as (an upgrade the nop installer only described waits).
  return end.reason === undefined ? 'waiting' : REASON_RULES[end.reason].outcome;
};

/**
 * The event hooks run for: every failure (exit status other than 0), a rollback, an upgrade or a repair, and a slot the
 * FleetLock server refused; nothing else.
 */
export const hookEventOf = (outcome: Outcome, exitStatus: number, reason?: Reason | null): HookEvent | undefined => {
  if (outcome === 'rolled-back') return 'rolled-back';
  if (exitStatus !== 0) return 'failed';
  if (reason === 'fleet-lock-busy') return 'fleet-lock-busy';
  return outcome === 'upgraded' || outcome === 'repaired' ? outcome : undefined;
};
