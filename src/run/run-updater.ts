// One run, phase by phase: lock, recover, gather, decide, plan, then act and record (run, force) or report (dry-run).
import { decide } from '../core/decide.ts';
import { ExitStatus, RefusedError } from '../core/errors.ts';
import { planRun, type Planned } from '../core/planned.ts';
import type { Host } from '../host/host.ts';
import { act } from './act.ts';
import type { RunContext, RunOptions } from './context.ts';
import { busyJson, errorJson, plannedJson } from './dry-run-json.ts';
import { finish, type Trace } from './record.ts';
import { decisionFacts, gather, gatherForPlan, readConfig, startFetch } from './gather.ts';
import { runInProgress, takeLock } from './lock.ts';
import { readState, stateRecord, type StateRecord } from './state-store.ts';
import { recover } from './recover.ts';
import { announce, refusalOf, reportDryRun } from './report.ts';

export type { Mode, RunOptions } from './context.ts';

/** The configuration comes first: its errors exit 2 before any lock is taken. */
export const runContext = async (options: RunOptions, host: Host, quiet = false): Promise<RunContext> => {
  const config = await readConfig(host, options.configDir);
  if (config.debug && !quiet) host.log.enableDebug();
  return { options, host, config };
};

/** recover, gather, decide, plan: the same path in run and dry-run (whose recover only describes); `trace` keeps what it learned. */
export const evaluate = async (ctx: RunContext, state: StateRecord, trace: Trace = {}): Promise<Planned> => {
  const channel = startFetch(ctx);
  const recovered = await recover(ctx, state);
  trace.packages = recovered.packages;
  trace.repaired = recovered.repair.length > 0 && ctx.options.mode !== 'dry-run';
  const snapshot = await gather(ctx, recovered, state.current(), channel);
  trace.snapshot = snapshot;
  const facts = decisionFacts(ctx, snapshot);
  const decision = decide(facts);
  trace.planned = planRun(snapshot, facts, decision, recovered.repair, await gatherForPlan(ctx, snapshot, facts, decision));
  return trace.planned;
};

/** run and force; returns the exit status. UpdaterErrors propagate to the CLI, which maps them. */
const run = async (options: RunOptions, host: Host): Promise<number> => {
  const ctx = await runContext(options, host);
  const started = host.clock.now();
  const lock = await takeLock(ctx);
  if (lock === undefined) return ExitStatus.ok;
  try {
    const before = await readState(ctx);
    const state = stateRecord(ctx, before);
    const trace: Trace = {};
    let failure: unknown;
    try {
      const planned = await evaluate(ctx, state, trace);
      announce(ctx, planned);
      const refusal = refusalOf(ctx, planned);
      if (refusal !== undefined) throw refusal;
      await act(ctx, planned, state);
    } catch (error) {
      failure = error;
    }
    // record (the new state, the last run), metrics and hooks, failing runs included; rethrows the failure.
    await finish(ctx, state, before, trace, started, failure);
    return ExitStatus.ok;
  } finally {
    await lock.release();
  }
};

/**
 * dry-run stops before acting and changes nothing. With --json, stdout gets exactly one object whatever happens: the
 * decision and the commands run would execute, `reason: "busy"` while a run holds the lock, or `action: "error"`.
 */
const dryRun = async (options: RunOptions, host: Host): Promise<number> => {
  const json = (text: string) => {
    if (options.json) host.stdout(text);
  };
  let planned: Planned | undefined;
  try {
    const ctx = await runContext(options, host);
    const holder = await runInProgress(ctx);
    if (holder !== undefined) {
      json(busyJson(holder));
      return ExitStatus.ok;
    }
    planned = await evaluate(ctx, stateRecord(ctx, await readState(ctx)));
    announce(ctx, planned);
    const refusal = refusalOf(ctx, planned);
    if (refusal !== undefined) throw refusal;
    reportDryRun(ctx, planned);
    json(plannedJson(planned, ExitStatus.ok));
    return ExitStatus.ok;
  } catch (error) {
    json(planned !== undefined && error instanceof RefusedError ? plannedJson(planned, error.exitStatus) : errorJson(error));
    throw error;
  }
};

export const runUpdater = (options: RunOptions, host: Host): Promise<number> => (options.mode === 'dry-run' ? dryRun(options, host) : run(options, host));
