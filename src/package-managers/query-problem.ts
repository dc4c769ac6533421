// How a failed package-manager query is shown: its status and the last lines it printed, never a guess at what it meant.
import { sanitize } from '../core/errors.ts';
import type { CommandResult } from '../core/command.ts';

/** The versions a repository query found, or what the failed query said. */
export type Available = { readonly ok: true; readonly versions: string[] } | { readonly ok: false; readonly problem: string };

/** `exited with status 100: E: … | E: …`: the status and the last error lines, escaped and truncated. */
export const queryProblem = (result: CommandResult, lines: readonly string[] = result.stderr.split('\n')): string => {
  const status = result.failure ?? `exited with status ${result.exitCode}`;
  const tail = lines.map((line) => line.trim()).filter(Boolean).slice(-4).map((line) => sanitize(line, 300));
  return tail.length > 0 ? `${status}: ${tail.join(' | ')}` : status;
};
