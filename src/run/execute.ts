// Runs plan steps, streaming package-manager output into the log and never swallowing it on failure.
import type { CommandResult, Step } from '../core/command.ts';
import { sanitize } from '../core/text.ts';
import type { Host } from '../host/host.ts';
import { fields } from '../log/fields.ts';

/** Package managers announce lock waits on stdout (apt, dnf, zypper); those lines say who holds the lock, so they are warnings. */
export const LOCK_WAIT = /waiting for (cache lock|process with pid)|could not get lock|system management is locked/i;

/** How many trailing lines of a failed step's output are repeated (stdout at error, stderr at warning). */
const TAIL_LINES = 20;

const lastLines = (text: string): string[] => text.trimEnd().split('\n').filter(Boolean).slice(-TAIL_LINES);

export interface StepOutcome {
  readonly ok: boolean;
  readonly result: CommandResult;
}

const summary = (step: Step, result: CommandResult): string =>
  `${step.argv.join(' ')} ${result.failure ?? `exited with status ${result.exitCode}`}`;

/**
 * Runs one step (and its fallback if it fails). While it runs, stdout lines are debug and stderr lines info (dnf5 and
 * zypper write their progress there): a step that succeeds leaves no warning, but a lock wait, which names who holds
 * the lock. When it fails, its last stderr lines are repeated as warnings and its last stdout lines as errors.
 */
export const executeStep = async (host: Host, step: Step): Promise<StepOutcome> => {
  const tool = step.argv[0] ?? '';
  const command = step.argv.join(' ');
  host.log.debug(`running: ${command}`, fields({ command }));
  // Tool output is untrusted text (repository metadata, package scripts): escaped and truncated, line by line.
  const said = (line: string) => `${tool}: ${sanitize(line)}`;
  const started = host.clock.now().getTime();
  const result = await host.run(step, {
    onStdout: (line) => (LOCK_WAIT.test(line) ? host.log.warn : host.log.debug)(said(line)),
    onStderr: (line) => (LOCK_WAIT.test(line) ? host.log.warn : host.log.info)(said(line)),
  });
  if (result.exitCode === 0) return { ok: true, result };
  const failed = fields({ command, exitCode: result.exitCode, durationMs: host.clock.now().getTime() - started });
  for (const line of lastLines(result.stderr)) host.log.warn(said(line));
  for (const line of lastLines(result.stdout)) host.log.error(said(line));
  if (
    step.fallback !== undefined &&
    (step.fallbackOn === undefined || (result.exitCode !== null && step.fallbackOn.includes(result.exitCode)))
  ) {
    host.log.warn(`could not ${step.purpose} (${summary(step, result)}); trying to ${step.fallback.purpose} instead.`, failed);
    return executeStep(host, step.fallback);
  }
  (step.mayFail ? host.log.warn : host.log.error)(`could not ${step.purpose}: ${summary(step, result)}.`, failed);
  return { ok: false, result };
};

/** Runs steps in order; after a failure only `always` steps run. True when every step that must succeed did. */
export const executeSteps = async (host: Host, steps: readonly Step[]): Promise<boolean> => {
  let ok = true;
  for (const step of steps) {
    if (!ok && !step.always) continue;
    const outcome = await executeStep(host, step);
    if (!outcome.ok && !step.mayFail) ok = false;
  }
  return ok;
};
