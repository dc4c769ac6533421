// The operator's own maintenance policy: `window` (when a change may happen) and `freeze` (when none may), parsed strictly.
import { Cron } from 'croner';
import { ConfigError } from '../core/errors.ts';
import { quote } from '../core/text.ts';

/** `CRON DURATION [TZ]`: a window that opens at each cron time in the time zone and stays open for the duration. */
export interface CronRule {
  readonly kind: 'cron';
  /** The line as written (for messages and the sentence). */
  readonly text: string;
  readonly line: number;
  readonly cron: Cron;
  readonly durationMs: number;
  readonly timeZone: string;
}

/** An absolute freeze: from `start` (inclusive) to `end` (exclusive). */
export interface RangeRule {
  readonly kind: 'range';
  readonly text: string;
  readonly line: number;
  readonly start: Date;
  readonly end: Date;
}

export type FreezeRule = CronRule | RangeRule;

const MIN_DURATION_MS = 15 * 60_000;
const MAX_DURATION_MS = 7 * 24 * 3_600_000;
/** A policy is a few lines; far more is not one. */
const MAX_RULES = 200;

export const WINDOW_EXAMPLE = '0 2 * * Sat,Sun 4h Europe/Berlin';
const FREEZE_EXAMPLES = '2026-12-20T00:00:00Z 2027-01-04T00:00:00+01:00, or 0 9 * * Mon-Fri 8h America/New_York';

/** A rule that has no opening after this instant (croner looks years ahead) never opens at all. */
const NEVER_REFERENCE = new Date(Date.UTC(2000, 0, 1));

/** `90m` or `4h`, from 15 minutes to 7 days; undefined otherwise. */
const duration = (text: string): number | undefined => {
  const match = /^(\d{1,5})(m|h)$/.exec(text);
  if (match === null) return undefined;
  const ms = Number(match[1]) * (match[2] === 'h' ? 3_600_000 : 60_000);
  return ms >= MIN_DURATION_MS && ms <= MAX_DURATION_MS ? ms : undefined;
};

const validTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return /^[A-Za-z_+\-/0-9]{1,64}$/.test(zone);
  } catch {
    return false;
  }
};

/** The meaningful lines with their numbers: comments (`#`) and blank lines left out, CRLF tolerated. */
const numberedLines = (text: string): Array<{ line: number; text: string }> =>
  text
    .split('\n')
    .map((raw, i) => ({ line: i + 1, text: raw.replace(/\r$/, '').trim() }))
    .filter((l) => l.text !== '' && !l.text.startsWith('#'));

/** Why a `CRON DURATION [TZ]` line is wrong, or the rule. */
const cronRule = (line: number, text: string): CronRule | string => {
  const fields = text.split(/\s+/);
  if (fields.length < 6 || fields.length > 7) return 'it is not a 5-field cron expression, a duration and an optional time zone';
  const [durationText, zone = 'UTC'] = fields.slice(5);
  const durationMs = duration(durationText!);
  if (durationMs === undefined) return `the duration ${quote(durationText!)} is not Nm or Nh from 15m to 7 days (168h)`;
  if (!validTimeZone(zone)) return `${quote(zone)} is not an IANA time zone`;
  try {
    const [, , dayOfMonth, , dayOfWeek] = fields as [string, string, string, string, string];
    // crontab(5), as Vixie cron reads it: a day field that starts with * leaves the other alone to decide (both must
    // match), so "0 2 */2 * Sat" is odd-numbered Saturdays; only when both are restricted does either one suffice.
    const domAndDow = dayOfMonth.startsWith('*') || dayOfWeek.startsWith('*');
    const cron = new Cron(fields.slice(0, 5).join(' '), { timezone: zone, mode: '5-part', domAndDow });
    if (cron.nextRun(NEVER_REFERENCE) === null) return 'the cron expression never matches a real date (such as February 30)';
    return { kind: 'cron', text: fields.join(' '), line, cron, durationMs, timeZone: zone };
  } catch (error) {
    return `the cron expression is not valid (${(error as Error).message.replace(/^CronPattern: /, '')})`;
  }
};

/** RFC 3339 with a time zone offset (Z or ±hh:mm). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** A calendar date and time that exist (Date would read 2026-02-30 as March 2); the offset is at most ±23:59. */
const realTime = (text: string): Date | undefined => {
  const [y, mo, d, h, mi, s] = text
    .split(/[-T:.Z+]/)
    .slice(0, 6)
    .map(Number) as [number, number, number, number, number, number];
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(text);
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const valid =
    mo >= 1 &&
    mo <= 12 &&
    d >= 1 &&
    d <= daysInMonth &&
    h <= 23 &&
    mi <= 59 &&
    s <= 59 &&
    (offset === null || (Number(offset[2]) <= 23 && Number(offset[3]) <= 59));
  return valid ? new Date(text) : undefined;
};

const rangeRule = (line: number, text: string): RangeRule | string => {
  const [from, to, ...rest] = text.split(/\s+/);
  if (rest.length > 0 || from === undefined || to === undefined)
    return 'it is neither two RFC 3339 times nor a cron expression, a duration and a time zone';
  if (!RFC3339.test(from) || !RFC3339.test(to)) return 'a time is not RFC 3339 with an offset, e.g. 2026-12-20T00:00:00Z';
  const [start, end] = [realTime(from), realTime(to)];
  if (start === undefined || end === undefined) return 'a time is not a real date and time';
  if (end.getTime() <= start.getTime()) return 'it ends before it starts';
  return { kind: 'range', text: `${from} ${to}`, line, start, end };
};

const parseLines = <T>(path: string, text: string, parse: (line: number, text: string) => T | string, example: string): T[] => {
  const lines = numberedLines(text);
  if (lines.length > MAX_RULES) throw new ConfigError(`${path} holds ${lines.length} rules, more than the ${MAX_RULES} allowed.`);
  return lines.map(({ line, text: content }) => {
    const rule = parse(line, content);
    if (typeof rule === 'string') throw new ConfigError(`${path} line ${line}, ${quote(content, 120)}: ${rule}. Write it like ${example}.`);
    return rule;
  });
};

/** `window`: local maintenance windows; undefined when the file is absent (no local constraint), empty when it holds none. */
export const parseWindowFile = (path: string, text: string | undefined): CronRule[] | undefined =>
  text === undefined ? undefined : parseLines(path, text, cronRule, WINDOW_EXAMPLE);

/** `freeze`: change freezes, absolute ranges or recurring; empty when the file is absent. */
export const parseFreezeFile = (path: string, text: string | undefined): FreezeRule[] =>
  text === undefined
    ? []
    : parseLines(
        path,
        text,
        (line, content) => (RFC3339.test(content.split(/\s+/)[0] ?? '') ? rangeRule(line, content) : cronRule(line, content)),
        FREEZE_EXAMPLES,
      );
