// Where `now` stands relative to the exported maintenance windows.
import type { Schedule } from './parse-schedule.ts';

export type WindowState = 'inside' | 'outside' | 'missing' | 'invalid' | 'stale' | 'nop';

export interface WindowStatus {
  readonly state: WindowState;
  /** When the next window opens (strictly after now), if the schedule has one. */
  readonly next: Date | null;
  /** Why the schedule is unusable, for `invalid`. */
  readonly problem?: string;
}

/** The schedule states that mean the agent is not exporting a usable schedule. */
export const isUnhealthy = (state: WindowState): boolean => state === 'missing' || state === 'invalid' || state === 'stale';

/** Pure: windows are open strictly between start and stop, as in v1. */
export const windowStatus = (schedule: Schedule, now: Date): WindowStatus => {
  if (schedule.kind === 'invalid') return { state: 'invalid', next: null, problem: schedule.problem };
  if (schedule.kind !== 'windows') return { state: schedule.kind, next: null };
  const t = now.getTime() / 1000;
  const upcoming = schedule.windows.filter((w) => w.start > t).map((w) => w.start);
  const next = upcoming.length > 0 ? new Date(Math.min(...upcoming) * 1000) : null;
  if (schedule.windows.some((w) => w.start < t && t < w.stop)) return { state: 'inside', next };
  if (!schedule.windows.some((w) => w.stop > t)) return { state: 'stale', next: null };
  return { state: 'outside', next };
};
