// What `status` shows: one object for --json, aligned `key: value` lines for people, and its exit status. Pure.
import type { LockHolder } from '../host/lock.ts';
import { escapeUnsafe } from './text.ts';
import { freezeEnd } from './reasons.ts';
import { windowsJson, type Windows } from '../schedule/windows.ts';
import type { BadTarget, FleetLockAnswer, InProgress, LastRun } from './state.ts';
import type { TimerStatus } from './updater-timer.ts';

export interface StatusFacts {
  readonly updater: string;
  readonly packages?: {
    readonly pkg: string;
    readonly installer: string;
    readonly installed: string | null;
    readonly held: boolean | null;
  };
  /** The channel's answer; `offline` when it was not asked; `problem` when it could not be had. */
  readonly channel:
    | { readonly target: string | null; readonly critical: boolean }
    | { readonly offline: true }
    | { readonly problem: string };
  readonly decision?: { readonly action: string; readonly reason: string; readonly sentence: string };
  readonly windows?: Windows;
  readonly unhealthySince: string | null;
  readonly badTarget: BadTarget | null;
  readonly inProgress: InProgress | null;
  readonly lastRun: LastRun | null;
  /** When a run last checked every installed file and found them intact. */
  readonly filesVerifiedAt: string | null;
  readonly timer: TimerStatus;
  readonly lock: LockHolder | null;
  /** With a FleetLock server configured, or a slot still held. */
  readonly fleetLock?: {
    readonly server: string;
    readonly group: string;
    /** Null when this host has no id (no machine id and no fleetlock-id: see the problems). */
    readonly id: string | null;
    /** A slot this host holds, or may hold (asked for, no answer yet): since when, and whether the server granted it. */
    readonly slot: { readonly since: string; readonly confirmed: boolean } | null | 'unknown';
    readonly lastAnswer: FleetLockAnswer | null;
  };
  /** What could not be read (the state file as non-root, say), each a sentence. */
  readonly problems: readonly string[];
  /** Formats an instant in the host's local time. */
  readonly local: (date: Date) => string;
}

const target = (f: StatusFacts) => ('target' in f.channel ? f.channel : undefined);

/** The exit status: 1 when the last run failed or rolled back, else 0 (configuration errors exit 2 before this). */
export const statusExit = (f: StatusFacts): 0 | 1 => (f.lastRun !== null && f.lastRun.exitStatus !== 0 ? 1 : 0);

export const statusJson = (f: StatusFacts): Record<string, unknown> => ({
  updater: f.updater,
  package: f.packages?.pkg ?? null,
  installer: f.packages?.installer ?? null,
  installed: f.packages?.installed ?? null,
  held: f.packages?.held ?? null,
  target: target(f)?.target ?? null,
  critical: target(f)?.critical ?? null,
  offline: 'offline' in f.channel,
  action: f.decision?.action ?? null,
  reason: f.decision?.reason ?? null,
  sentence: f.decision?.sentence ?? null,
  ...windowsFields(f),
  unhealthySince: f.unhealthySince,
  badTarget: f.badTarget,
  inProgress: f.inProgress,
  lastRun: f.lastRun,
  filesVerifiedAt: f.filesVerifiedAt,
  timer: f.timer.known
    ? { enabled: f.timer.enabled, active: f.timer.active, nextElapse: f.timer.nextElapse }
    : { enabled: null, active: null, nextElapse: null, problem: f.timer.problem },
  lock: f.lock,
  ...(f.fleetLock === undefined
    ? {}
    : {
        fleetLock: {
          ...f.fleetLock,
          slot: f.fleetLock.slot === 'unknown' ? null : f.fleetLock.slot,
          held: f.fleetLock.slot === 'unknown' ? null : f.fleetLock.slot !== null,
        },
      }),
  problems: [...('problem' in f.channel ? [`the channel could not be asked: ${f.channel.problem}`] : []), ...f.problems],
});

/** `window` with the next opening also in the host's local time (`nextLocal`), and `freeze`. */
const windowsFields = ({ windows, local }: StatusFacts) => {
  if (windows === undefined) return { window: null, freeze: null };
  const { window, freeze } = windowsJson(windows);
  return { window: { ...window, nextLocal: windows.next === null ? null : local(windows.next) }, freeze };
};

const when = (f: StatusFacts, iso: string): string => `${iso} (${f.local(new Date(iso))})`;

/** The exported window's line, then the local window's and the freeze's when they are configured. */
const windowRows = (f: StatusFacts): Array<[string, string]> => {
  const w = f.windows;
  if (w === undefined) return [['window', 'unknown']];
  const at = (date: Date | null, none: string) => (date === null ? none : when(f, date.toISOString()));
  const rows: Array<[string, string]> = [
    ['window', `${w.exported.state}${w.exported.next === null ? ', no later window' : `, next opens ${at(w.exported.next, '')}`}`],
  ];
  if (w.local.state !== 'absent') {
    rows.push(['local window', `${w.local.state} (${w.local.rule}), next opens ${at(w.local.next, 'never in the next 62 days')}`]);
    rows.push([
      'all open next',
      w.nextWorkedOut
        ? at(w.next, 'not within the windows the agent has exported')
        : 'not worked out (the local windows are too many or open too often)',
    ]);
  }
  rows.push([
    'freeze',
    w.freeze.active
      ? `in effect (${w.freeze.rule}) until ${w.freeze.until === null ? freezeEnd(w.freeze) : at(w.freeze.until, '')}`
      : 'none',
  ]);
  return rows;
};

const channelLine = (f: StatusFacts): string => {
  if ('offline' in f.channel) return 'not asked (--offline)';
  if ('problem' in f.channel) return `unknown: ${f.channel.problem}`;
  return f.channel.target === null
    ? 'none (the channel serves no version)'
    : `${f.channel.target}${f.channel.critical ? ', critical' : ''}`;
};

const lastRunLine = (f: StatusFacts, run: LastRun): string =>
  `${when(f, run.at)}: ${run.command}, ${run.outcome}, exit ${run.exitStatus}${run.reason === null ? '' : `, ${run.reason}`}, ${run.durationSeconds} s` +
  `${run.from === null && run.to === null ? '' : `, ${run.from ?? 'unknown'} -> ${run.to ?? 'unknown'}`}`;

/** The FleetLock server, this host's slot, and the server's last answer; nothing without a server or a slot. */
const fleetLockRows = (f: StatusFacts): Array<[string, string]> => {
  const lock = f.fleetLock;
  if (lock === undefined) return [];
  const slot =
    lock.slot === 'unknown'
      ? 'whether it holds a slot is unknown (the state file could not be read)'
      : lock.slot === null
        ? 'no slot held'
        : `${lock.slot.confirmed ? 'holds a slot' : 'may hold a slot (asked, no answer)'} since ${when(f, lock.slot.since)}`;
  const answer = lock.lastAnswer;
  return [
    ['fleet lock', `${lock.server}, group "${lock.group}", as ${lock.id ?? 'unknown (no id)'}: ${slot}`],
    ...(answer === null
      ? []
      : ([
          ['fleet answer', `${when(f, answer.at)}: ${answer.request}, ${answer.granted ? 'granted' : 'not granted'} (${answer.said})`],
        ] as Array<[string, string]>)),
  ];
};

/** The human screen: aligned `key: value` lines, then what could not be read. */
export const statusLines = (f: StatusFacts): string[] => {
  const p = f.packages;
  const rows: Array<[string, string]> = [
    ['updater', `v${f.updater}`],
    [
      'package',
      p === undefined
        ? 'unknown'
        : `${p.pkg} ${p.installed ?? 'version unknown'} (${p.installer})${p.held === null ? '' : p.held ? ', held by the v1 version lock' : ', not held'}`,
    ],
    ['target', channelLine(f)],
    [
      'decision',
      f.decision === undefined
        ? 'unknown (it needs the channel and the state file)'
        : `${f.decision.action} (${f.decision.reason}): ${f.decision.sentence}`,
    ],
    ...windowRows(f),
    ['unhealthy mark', f.unhealthySince === null ? 'none' : `since ${when(f, f.unhealthySince)}`],
    ['bad target', f.badTarget === null ? 'none' : `${f.badTarget.version}, since ${when(f, f.badTarget.at)}: ${f.badTarget.reason}`],
    [
      'in flight',
      f.inProgress === null
        ? 'none'
        : `${f.inProgress.purpose} ${f.inProgress.from} -> ${f.inProgress.to}, started ${when(f, f.inProgress.at)}`,
    ],
    ['last run', f.lastRun === null ? 'none yet' : lastRunLine(f, f.lastRun)],
    [
      'files',
      f.filesVerifiedAt === null
        ? 'not checked in full since the last install (the next run checks every file)'
        : `checked in full at ${when(f, f.filesVerifiedAt)}; again within a day, or at the first change`,
    ],
    [
      'timer',
      f.timer.known
        ? `${f.timer.enabled ? 'enabled' : 'disabled'}, ${f.timer.active ? 'active' : 'inactive'}${f.timer.nextElapse === null ? '' : `, next ${when(f, f.timer.nextElapse)}`}`
        : f.timer.problem,
    ],
    ['lock', f.lock === null ? 'free' : `held by pid ${f.lock.pid} (${f.lock.command}, since ${f.lock.since}): a run is in progress`],
    ...fleetLockRows(f),
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  const problems = statusJson(f).problems as string[];
  // The state file, the lock and the channel may hold anything: no control character or bidi override reaches the terminal.
  return [
    ...rows.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`),
    ...problems.map((problem) => `${'note:'.padEnd(width)} ${problem}`),
  ].map(escapeUnsafe);
};
