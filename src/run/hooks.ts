// Hooks: the operator's executables in hooks.d, run after a run that changed something or failed; never changing its outcome.
import { sanitize } from '../core/text.ts';
import { HOOK_TIMEOUT_MS, hookEnvironment, hookVerdict } from '../core/hooks.ts';
import type { HookEvent } from '../core/run-outcome.ts';
import type { PathInfo } from '../host/host.ts';
import { PathRefusedError } from '../host/safe-path.ts';
import { fields } from '../log/fields.ts';
import type { RunContext } from './context.ts';

export const HOOKS_DIR = 'hooks.d';

/** Lines of one hook's output that are logged; the journal's default rate limit is 10,000 lines per 30 s for all of us. */
export const HOOK_MAX_LINES = 100;
/** Characters of one line of a hook's output that are logged. */
export const HOOK_MAX_LINE_CHARS = 500;

type Facts = Omit<Parameters<typeof hookEnvironment>[0], 'hostname'> & { event: HookEvent };

/** Logs a hook's lines up to HOOK_MAX_LINES (each cut at HOOK_MAX_LINE_CHARS), then counts what it did not log. */
const hookOutput = (log: RunContext['host']['log'], name: string) => {
  let logged = 0;
  let dropped = 0;
  const line = (warn: boolean) => (text: string) => {
    if (logged >= HOOK_MAX_LINES) {
      dropped += 1;
      return;
    }
    logged += 1;
    (warn ? log.warn : log.info)(`hook ${name}: ${sanitize(text, HOOK_MAX_LINE_CHARS)}`);
  };
  return {
    onStdout: line(false),
    onStderr: line(true),
    summary: () => {
      if (dropped > 0) log.warn(`hook ${name} printed ${dropped} more lines, not logged (at most ${HOOK_MAX_LINES} are).`);
    },
  };
};

/**
 * Runs one hook, checked right before it runs: nobody but root can change what its path leads to (see
 * inspectExecutable), so what was checked is what runs. A link is fine when it too is root's alone to change.
 */
const runHook = async ({ host }: RunContext, dir: string, name: string, facts: Facts): Promise<void> => {
  const path = `${dir}/${name}`;
  let info: PathInfo;
  try {
    info = await host.inspectExecutable(path);
  } catch (error) {
    if (error instanceof PathRefusedError)
      host.log.warn(`not running hook ${path}: ${error.reason}; only root may be able to change a hook.`, fields({ path }));
    // Otherwise gone since the directory was listed: nothing to run.
    return;
  }
  const verdict = hookVerdict(info);
  if (!verdict.run) {
    if (verdict.why !== undefined)
      host.log.warn(`not running hook ${path}: ${verdict.why}; only root may be able to change a hook.`, fields({ path }));
    return;
  }
  host.log.info(`running hook ${name} for ${facts.event}.`, fields({ path, reason: facts.event }));
  const started = host.clock.now().getTime();
  const output = hookOutput(host.log, name);
  const env = hookEnvironment({ ...facts, hostname: host.hostname() });
  const result = await host.run(
    { argv: [path], env, timeoutMs: HOOK_TIMEOUT_MS },
    { onStdout: output.onStdout, onStderr: output.onStderr, discard: true },
  );
  output.summary();
  if (result.exitCode !== 0) {
    host.log.warn(
      `hook ${name} ${result.failure ?? `exited with status ${result.exitCode}`}; the run's outcome stands.`,
      fields({ path, exitCode: result.exitCode, durationMs: host.clock.now().getTime() - started }),
    );
  }
};

/** Runs the hooks for `event` in name order, each bounded (its whole process group), each failure a warning only. */
export const runHooks = async (ctx: RunContext, facts: Facts): Promise<void> => {
  const dir = `${ctx.options.configDir}/${HOOKS_DIR}`;
  let names: string[];
  try {
    names = await ctx.host.listDir(dir, { rootOnly: true });
  } catch (error) {
    const why =
      error instanceof PathRefusedError
        ? `${error.reason}; only root may be able to change what runs as root`
        : `it cannot be read (${(error as Error).message})`;
    ctx.host.log.warn(`not running the hooks in ${dir}: ${why}.`, fields({ path: dir }));
    return;
  }
  for (const name of names) await runHook(ctx, dir, name, facts);
};
