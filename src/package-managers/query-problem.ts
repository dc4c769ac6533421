// How a failed package-manager query is shown: its status and the last lines it printed, never a guess at what it meant.
import { sanitize } from '../core/text.ts';
import type { Command, CommandResult } from '../core/command.ts';

/** The versions a repository query found, or what the failed query said. */
export type Available = { readonly ok: true; readonly versions: string[] } | { readonly ok: false; readonly problem: string };

/**
 * `apt-cache madison teleport-ent exited with status 100: E: … | E: …`: the command, its status and the last error
 * lines, escaped and truncated.
 */
export const queryProblem = (command: Command, result: CommandResult, lines: readonly string[] = result.stderr.split('\n')): string => {
  const status = `${command.argv.join(' ')} ${result.failure ?? `exited with status ${result.exitCode}`}`;
  const tail = lines
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-4)
    .map((line) => sanitize(line, 300));
  return tail.length > 0 ? `${status}: ${tail.join(' | ')}` : status;
};
