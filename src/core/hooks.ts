// Which hooks may run: executables in hooks.d that only root can change, since the agent-writable schedule sits beside them. Pure.
import type { PathInfo } from '../host/host.ts';
import type { HookEvent } from './run-outcome.ts';

/** How long one hook may run; then its whole process group is killed. */
export const HOOK_TIMEOUT_MS = 30_000;

const writableByOthers = (info: PathInfo): boolean => (info.mode & 0o022) !== 0;

export type HookVerdict = { readonly run: true } | { readonly run: false; readonly why?: string };

/**
 * Whether a file found in hooks.d runs, judged on the file opened for running it: a file that is no hook (not an
 * executable regular file) is left alone silently; a hook that others could change is refused, with why.
 */
export const hookVerdict = (info: PathInfo): HookVerdict => {
  if (info.kind !== 'file' || (info.mode & 0o111) === 0) return { run: false };
  if (info.uid !== 0) return { run: false, why: `the file is not owned by root (uid ${info.uid})` };
  if (writableByOthers(info))
    return { run: false, why: `the file is writable by group or others (mode ${info.mode.toString(8).padStart(4, '0')})` };
  return { run: true };
};

/** What a hook is told, in its environment. */
export const hookEnvironment = (facts: {
  event: HookEvent;
  from: string | null;
  to: string | null;
  reason: string;
  exitStatus: number;
  hostname: string;
}): Record<string, string> => ({
  TELEPORT_UPGRADE_EVENT: facts.event,
  TELEPORT_UPGRADE_FROM: facts.from ?? '',
  TELEPORT_UPGRADE_TO: facts.to ?? '',
  TELEPORT_UPGRADE_REASON: facts.reason,
  TELEPORT_UPGRADE_EXIT_STATUS: String(facts.exitStatus),
  TELEPORT_UPGRADE_HOSTNAME: facts.hostname,
});
