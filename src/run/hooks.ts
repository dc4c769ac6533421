// Hooks: the operator's executables in hooks.d, run after a run that changed something or failed; never changing its outcome.
import { sanitize } from '../core/errors.ts';
import { HOOK_TIMEOUT_MS, hookEnvironment, selectHooks } from '../core/hooks.ts';
import type { HookEvent } from '../core/run-outcome.ts';
import { fields } from '../log/fields.ts';
import type { RunContext } from './context.ts';

export const HOOKS_DIR = 'hooks.d';

/** Runs the hooks for `event` in name order, each bounded (its whole process group), each failure a warning only. */
export const runHooks = async ({ host, options }: RunContext, facts: Omit<Parameters<typeof hookEnvironment>[0], 'hostname'> & { event: HookEvent }): Promise<void> => {
  const dir = `${options.configDir}/${HOOKS_DIR}`;
  const names = await host.listDir(dir);
  if (names.length === 0) return;
  const candidates = await Promise.all(names.map(async (name) => ({ path: `${dir}/${name}`, info: await host.inspectPath(`${dir}/${name}`) })));
  const { run, refused } = selectHooks({ path: dir, info: await host.inspectPath(dir) }, candidates);
  for (const { path, why } of refused) host.log.warn(`not running hook ${path}: ${why}; only root may be able to change a hook.`, fields({ path }));
  const env = hookEnvironment({ ...facts, hostname: host.hostname() });
  for (const path of run) {
    const name = path.slice(dir.length + 1);
    host.log.info(`running hook ${name} for ${facts.event}.`, fields({ path, reason: facts.event }));
    const started = host.clock.now().getTime();
    const result = await host.run({ argv: [path], env, timeoutMs: HOOK_TIMEOUT_MS }, {
      onStdout: (line) => host.log.info(`hook ${name}: ${sanitize(line)}`),
      onStderr: (line) => host.log.warn(`hook ${name}: ${sanitize(line)}`),
    });
    if (result.exitCode !== 0) {
      host.log.warn(`hook ${name} ${result.failure ?? `exited with status ${result.exitCode}`}; the run's outcome stands.`,
        fields({ path, exitCode: result.exitCode, durationMs: host.clock.now().getTime() - started }));
    }
  }
};
