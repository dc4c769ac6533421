// What `dry-run --json` prints: always exactly one JSON object on stdout, for the decision, a run in progress, or an error.
import { ConfigError, ExitStatus, InstallError, RefusedError, TargetError, UnusablePathError, type UpdaterError } from '../core/errors.ts';
import { safeJson } from '../core/text.ts';
import type { LockHolder } from '../host/lock.ts';
import { plannedCommands, type Planned } from '../core/planned.ts';
import { windowsJson } from '../schedule/windows.ts';

const line = (value: unknown): string => `${safeJson(value)}\n`;

/**
 * With a FleetLock server configured, or a slot still held: where and as whom, whether run would need a slot, whether
 * this host holds one, and the server's last answer. Absent otherwise.
 */
const fleetLockJson = ({ fleetLock: view, snapshot: { state } }: Planned) => {
  const slot = state.fleetLock;
  if (view === undefined && slot === undefined) return {};
  return {
    fleetLock: {
      server: view?.server ?? slot?.server,
      group: view?.group ?? slot?.group,
      id: view?.id ?? slot?.id,
      needed: view?.needed ?? false,
      held: slot !== undefined,
      lastAnswer: state.fleetLockAnswer ?? null,
    },
  };
};

/** The decision and the exact commands run would execute. */
export const plannedJson = (planned: Planned, exitStatus: number): string => {
  const { facts, decision } = planned;
  return line({
    installed: facts.installed,
    target: facts.target.kind === 'version' ? facts.target.version : null,
    critical: facts.critical,
    ...windowsJson(facts.windows),
    action: decision.action,
    reason: decision.reason,
    exitStatus,
    commands: plannedCommands(planned),
    // When the installed files were last checked in full, and whether this run would check them in full (and why).
    filesVerifiedAt: planned.snapshot.state.verified?.at ?? null,
    filesCheck:
      planned.filesCheck === undefined
        ? null
        : planned.filesCheck.full
          ? { full: true, why: planned.filesCheck.why }
          : { full: false, due: planned.filesCheck.due.toISOString() },
    ...fleetLockJson(planned),
  });
};

/** Another run holds the lock: run would step aside. */
export const busyJson = (holder: LockHolder): string =>
  line({
    installed: null,
    target: null,
    critical: null,
    window: null,
    freeze: null,
    action: 'none',
    reason: 'busy',
    exitStatus: ExitStatus.ok,
    commands: [],
    lock: holder,
  });

/** Error classes as stable reasons scripts can branch on. */
const REASONS: ReadonlyArray<readonly [new (...args: never[]) => UpdaterError, string]> = [
  [ConfigError, 'config-error'],
  [TargetError, 'target-unavailable'],
  [UnusablePathError, 'unusable-path'],
  [InstallError, 'package-manager-error'],
  [RefusedError, 'refused'],
];

/** Nothing could be decided: what failed, in the words the log uses. */
export const errorJson = (error: unknown): string => {
  const known = REASONS.find(([type]) => error instanceof type);
  const exitStatus = known === undefined ? ExitStatus.failed : (error as UpdaterError).exitStatus;
  const problem = error instanceof Error ? error.message : String(error);
  return line({
    installed: null,
    target: null,
    critical: null,
    window: null,
    freeze: null,
    action: 'error',
    reason: known?.[1] ?? 'internal-error',
    exitStatus,
    problem,
    commands: [],
  });
};
