// Record, metrics and hooks: what every run and force ends with, failing ones included.
import type { Decision } from '../core/decide.ts';
import { explain } from '../core/explain.ts';
import { RefusedError, UpdaterError, UnusablePathError } from '../core/errors.ts';
import { renderMetrics } from '../core/metrics.ts';
import type { PackageFacts } from '../core/package-facts.ts';
import type { Planned, Snapshot } from '../core/planned.ts';
import { hookEventOf, outcomeOf } from '../core/run-outcome.ts';
import type { LastRun, State } from '../core/state.ts';
import { fields } from '../log/fields.ts';
import { UPDATER_VERSION } from '../version/updater-version.ts';
import type { RunContext } from './context.ts';
import { runHooks } from './hooks.ts';
import type { StateRecord } from './state-store.ts';

/** What a run learned on its way, as far as it got: the last run, the metrics and the hooks are told from it. */
export interface Trace {
  packages?: PackageFacts;
  /** Steps that finished an interrupted transaction. */
  repaired?: boolean;
  snapshot?: Snapshot;
  planned?: Planned;
}

const exitStatusOf = (error: unknown): number => (error === undefined ? 0 : error instanceof UpdaterError ? error.exitStatus : 1);

/** The last run, from the trace, the error (if any) and what the state's counters say was done. */
const lastRunOf = (ctx: RunContext, trace: Trace, before: State, after: State, started: Date, error: unknown): LastRun => {
  const ended = ctx.host.clock.now();
  const decision: Decision | undefined = trace.planned?.decision;
  const exitStatus = exitStatusOf(error);
  const target = trace.snapshot?.target;
  return {
    at: ended.toISOString(),
    command: ctx.options.mode === 'force' ? 'force' : 'run',
    outcome: outcomeOf({
      busy: false, reason: decision?.reason, exitStatus, refused: error instanceof RefusedError,
      rolledBack: after.counters.rollbacks > before.counters.rollbacks,
      upgraded: after.counters.upgrades > before.counters.upgrades,
      repaired: trace.repaired === true || (trace.planned?.reinstall !== undefined && error === undefined),
    }),
    exitStatus,
    reason: decision?.reason ?? null,
    durationSeconds: Math.round((ended.getTime() - started.getTime()) / 100) / 10,
    from: trace.snapshot?.packages.semver ?? trace.packages?.semver ?? null,
    to: target?.kind === 'version' ? target.version : null,
  };
};

/** The metrics file, when configured: written atomically; any failure to write it is a warning, never a failed run. */
const writeMetrics = async (ctx: RunContext, trace: Trace, lastRun: LastRun, state: State): Promise<void> => {
  const path = ctx.config.metrics;
  if (path === undefined) return;
  const packages = trace.snapshot?.packages ?? trace.packages;
  const { snapshot } = trace;
  // What is installed now: the target after an upgrade, else what the run found (rolled back to, when it came to that).
  const installed = lastRun.outcome === 'upgraded' ? lastRun.to : (packages?.semver ?? null);
  const text = renderMetrics({
    updater: UPDATER_VERSION, lastRun, state,
    ...(packages === undefined ? {} : { packages: { pkg: packages.pkg, installer: packages.installer, installed } }),
    ...(snapshot === undefined ? {} : { channel: { target: snapshot.target.kind === 'version' ? snapshot.target.version : null, critical: snapshot.critical }, windows: snapshot.windows }),
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
export const finish = async (ctx: RunContext, state: StateRecord, before: State, trace: Trace, started: Date, error: unknown): Promise<void> => {
  const lastRun = lastRunOf(ctx, trace, before, state.current(), started, error);
  state.apply({ type: 'run-finished', lastRun });
  const written = await state.write().then(() => undefined, (e: unknown) => e);
  await writeMetrics(ctx, trace, lastRun, state.current());
  const event = hookEventOf(lastRun.outcome, lastRun.exitStatus);
  if (event !== undefined) {
    const { planned } = trace;
    const reason = error instanceof Error ? error.message : planned === undefined ? lastRun.outcome : explain(planned.decision, planned.facts, ctx.options.configDir);
    await runHooks(ctx, { event, from: lastRun.from, to: lastRun.to, reason, exitStatus: lastRun.exitStatus });
  }
  if (error !== undefined) throw error;
  if (written !== undefined) throw written;
};
