// Local windows and freezes: the strict parser, and croner's calendar math over DST, Feb 29, time zones and midnight.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/errors.ts';
import { parseFreezeFile, parseWindowFile } from '../../src/schedule/local-policy.ts';
import { freezeStatus, localWindowStatus, LOOKAHEAD_QUERIES, missedOverlap, nextAllOpen } from '../../src/schedule/local-windows.ts';
import type { Schedule } from '../../src/schedule/parse-schedule.ts';
import { policyWarnings, windowsAt } from '../../src/schedule/windows.ts';

const WINDOW = '/etc/teleport-upgrade.d/window';
const FREEZE = '/etc/teleport-upgrade.d/freeze';
const rules = (...lines: string[]) => parseWindowFile(WINDOW, lines.join('\n'))!;
const freezes = (...lines: string[]) => parseFreezeFile(FREEZE, lines.join('\n'));
const at = (iso: string) => new Date(iso);
const iso = (date: Date | null) => date?.toISOString() ?? null;
const seconds = (iso: string) => Date.parse(iso) / 1000;
const schedule = (...pairs: Array<[string, string]>): Schedule => ({
  kind: 'windows',
  windows: pairs.map(([a, b]) => ({ start: seconds(a), stop: seconds(b) })),
});

describe('parseWindowFile and parseFreezeFile', () => {
  it('reads rules with comments, blank lines, tabs and CRLF; a missing file is no constraint', () => {
    const parsed = rules('# site hours', '', '0 2 * * Sat,Sun\t4h   Europe/Berlin\r', '30 22 * * Mon-Fri 90m');
    assert.deepEqual(
      parsed.map((r) => [r.line, r.text, r.durationMs, r.timeZone]),
      [
        [3, '0 2 * * Sat,Sun 4h Europe/Berlin', 4 * 3_600_000, 'Europe/Berlin'],
        [4, '30 22 * * Mon-Fri 90m', 90 * 60_000, 'UTC'],
      ],
    );
    assert.equal(parseWindowFile(WINDOW, undefined), undefined);
    assert.deepEqual(parseWindowFile(WINDOW, '# nothing yet\n'), []);
    assert.deepEqual(parseFreezeFile(FREEZE, undefined), []);
  });

  it('reads both freeze forms', () => {
    const [range, cron] = freezes('2026-12-20T00:00:00Z 2027-01-04T00:00:00+01:00', '0 9 * * Mon-Fri 8h America/New_York');
    assert.equal(range?.kind, 'range');
    assert.equal(range?.kind === 'range' && range.end.toISOString(), '2027-01-03T23:00:00.000Z');
    assert.equal(cron?.kind, 'cron');
  });

  const refused: Array<[string, 'window' | 'freeze', string, RegExp]> = [
    [
      'too few fields',
      'window',
      '0 2 * * 4h',
      /line 1, "0 2 \* \* 4h": it is not a 5-field cron expression, a duration and an optional time zone/,
    ],
    ['a duration under 15 minutes', 'window', '0 2 * * * 10m', /the duration "10m" is not Nm or Nh from 15m to 7 days/],
    ['a duration over 7 days', 'window', '0 2 * * * 169h', /the duration "169h"/],
    ['a duration in days', 'window', '0 2 * * * 1d', /the duration "1d"/],
    ['an unknown time zone', 'window', '0 2 * * * 4h Europe/Atlantis', /"Europe\/Atlantis" is not an IANA time zone/],
    ['an hour out of range', 'window', '0 25 * * * 4h', /the cron expression is not valid/],
    ['a weekday that is none', 'window', '0 2 * * Sat,Sunday 4h', /the cron expression is not valid/],
    ['a date that never comes', 'window', '0 2 30 2 * 4h', /the cron expression never matches a real date \(such as February 30\)/],
    ['six cron fields (seconds)', 'window', '0 0 2 * * * 4h UTC', /is not Nm or Nh|not a 5-field|not an IANA|not valid/],
    ['a range that ends before it starts', 'freeze', '2027-01-04T00:00:00Z 2026-12-20T00:00:00Z', /line 1, .*: it ends before it starts/],
    ['a range without an offset', 'freeze', '2026-12-20T00:00:00Z 2027-01-04T00:00:00', /a time is not RFC 3339 with an offset/],
    [
      'a range with a date that does not exist',
      'freeze',
      '2026-02-30T00:00:00Z 2026-03-04T00:00:00Z',
      /a time is not a real date and time/,
    ],
    [
      'a range with an hour that does not exist',
      'freeze',
      '2026-12-20T24:00:00Z 2027-01-04T00:00:00Z',
      /a time is not a real date and time/,
    ],
  ];
  for (const [name, file, line, message] of refused) {
    it(`refuses ${name}, naming the file, the line and an example`, () => {
      const parse = () => (file === 'window' ? rules('# first line is a comment', line) : freezes('# first line is a comment', line));
      assert.throws(parse, (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, new RegExp(`^/etc/teleport-upgrade\\.d/${file} line 2, `));
        assert.match(e.message.replace('line 2', 'line 1'), message);
        assert.match(e.message, /Write it like /);
        return true;
      });
    });
  }

  it('reads the shipped examples once their rules are uncommented', () => {
    const uncommented = (name: string) =>
      readFileSync(new URL(`../../scripts/pkg/examples/${name}`, import.meta.url), 'utf8').replace(/^#(?=\d)/gm, '');
    assert.deepEqual(
      parseWindowFile(WINDOW, uncommented('window'))?.map((r) => r.text),
      ['0 2 * * Sat,Sun 4h Europe/Berlin', '30 22 * * Mon-Fri 90m'],
    );
    assert.deepEqual(
      parseFreezeFile(FREEZE, uncommented('freeze')).map((r) => r.kind),
      ['range', 'cron'],
    );
    assert.deepEqual(
      parseWindowFile(WINDOW, readFileSync(new URL('../../scripts/pkg/examples/window', import.meta.url), 'utf8')),
      [],
      'as shipped, all commented out',
    );
  });

  it('escapes what it quotes and refuses a file with far too many rules', () => {
    assert.throws(
      () => rules('0 2 * * * 4h \u001b[31mUTC\u202e'),
      (e: unknown) => e instanceof ConfigError && e.message.includes('\\x1b[31mUTC\\u202e') && !/[\u001b\u202e]/.test(e.message),
    );
    assert.throws(() => rules(...Array.from({ length: 201 }, () => '0 2 * * * 1h')), /holds 201 rules, more than the 200 allowed/);
  });
});

describe('localWindowStatus', () => {
  const cases: Array<[string, string[], string, string, string | null]> = [
    // name, rules, now, state, next opening
    [
      'a weekend window in Berlin winter time opens at 01:00Z',
      ['0 2 * * Sat,Sun 4h Europe/Berlin'],
      '2026-12-05T01:00:00Z',
      'open',
      '2026-12-06T01:00:00.000Z',
    ],
    [
      'and closes four hours later (end exclusive)',
      ['0 2 * * Sat,Sun 4h Europe/Berlin'],
      '2026-12-05T05:00:00Z',
      'closed',
      '2026-12-06T01:00:00.000Z',
    ],
    ['Berlin in summer time: 00:00Z', ['0 2 * * Sat,Sun 4h Europe/Berlin'], '2027-06-05T00:30:00Z', 'open', '2027-06-06T00:00:00.000Z'],
    [
      'Berlin, March: 02:30 does not exist on 2027-03-28, the window opens at 03:00 CEST',
      ['30 2 * * * 1h Europe/Berlin'],
      '2027-03-27T12:00:00Z',
      'closed',
      '2027-03-28T01:00:00.000Z',
    ],
    [
      'Berlin, March: open from the first valid instant',
      ['30 2 * * * 1h Europe/Berlin'],
      '2027-03-28T01:30:00Z',
      'open',
      '2027-03-29T00:30:00.000Z',
    ],
    [
      'Berlin, October: 02:30 happens twice on 2027-10-31, the window opens once',
      ['30 2 * * * 1h Europe/Berlin'],
      '2027-10-31T00:45:00Z',
      'open',
      '2027-11-01T01:30:00.000Z',
    ],
    [
      'Berlin, October: the repeated 02:30 opens nothing',
      ['30 2 * * * 1h Europe/Berlin'],
      '2027-10-31T01:45:00Z',
      'closed',
      '2027-11-01T01:30:00.000Z',
    ],
    [
      'New York, March: business hours move from 14:00Z to 13:00Z',
      ['0 9 * * Mon-Fri 8h America/New_York'],
      '2027-03-12T20:00:00Z',
      'open',
      '2027-03-15T13:00:00.000Z',
    ],
    [
      'New York, November: back to 14:00Z',
      ['0 9 * * Mon-Fri 8h America/New_York'],
      '2027-11-05T12:00:00Z',
      'closed',
      '2027-11-05T13:00:00.000Z',
    ],
    ['Feb 29: the next one is in 2028', ['0 3 29 2 * 2h'], '2026-12-02T00:00:00Z', 'closed', '2028-02-29T03:00:00.000Z'],
    ['Feb 29: open on the day', ['0 3 29 2 * 2h'], '2028-02-29T04:00:00Z', 'open', '2032-02-29T03:00:00.000Z'],
    [
      'Tokyo (east of UTC): 01:00 JST is 16:00Z the day before',
      ['0 1 * * * 2h Asia/Tokyo'],
      '2026-12-01T16:30:00Z',
      'open',
      '2026-12-02T16:00:00.000Z',
    ],
    [
      'Los Angeles (west of UTC): Friday 22:00 PST is Saturday 06:00Z',
      ['0 22 * * Fri 4h America/Los_Angeles'],
      '2026-12-05T07:00:00Z',
      'open',
      '2026-12-12T06:00:00.000Z',
    ],
    ['a window that crosses midnight is open after it', ['0 23 * * Fri 3h'], '2026-12-05T01:59:59Z', 'open', '2026-12-11T23:00:00.000Z'],
    ['a window that crosses midnight ends at its end', ['0 23 * * Fri 3h'], '2026-12-05T02:00:00Z', 'closed', '2026-12-11T23:00:00.000Z'],
    ['overlapping lines: open across both', ['0 1 * * * 2h', '0 2 * * * 2h'], '2026-12-01T03:30:00Z', 'open', '2026-12-02T01:00:00.000Z'],
    [
      'overlapping lines: closed after the later one ends',
      ['0 1 * * * 2h', '0 2 * * * 2h'],
      '2026-12-01T04:00:00Z',
      'closed',
      '2026-12-02T01:00:00.000Z',
    ],
  ];
  for (const [name, lines, now, state, next] of cases) {
    it(name, () => {
      const status = localWindowStatus(rules(...lines), at(now));
      assert.deepEqual([status.state, iso(status.next)], [state, next]);
    });
  }

  it('names the rule that is open, else the one that opens next', () => {
    const both = rules('0 1 * * * 2h', '0 1 * * Sun 2h Europe/Berlin');
    assert.equal(localWindowStatus(both, at('2026-12-01T01:30:00Z')).rule, '0 1 * * * 2h');
    assert.equal(localWindowStatus(both, at('2026-12-05T23:30:00Z')).rule, '0 1 * * Sun 2h Europe/Berlin');
  });

  it('is absent without the file, and without any window in it', () => {
    assert.equal(localWindowStatus(undefined, at('2026-12-01T00:00:00Z')).state, 'absent');
    assert.equal(windowsAt({ kind: 'missing' }, { localWindows: [], freezes: [] }, at('2026-12-01T00:00:00Z')).local.state, 'absent');
  });
});

describe('the day fields, as crontab(5) reads them', () => {
  const cases: Array<[string, string, string[]]> = [
    // rule, from, the next three openings
    ['0 2 */2 * Sat 4h', '2026-12-06T00:00:00Z', ['2026-12-19T02:00:00.000Z', '2027-01-09T02:00:00.000Z', '2027-01-23T02:00:00.000Z']],
    ['0 2 * * Sat 4h', '2026-12-06T00:00:00Z', ['2026-12-12T02:00:00.000Z', '2026-12-19T02:00:00.000Z', '2026-12-26T02:00:00.000Z']],
    ['0 2 1-3 * * 4h', '2026-12-06T00:00:00Z', ['2027-01-01T02:00:00.000Z', '2027-01-02T02:00:00.000Z', '2027-01-03T02:00:00.000Z']],
    ['0 2 1 * */5 4h', '2026-12-06T00:00:00Z', ['2027-01-01T02:00:00.000Z', '2027-08-01T02:00:00.000Z', '2027-10-01T02:00:00.000Z']], // the 1st that is a Sunday or a Friday
    // Both restricted: either one.
    [
      '0 2 1 * Sat 4h',
      '2026-12-06T00:00:00Z',
      ['2026-12-12T02:00:00.000Z', '2026-12-19T02:00:00.000Z', '2026-12-26T02:00:00.000Z', '2027-01-01T02:00:00.000Z'],
    ],
  ];
  for (const [line, from, openings] of cases) {
    it(`${line} from ${from}`, () => {
      const [rule] = rules(line);
      const got: string[] = [];
      for (let t = at(from); got.length < openings.length; ) {
        const next = localWindowStatus([rule!], t).next!;
        got.push(next.toISOString());
        t = next;
      }
      assert.deepEqual(got, openings);
    });
  }
});

describe('the cost of looking ahead is bounded, whatever the rules', () => {
  /** The rules, with every question to croner counted; more than `max` fails at once. */
  const counted = <R extends { kind: string }>(parsed: R[], max: number) => {
    let calls = 0;
    const count = () => {
      if (++calls > max) throw new Error(`more than ${max} questions to croner`);
    };
    for (const rule of parsed) {
      if (rule.kind !== 'cron') continue;
      const cron = (rule as unknown as { cron: { nextRun: (...a: unknown[]) => unknown; previousRuns: (...a: unknown[]) => unknown } })
        .cron;
      const [nextRun, previousRuns] = [cron.nextRun.bind(cron), cron.previousRuns.bind(cron)];
      cron.nextRun = (...a) => {
        count();
        return nextRun(...a);
      };
      cron.previousRuns = (...a) => {
        count();
        return previousRuns(...a);
      };
    }
    return { parsed, calls: () => calls };
  };
  const BOUND = 2 * LOOKAHEAD_QUERIES + 4 * 200;

  it('200 freeze rules that open every minute: active, and how long it lasts is said as far as it was worked out', () => {
    const { parsed, calls } = counted(freezes(...Array.from({ length: 200 }, () => '* * * * * 15m')), BOUND);
    const status = freezeStatus(parsed, at('2026-12-06T12:00:00Z'));
    assert.equal(status.active, true);
    assert.equal(status.until, null);
    assert.ok(
      status.lastsAtLeast !== undefined && status.lastsAtLeast > at('2026-12-20T00:00:00Z'),
      `lasts at least ${status.lastsAtLeast?.toISOString()}`,
    );
    assert.ok(calls() <= BOUND);
  });

  it('200 distinct rules that open every minute, each spelled differently: bounded too', () => {
    const { parsed, calls } = counted(
      freezes(...Array.from({ length: 200 }, (_, i) => `${i % 2 === 0 ? '*' : '0-59'}/1 * * * * ${15 + (i >> 1)}m`)),
      BOUND,
    );
    const status = freezeStatus(parsed, at('2026-12-06T12:00:00Z'));
    assert.equal(status.active, true);
    assert.ok(calls() <= BOUND);
  });

  it('identical rules count once: 200 copies end where one ends', () => {
    const one = freezeStatus(freezes('* * * * Mon-Fri 15m'), at('2026-12-04T12:00:00Z'));
    const many = counted(freezes(...Array.from({ length: 200 }, () => '* * * * Mon-Fri 15m')), BOUND);
    assert.deepEqual(freezeStatus(many.parsed, at('2026-12-04T12:00:00Z')).until, one.until);
    assert.equal(iso(one.until), '2026-12-05T00:14:00.000Z');
  });

  it('200 local windows that never meet the exported ones: the warning, the next meeting unknown, bounded', () => {
    const windows = schedule(
      ...Array.from({ length: 3 }, (_, d): [string, string] => [`2026-12-0${7 + d}T13:00:00Z`, `2026-12-0${7 + d}T14:00:00Z`]),
    );
    const { parsed, calls } = counted(rules(...Array.from({ length: 200 }, (_, i) => `${i % 60} ${5 + (i % 3)} * * * 30m`)), BOUND);
    const now = at('2026-12-06T12:00:00Z');
    const all = windowsAt(windows, { localWindows: parsed, freezes: [] }, now);
    assert.equal(all.next, null);
    assert.match(
      policyWarnings(windows, { localWindows: parsed, freezes: [] }, now, WINDOW).join('\n'),
      /never open at the same time in the next 14 days/,
    );
    assert.ok(calls() <= 2 * BOUND);
  });
});

describe('freezeStatus', () => {
  const cases: Array<[string, string[], string, boolean, string | null]> = [
    // name, rules, now, active, until
    [
      'a year-end range, offsets honoured',
      ['2026-12-20T00:00:00Z 2027-01-04T00:00:00+01:00'],
      '2026-12-24T12:00:00Z',
      true,
      '2027-01-03T23:00:00.000Z',
    ],
    ['before a range starts', ['2026-12-20T00:00:00Z 2027-01-04T00:00:00+01:00'], '2026-12-19T23:59:59Z', false, null],
    ['a range ends at its end', ['2026-12-20T00:00:00Z 2027-01-04T00:00:00+01:00'], '2027-01-03T23:00:00Z', false, null],
    [
      'touching ranges are one freeze',
      ['2026-12-20T00:00:00Z 2026-12-27T00:00:00Z', '2026-12-27T00:00:00Z 2027-01-04T00:00:00Z'],
      '2026-12-21T00:00:00Z',
      true,
      '2027-01-04T00:00:00.000Z',
    ],
    [
      'a recurring freeze that touches a range extends it',
      ['2026-12-20T00:00:00Z 2026-12-24T09:00:00Z', '0 9 * * Mon-Fri 8h'],
      '2026-12-23T00:00:00Z',
      true,
      '2026-12-24T17:00:00.000Z',
    ],
    [
      'business hours in New York, after the March change',
      ['0 9 * * Mon-Fri 8h America/New_York'],
      '2027-03-15T13:30:00Z',
      true,
      '2027-03-15T21:00:00.000Z',
    ],
    ['business hours in New York: not at night', ['0 9 * * Mon-Fri 8h America/New_York'], '2027-03-15T21:00:00Z', false, null],
    ['a freeze with no end in the next 62 days', ['0 0 * * * 168h'], '2026-12-01T12:00:00Z', true, null],
    [
      'a rule that opens every minute is followed to its end, quickly',
      ['* * * * Mon-Fri 15m'],
      '2026-12-04T12:00:00Z',
      true,
      '2026-12-05T00:14:00.000Z',
    ],
  ];
  for (const [name, lines, now, active, until] of cases) {
    it(name, () => {
      const status = freezeStatus(freezes(...lines), at(now));
      assert.deepEqual([status.active, iso(status.until)], [active, until]);
    });
  }
});

describe('every window that applies', () => {
  const weekend = rules('0 2 * * Sat,Sun 4h Europe/Berlin');
  const daily = schedule(
    ['2026-12-01T02:00:00Z', '2026-12-01T03:00:00Z'],
    ['2026-12-02T02:00:00Z', '2026-12-02T03:00:00Z'],
    ['2026-12-05T02:00:00Z', '2026-12-05T03:00:00Z'],
  );

  it('the next time both are open is an exported window a local one covers', () => {
    assert.equal(iso(nextAllOpen(daily, weekend, at('2026-12-01T02:30:00Z')).at), '2026-12-05T02:00:00.000Z');
  });
  it('a local window that opens inside an exported one', () => {
    assert.equal(iso(nextAllOpen(daily, rules('30 2 * * * 1h'), at('2026-12-01T00:00:00Z')).at), '2026-12-01T02:30:00.000Z');
  });
  it('no meeting among the exported windows: none', () => {
    assert.deepEqual(nextAllOpen(daily, rules('0 12 * * * 1h'), at('2026-12-01T00:00:00Z')), { at: null, worked: true });
  });
  it('without a usable schedule, the local windows alone', () => {
    assert.equal(iso(nextAllOpen({ kind: 'missing' }, weekend, at('2026-12-01T00:00:00Z')).at), '2026-12-05T01:00:00.000Z');
  });
  it('open now means inside both', () => {
    const policy = { localWindows: weekend, freezes: [] };
    assert.equal(windowsAt(daily, policy, at('2026-12-05T02:30:00Z')).open, true);
    assert.equal(windowsAt(daily, policy, at('2026-12-01T02:30:00Z')).open, false);
    assert.equal(windowsAt({ kind: 'missing' }, policy, at('2026-12-05T01:30:00Z')).open, true);
    assert.equal(windowsAt(daily, { localWindows: undefined, freezes: [] }, at('2026-12-01T02:30:00Z')).open, true);
  });

  it('windows that meet within 14 days raise no warning, even when the agent exported only days that do not', () => {
    const weekdays = schedule(['2026-11-30T02:00:00Z', '2026-11-30T03:00:00Z'], ['2026-12-01T02:00:00Z', '2026-12-01T03:00:00Z']);
    assert.equal(missedOverlap(weekdays, weekend, at('2026-12-01T00:00:00Z')), undefined);
  });
  it('windows that never meet are named, each with its next opening', () => {
    const missed = missedOverlap(daily, rules('0 12 * * * 1h'), at('2026-12-01T00:00:00Z'));
    assert.deepEqual(missed && [iso(missed.exported), iso(missed.local)], ['2026-12-01T02:00:00.000Z', '2026-12-01T12:00:00.000Z']);
    const [warning] = policyWarnings(daily, { localWindows: rules('0 12 * * * 1h'), freezes: [] }, at('2026-12-01T00:00:00Z'), WINDOW);
    assert.match(
      warning!,
      /never open at the same time in the next 14 days \(the next exported window opens 2026-12-01T02:00:00\.000Z, the next local window opens 2026-12-01T12:00:00\.000Z\)/,
    );
    const openNow = policyWarnings(daily, { localWindows: rules('0 12 * * * 1h'), freezes: [] }, at('2026-12-01T02:30:00Z'), WINDOW);
    assert.match(openNow[0]!, /\(an exported window is open now, the next local window opens 2026-12-01T12:00:00\.000Z\)/);
  });
  it('warns of a window shorter than 30 minutes and of a window file without windows', () => {
    const warnings = policyWarnings(
      { kind: 'missing' },
      { localWindows: rules('0 2 * * * 20m'), freezes: [] },
      at('2026-12-01T00:00:00Z'),
      WINDOW,
    );
    assert.deepEqual(
      warnings.map((w) => /line 1 \(0 2 \* \* \* 20m\) opens a window of 20 min, shorter than the 30 min/.test(w)),
      [true],
    );
    assert.match(
      policyWarnings({ kind: 'missing' }, { localWindows: [], freezes: [] }, at('2026-12-01T00:00:00Z'), WINDOW)[0]!,
      /holds no window, so it is ignored/,
    );
  });
});
