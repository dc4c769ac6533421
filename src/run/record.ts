// Record, metrics and hooks: what every run and force ends with, failing ones included.
import { explain } from '../core/explain.ts';
import { RefusedError, UpdaterError, UnusablePathError } from '../core/errors.ts';
import { renderMetrics } from '../core/metrics.ts';
import { doneBy, hookEventOf, outcomeOf } from '../core/run-outcome.ts';
import type { LastRun, State } from '../core/state.ts';
import { fields } from '../log/fields.ts';
import { UPDATER_VERSION } from '../version/updater-version.ts';
import type { RunContext } from './context.ts';
import type { Learned } from './evaluate.ts';
import { runHooks } from './hooks.ts';
import type { StateRecord } from './state-store.ts';

const exitStatusOf = (error: unknown): number => (error === undefined ? 0 : error instanceof UpdaterError ? error.exitStatus : 1);

/** The last run, from what the run learned, what its state events say it did, and its error (if any). */
const lastRunOf = (ctx: RunContext, learned: Learned, state: StateRecord, started: Date, error: unknown): LastRun => {
  const ended = ctx.host.clock.now();
  const decision = learned.planned?.decision;
  const exitStatus = exitStatusOf(error);
  const target = learned.snapshot?.target;
  return {
    at: ended.toISOString(),
    command: ctx.options.mode === 'force' ? 'force' : 'run',
    outcome: outcomeOf({
      busy: false,
      reason: decision?.reason,
      exitStatus,
      refused: error instanceof RefusedError,
      ...doneBy(state.events()),
      repaired: learned.repaired || (learned.planned?.reinstall !== undefined && error === undefined),
    }),
    exitStatus,
    reason: decision?.reason ?? null,
    durationSeconds: Math.round((ended.getTime() - started.getTime()) / 100) / 10,
    from: learned.snapshot?.packages.semver ?? learned.packages?.semver ?? null,
    to: target?.kind === 'version' ? target.version : null,
  };
};

/** The metrics file, when configured: written atomically; any failure to write it is a warning, never a failed run. */
const writeMetrics = async (ctx: RunContext, learned: Learned, lastRun: LastRun, state: State): Promise<void> => {
  const path = ctx.config.metrics;
  if (path === undefined) return;
  const { snapshot } = learned;
  const packages = snapshot?.packages ?? learned.packages;
  // What is installed now: the target after an upgrade, else what the run found (rolled back to, when it came to that).
  const installed = lastRun.outcome === 'upgraded' ? lastRun.to : (packages?.semver ?? null);
  const text = renderMetrics({
    updater: UPDATER_VERSION,
    lastRun,
    state,
    ...(packages === undefined ? {} : { packages: { pkg: packages.pkg, installer: packages.installer, installed } }),
    ...(ctx.config.fleetLock === undefined ? {} : { fleetLockGroup: ctx.config.fleetLock.group }),
    ...(snapshot === undefined
      ? {}
      : {
          channel: { target: snapshot.target.kind === 'version' ? snapshot.target.version : null, critical: snapshot.critical },
          windows: snapshot.windows,
        }),
  });
  // The textfile directory is another account's: whatever it holds or lacks is that account's doing, never the run's failure.
  await ctx.host.writeFile(path, text, { what: 'the metrics file', foreignDir: true }).catch((error: unknown) => {
    const reason = error instanceof UnusablePathError ? error.reason : error instanceof Error ? error.message : String(error);
    ctx.host.log.warn(`could not write the metrics to ${path}: ${reason}; the run's outcome stands.`, fields({ path }));
  });
};

/**
 * The end of every run and force: the last run recorded in the state (the record phase), the metrics written, and the
 * hooks run for what changed or failed. Rethrows the run's error afterwards, or the state file's own.
 */
export const record = async (ctx: RunContext, state: StateRecord, learned: Learned, started: Date, error: unknown): Promise<void> => {
  const lastRun = lastRunOf(ctx, learned, state, started, error);
  state.apply({ type: 'run-finished', lastRun });
  const written = await state.write().then(
    () => undefined,
    (e: unknown) => e,
  );
  await writeMetrics(ctx, learned, lastRun, state.current());
  const event = hookEventOf(lastRun.outcome, lastRun.exitStatus, learned.planned?.decision.reason);
  if (event !== undefined) {
    const { planned } = learned;
    const reason =
      error instanceof Error
        ? error.message
        : planned === undefined
          ? lastRun.outcome
          : explain(planned.decision, planned.facts, ctx.options.configDir);
    await runHooks(ctx, { event, from: lastRun.from, to: lastRun.to, reason, exitStatus: lastRun.exitStatus });
  }
  if (error !== undefined) throw error;
  if (written !== undefined) throw written;
};
