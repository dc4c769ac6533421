// The Prometheus text exposition of a run, for node_exporter's textfile collector. Pure.
import type { Windows } from '../schedule/windows.ts';
import { sameVersion } from '../version/semver.ts';
import type { BadTarget, LastRun, State } from './state.ts';

export interface MetricsInput {
  readonly updater: string;
  /** The run that just ended, and the state it left. */
  readonly lastRun: LastRun;
  readonly state: State;
  /** What the run learned, as far as it got. */
  readonly packages?: { readonly pkg: string; readonly installer: string; readonly installed: string | null };
  readonly channel?: { readonly target: string | null; readonly critical: boolean };
  readonly windows?: Windows;
  /** The FleetLock group this host takes slots in, when a FleetLock server is configured. */
  readonly fleetLockGroup?: string;
}

/** A label value as the exposition format requires: backslash, double quote and line feed escaped. */
export const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

const labels = (values: Readonly<Record<string, string>>): string =>
  `{${Object.entries(values)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`;

const seconds = (iso: string): number => Date.parse(iso) / 1000;
const flag = (value: boolean): number => (value ? 1 : 0);

interface Series {
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly help: string;
  /** Samples: labels (or none) and value; a series without samples is left out. */
  readonly samples: ReadonlyArray<readonly [Readonly<Record<string, string>> | undefined, number]>;
}

const one = (value: number | undefined): Series['samples'] => (value === undefined ? [] : [[undefined, value]]);

const render = (series: readonly Series[]): string =>
  series
    .filter((s) => s.samples.length > 0)
    .map((s) =>
      [
        `# HELP teleport_upgrade_${s.name} ${s.help}`,
        `# TYPE teleport_upgrade_${s.name} ${s.type}`,
        ...s.samples.map(([l, v]) => `teleport_upgrade_${s.name}${l === undefined ? '' : labels(l)} ${v}`),
      ].join('\n'),
    )
    .join('\n')
    .concat('\n');

const badTarget = (bad: BadTarget | null): Series['samples'] => (bad === null ? [] : [[{ version: bad.version }, 1]]);

/** Whether this host holds (or may hold) a FleetLock slot: shown when a server is configured, or a slot is still held. */
const fleetLockHeld = (group: string | undefined, state: State): Series['samples'] => {
  const slotGroup = state.fleetLock?.group ?? group;
  return slotGroup === undefined ? [] : [[{ group: slotGroup }, flag(state.fleetLock !== undefined)]];
};

/** Every series, each with HELP and TYPE; those the run could not learn are left out rather than guessed. */
export const renderMetrics = ({ updater, lastRun, state, packages, channel, windows, fleetLockGroup }: MetricsInput): string => {
  const target = channel?.target ?? null;
  const installed = packages?.installed ?? null;
  return render([
    {
      name: 'last_run_timestamp_seconds',
      type: 'gauge',
      help: 'When the last run (or force) of teleport-upgrade ended, in unix seconds.',
      samples: one(seconds(lastRun.at)),
    },
    {
      name: 'last_run_success',
      type: 'gauge',
      help: 'Whether the last run ended with exit status 0.',
      samples: one(flag(lastRun.exitStatus === 0)),
    },
    {
      name: 'last_success_timestamp_seconds',
      type: 'gauge',
      help: 'When a run last ended with exit status 0, in unix seconds.',
      samples: one(state.lastSuccessAt === null ? undefined : seconds(state.lastSuccessAt)),
    },
    { name: 'last_run_duration_seconds', type: 'gauge', help: 'How long the last run took.', samples: one(lastRun.durationSeconds) },
    {
      name: 'info',
      type: 'gauge',
      help: 'The updater, the Teleport package and installer, the installed version and the channel target.',
      samples: [
        [
          { updater, package: packages?.pkg ?? '', installer: packages?.installer ?? '', installed: installed ?? '', target: target ?? '' },
          1,
        ],
      ],
    },
    {
      name: 'upgrade_available',
      type: 'gauge',
      help: 'Whether the channel serves a version other than the installed one.',
      samples: one(target === null ? undefined : flag(installed === null || !sameVersion(installed, target))),
    },
    {
      name: 'critical',
      type: 'gauge',
      help: 'Whether the channel marks its target critical.',
      samples: one(channel === undefined ? undefined : flag(channel.critical)),
    },
    {
      name: 'window_open',
      type: 'gauge',
      help: "Whether every maintenance window that applies (the agent's exported one, and the local one when configured) is open.",
      samples: one(windows === undefined ? undefined : flag(windows.open)),
    },
    {
      name: 'next_window_timestamp_seconds',
      type: 'gauge',
      help: 'When every maintenance window that applies is next open, in unix seconds.',
      samples: one(windows?.next == null ? undefined : windows.next.getTime() / 1000),
    },
    {
      name: 'frozen',
      type: 'gauge',
      help: 'Whether a local change freeze is in effect (nothing is installed unless forced).',
      samples: one(windows === undefined ? undefined : flag(windows.freeze.active)),
    },
    {
      name: 'unhealthy_marked',
      type: 'gauge',
      help: 'Whether the agent is marked unhealthy (no valid exported schedule).',
      samples: one(flag(state.unhealthySince !== null)),
    },
    {
      name: 'bad_target_info',
      type: 'gauge',
      help: 'A target that failed its health check here and is skipped while served.',
      samples: badTarget(state.badTarget),
    },
    { name: 'upgrades_total', type: 'counter', help: 'Upgrades installed on this host.', samples: one(state.counters.upgrades) },
    { name: 'rollbacks_total', type: 'counter', help: 'Rollbacks done on this host.', samples: one(state.counters.rollbacks) },
    {
      name: 'fleet_lock_held',
      type: 'gauge',
      help: 'Whether this host holds a slot of its FleetLock group (kept after a rollback, which halts a group of one slot).',
      samples: fleetLockHeld(fleetLockGroup, state),
    },
  ]);
};
