// Which hooks may run: executables in hooks.d that only root can change, since the agent-writable schedule sits beside them. Pure.
import type { PathInfo } from '../host/host.ts';
import type { HookEvent } from './run-outcome.ts';

/** How long one hook may run; then its whole process group is killed. */
export const HOOK_TIMEOUT_MS = 30_000;

export interface HookCandidate {
  readonly path: string;
  readonly info: PathInfo | undefined;
}

const writableByOthers = (info: PathInfo): boolean => (info.mode & 0o022) !== 0;

/** Why a hook (or its directory) is refused, or undefined when it may run; `null` for a file that is no hook (not executable). */
const refusal = (info: PathInfo | undefined, what: string): string | null | undefined => {
  if (info === undefined) return `the ${what} cannot be read (a dangling link?)`;
  if (info.uid !== 0) return `the ${what} is not owned by root (uid ${info.uid})`;
  if (writableByOthers(info)) return `the ${what} is writable by group or others (mode ${info.mode.toString(8).padStart(4, '0')})`;
  return undefined;
};

/**
 * The hooks to run, in name order, and those refused with why. A directory that others can write refuses every hook;
 * a file that is not executable is no hook and is left alone.
 */
export const selectHooks = (dir: HookCandidate, files: readonly HookCandidate[]): { run: string[]; refused: Array<{ path: string; why: string }> } => {
  const dirProblem = dir.info?.kind === 'directory' ? refusal(dir.info, 'directory') : 'it is not a directory';
  if (dirProblem) return { run: [], refused: files.map((f) => ({ path: f.path, why: `${dir.path}: ${dirProblem}` })) };
  const run: string[] = [];
  const refused: Array<{ path: string; why: string }> = [];
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    if (file.info !== undefined && (file.info.kind !== 'file' || (file.info.mode & 0o111) === 0)) continue;
    const why = refusal(file.info, 'file');
    if (why) refused.push({ path: file.path, why }); else run.push(file.path);
  }
  return { run, refused };
};

/** What a hook is told, in its environment. */
export const hookEnvironment = (facts: { event: HookEvent; from: string | null; to: string | null; reason: string; exitStatus: number; hostname: string }): Record<string, string> => ({
  TELEPORT_UPGRADE_EVENT: facts.event,
  TELEPORT_UPGRADE_FROM: facts.from ?? '',
  TELEPORT_UPGRADE_TO: facts.to ?? '',
  TELEPORT_UPGRADE_REASON: facts.reason,
  TELEPORT_UPGRADE_EXIT_STATUS: String(facts.exitStatus),
  TELEPORT_UPGRADE_HOSTNAME: facts.hostname,
});
