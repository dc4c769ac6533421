// Where an instant stands relative to the local windows and freezes, and when every window that applies is next open.
// Pure. What holds now is a few point queries to croner per rule. What lies ahead (when a freeze ends, when the windows
// next meet) asks croner at most LOOKAHEAD_QUERIES times per question: beyond that, the answer says it was not worked out.
import type { CronRule, FreezeRule } from './local-policy.ts';
import type { Schedule, Window } from './parse-schedule.ts';
import type { WindowStatus } from './exported-window.ts';

/** How far ahead a freeze's end is followed. */
export const HORIZON_MS = 62 * 24 * 3_600_000;
/** How far ahead the local and the exported windows must meet, or a warning says they do not. */
export const OVERLAP_MS = 14 * 24 * 3_600_000;
/** A window shorter than this may fall between two timer runs (every 30 minutes). */
export const SHORT_WINDOW_MS = 30 * 60_000;
const DAY_MS = 24 * 3_600_000;
const WEEK_MS = 7 * DAY_MS;
/** Exported windows looked at for the overlap warning; a schedule with more is not judged (it only loses a warning). */
const MAX_OVERLAP_CHECKS = 500;
/**
 * Questions to croner one look ahead may ask (each 20 to 60 µs): enough for any policy a person writes, and a bound on
 * 200 rules that open every minute.
 */
export const LOOKAHEAD_QUERIES = 5000;

/** Thrown when a look ahead has asked all it may; each question catches it and answers "not worked out". */
class LookaheadSpent extends Error {}

/** The questions one look ahead may still ask. */
interface Lookahead {
  left: number;
}

const ask = (budget: Lookahead): void => {
  if (--budget.left < 0) throw new LookaheadSpent();
};

/**
 * "The first opening strictly after y" for one rule, for y that only grow: croner is asked again only once y reaches
 * the opening it last named (no opening lies between).
 */
const openingsAfter = (rule: CronRule, budget: Lookahead): ((y: number) => number | null) => {
  let asked: number | undefined;
  let answer: number | null = null;
  return (y) => {
    if (asked !== undefined && y >= asked && (answer === null || y < answer)) return answer;
    ask(budget);
    asked = y;
    answer = rule.cron.nextRun(new Date(y))?.getTime() ?? null;
    return answer;
  };
};

/** Rules with the same cron expression and time zone open together: the longest one covers the others. */
const distinct = <R extends FreezeRule>(rules: readonly R[]): R[] => {
  const longest = new Map<string, R>();
  const out: R[] = [];
  for (const rule of rules) {
    if (rule.kind !== 'cron') {
      out.push(rule);
      continue;
    }
    const key = `${rule.cron.getPattern()}|${rule.timeZone}`;
    const seen = longest.get(key);
    if (seen === undefined || (seen.kind === 'cron' && seen.durationMs < rule.durationMs)) longest.set(key, rule);
  }
  return [...out, ...longest.values()];
};

/** Where one rule stands at instant x: the period that covers x, else when the rule next opens (strictly after x). */
interface RulePoint {
  readonly covering?: { readonly start: number; readonly end: number };
  readonly nextStart: number | null;
}

const cronPoint = (rule: CronRule, x: number): RulePoint => {
  // nextRun is strictly after its argument: a start in (x - duration, x] is a period that covers x. Past x, it is the next opening.
  const start = rule.cron.nextRun(new Date(x - rule.durationMs))?.getTime() ?? null;
  if (start === null) return { nextStart: null };
  return start <= x ? { covering: { start, end: start + rule.durationMs }, nextStart: null } : { nextStart: start };
};

const pointOf = (rule: FreezeRule, x: number): RulePoint => {
  if (rule.kind === 'cron') return cronPoint(rule, x);
  const [start, end] = [rule.start.getTime(), rule.end.getTime()];
  if (start <= x && x < end) return { covering: { start, end }, nextStart: null };
  return { nextStart: start > x ? start : null };
};

/** The first opening of any rule strictly after x. */
const nextStartAfter = (rules: readonly FreezeRule[], x: number): { at: number; rule: FreezeRule } | undefined => {
  let best: { at: number; rule: FreezeRule } | undefined;
  for (const rule of rules) {
    const at = rule.kind === 'cron' ? (rule.cron.nextRun(new Date(x))?.getTime() ?? null) : pointOf(rule, x).nextStart;
    if (at !== null && (best === undefined || at < best.at)) best = { at, rule };
  }
  return best;
};

/** The first rule whose period covers x. */
const coveringAt = (rules: readonly FreezeRule[], x: number): FreezeRule | undefined =>
  rules.find((rule) => pointOf(rule, x).covering !== undefined);

export type LocalState = 'open' | 'closed' | 'absent';

export interface LocalWindowStatus {
  readonly state: LocalState;
  /** When a local window next opens (strictly after now). */
  readonly next: Date | null;
  /** The window that is open, else the one that opens next (as written in the file). */
  readonly rule: string | undefined;
}

export const localWindowStatus = (rules: readonly CronRule[] | undefined, now: Date): LocalWindowStatus => {
  if (rules === undefined) return { state: 'absent', next: null, rule: undefined };
  const t = now.getTime();
  const open = coveringAt(rules, t);
  const upcoming = nextStartAfter(rules, t);
  return {
    state: open === undefined ? 'closed' : 'open',
    next: upcoming === undefined ? null : new Date(upcoming.at),
    rule: (open ?? upcoming?.rule ?? rules[0])?.text,
  };
};

export interface FreezeStatus {
  readonly active: boolean;
  /**
   * When the freeze in effect ends (freezes that overlap or touch count as one); null when that is not known: not within
   * the 62 days looked at, or not worked out beyond `lastsAtLeast`.
   */
  readonly until: Date | null;
  /** Set when the look ahead stopped before the end: the freeze lasts at least until then. */
  readonly lastsAtLeast?: Date;
  readonly rule: string | undefined;
}

/** The latest period of a cron rule that covers x or starts exactly at x. */
const latestCovering = (rule: CronRule, x: number, budget: Lookahead): { start: number; end: number } | undefined => {
  ask(budget);
  const start = rule.cron.previousRuns(1, new Date(x + 1))[0]?.getTime();
  return start !== undefined && start + rule.durationMs > x ? { start, end: start + rule.durationMs } : undefined;
};

/**
 * How far the freeze that covers t reaches: each step moves to the latest end of a period that covers the current end.
 * `done` is false when the look ahead stopped first.
 */
const freezeEnd = (rules: readonly FreezeRule[], t: number): { until: number; done: boolean } => {
  const budget: Lookahead = { left: LOOKAHEAD_QUERIES };
  let until = t;
  try {
    while (until < t + HORIZON_MS) {
      let next = until;
      for (const rule of rules) {
        const covering = rule.kind === 'range' ? pointOf(rule, until).covering : latestCovering(rule, until, budget);
        if (covering !== undefined && covering.end > next) next = covering.end;
      }
      if (next === until) break;
      until = next;
    }
  } catch (error) {
    if (!(error instanceof LookaheadSpent)) throw error;
    return { until, done: false };
  }
  return { until, done: true };
};

export const freezeStatus = (rules: readonly FreezeRule[], now: Date): FreezeStatus => {
  const t = now.getTime();
  const current = coveringAt(rules, t);
  if (current === undefined) return { active: false, until: null, rule: undefined };
  const { until, done } = freezeEnd(distinct(rules), t);
  if (!done) return { active: true, until: null, lastsAtLeast: new Date(until), rule: current.text };
  return { active: true, until: until >= t + HORIZON_MS ? null : new Date(until), rule: current.text };
};

/** Whether every window that applies is open now (the local ones alone when the agent exports none). */
export const allOpenNow = (window: WindowStatus, local: LocalWindowStatus): boolean => {
  const exportedApplies = window.state === 'inside' || window.state === 'outside';
  if (exportedApplies) return window.state === 'inside' && local.state !== 'closed';
  return local.state === 'open';
};

/** The exported windows that have not ended, in order; none for a schedule without windows. */
const liveWindows = (schedule: Schedule, t: number): Window[] =>
  schedule.kind === 'windows' ? schedule.windows.filter((w) => w.stop * 1000 > t).sort((a, b) => a.start - b.start) : [];

/**
 * Questions about the local windows for instants that only grow, through one cursor per rule for its periods (asked
 * at x - duration) and one for its openings: `openIn(from, to)`, the first instant in [from, to) at which a local window
 * is open; `openingAfter(x)`, the first opening strictly after x.
 */
const localOpenings = (rules: readonly CronRule[], budget: Lookahead) => {
  const cursors = distinct(rules).map((rule) => ({ rule, covering: openingsAfter(rule, budget), opening: openingsAfter(rule, budget) }));
  const openingAfter = (x: number): number | undefined => {
    let first: number | undefined;
    for (const { opening } of cursors) {
      const at = opening(x);
      if (at !== null && (first === undefined || at < first)) first = at;
    }
    return first;
  };
  const openIn = (from: number, to: number): number | undefined => {
    for (const { rule, covering } of cursors) {
      const start = covering(from - rule.durationMs);
      if (start !== null && start <= from) return from;
    }
    const next = openingAfter(from);
    return next !== undefined && next < to ? next : undefined;
  };
  return { openIn, openingAfter };
};

export interface NextAllOpen {
  /** The next instant every window that applies is open; null when none is known. */
  readonly at: Date | null;
  /** False when the look ahead stopped before it knew. */
  readonly worked: boolean;
}

/**
 * The next instant, strictly after now, at which every window that applies opens: the exported windows met by a local
 * one, or the local ones alone when the agent exports none. Only the windows the agent has exported count.
 */
export const nextAllOpen = (schedule: Schedule, local: readonly CronRule[], now: Date): NextAllOpen => {
  const t = now.getTime();
  const windows = liveWindows(schedule, t);
  if (windows.length === 0) {
    const next = nextStartAfter(local, t);
    return { at: next === undefined ? null : new Date(next.at), worked: true };
  }
  try {
    const { openIn, openingAfter } = localOpenings(local, { left: LOOKAHEAD_QUERIES });
    let best: number | undefined;
    for (const w of windows.slice(0, MAX_OVERLAP_CHECKS)) {
      const [start, stop] = [w.start * 1000, w.stop * 1000];
      if (best !== undefined && start >= best) break;
      // In the window open now, the next opening is a local window that starts inside it.
      const at = start > t ? openIn(start, stop) : openingAfter(t);
      if (at !== undefined && at < stop && (best === undefined || at < best)) best = at;
    }
    return { at: best === undefined ? null : new Date(best), worked: true };
  } catch (error) {
    if (!(error instanceof LookaheadSpent)) throw error;
    return { at: null, worked: false };
  }
};

/**
 * The exported windows as the cluster's schedule repeats them over the next 14 days. The agent exports only a few days
 * ahead: a schedule that spans a week is repeated weekly (exactly what the cluster's weekdays and hour give), a shorter
 * one daily (a superset, so a warning built on it is never a false alarm about weekdays).
 */
const projected = (windows: readonly Window[], t: number): Array<{ start: number; stop: number }> => {
  const starts = windows.map((w) => w.start * 1000);
  const span = Math.max(...windows.map((w) => w.stop * 1000)) - Math.min(...starts);
  const period = span >= WEEK_MS ? WEEK_MS : DAY_MS;
  const out: Array<{ start: number; stop: number }> = [];
  for (const w of windows) {
    for (let k = 0; w.start * 1000 + k * period < t + OVERLAP_MS && out.length <= MAX_OVERLAP_CHECKS; k++) {
      const window = { start: w.start * 1000 + k * period, stop: w.stop * 1000 + k * period };
      if (window.stop > t) out.push(window);
    }
  }
  return out.sort((a, b) => a.start - b.start);
};

/**
 * When the local and the exported windows do not meet in the next 14 days: when each next opens (at or before now
 * when one is open), for a warning (the agent would fall behind its cluster). Undefined when they meet, when either is
 * absent, or when the schedule is too large or the policy too costly to judge (it only loses a warning).
 */
export const missedOverlap = (
  schedule: Schedule,
  local: readonly CronRule[] | undefined,
  now: Date,
): { exported: Date; local: Date | null } | undefined => {
  const t = now.getTime();
  const live = liveWindows(schedule, t);
  if (schedule.kind !== 'windows' || local === undefined || live.length === 0) return undefined;
  const exported = projected(schedule.windows, t);
  if (exported.length > MAX_OVERLAP_CHECKS) return undefined;
  try {
    const { openIn } = localOpenings(local, { left: LOOKAHEAD_QUERIES });
    if (exported.some((w) => openIn(Math.max(w.start, t), w.stop) !== undefined)) return undefined;
    const nextLocal = localOpenings(local, { left: LOOKAHEAD_QUERIES }).openIn(t, t + OVERLAP_MS);
    return { exported: new Date(live[0]!.start * 1000), local: nextLocal === undefined ? null : new Date(nextLocal) };
  } catch (error) {
    if (!(error instanceof LookaheadSpent)) throw error;
    return undefined;
  }
};
