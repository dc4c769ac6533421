// This updater's own systemd timer as data: how to ask systemd about it, and what its answer means. Pure.
import { SECOND, type Command, type CommandResult } from './command.ts';

export const TIMER_UNIT = 'teleport-upgrade.timer';

/** In UTC, so that the next elapse parses whatever the host's time zone. */
export const timerQuery: Command = {
  argv: ['systemctl', 'show', TIMER_UNIT, '--property=UnitFileState,ActiveState,NextElapseUSecRealtime'],
  env: { TZ: 'UTC' },
  timeoutMs: 30 * SECOND,
};

export type TimerStatus =
  | { readonly known: true; readonly enabled: boolean; readonly active: boolean; readonly nextElapse: string | null }
  | { readonly known: false; readonly problem: string };

/** `Key=Value` lines; the next elapse as `Mon 2026-11-23 01:32:00 UTC` (or empty when none is scheduled). */
export const parseTimer = (result: CommandResult): TimerStatus => {
  if (result.exitCode === null || /not been booted with systemd|Failed to connect to (the )?bus/i.test(result.stderr)) {
    return { known: false, problem: 'systemd is not running' };
  }
  if (result.exitCode !== 0) return { known: false, problem: `systemctl show ${TIMER_UNIT} exited with status ${result.exitCode}` };
  const values = new Map(
    result.stdout.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1).trim()]),
  );
  const elapse = /(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC/.exec(values.get('NextElapseUSecRealtime') ?? '');
  return {
    known: true,
    enabled: values.get('UnitFileState') === 'enabled',
    active: values.get('ActiveState') === 'active',
    nextElapse: elapse === null ? null : new Date(`${elapse[1]}T${elapse[2]}Z`).toISOString(),
  };
};
