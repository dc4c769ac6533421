// One run, phase by phase: lock, recover, gather, decide, plan, then act and record (run, force) or report (dry-run).
import { decide } from '../core/decide.ts';
import { ExitStatus, RefusedError } from '../core/errors.ts';
import { planRun, type Planned } from '../core/planned.ts';
import type { Host } from '../host/host.ts';
import { act } from './act.ts';
import type { RunContext, RunOptions } from './context.ts';
import { busyJson, errorJson, plannedJson } from './dry-run-json.ts';
import { decisionFacts, gather, gatherForPlan, readConfig, startFetch } from './gather.ts';
import { runInProgress, takeLock } from './lock.ts';
import { recover } from './recover.ts';
import { stateRecord } from './record.ts';
import { announce, reportDryRun } from './report.ts';

export type { Mode, RunOptions } from './context.ts';

/** The configuration comes first: its errors exit 2 before any lock is taken. */
const context = async (options: RunOptions, host: Host): Promise<RunContext> => {
  const config = await readConfig(host, options.configDir);
  if (config.debug) host.log.enableDebug();
  return { options, host, config };
};

/** recover, gather, decide, plan: the same path in run and dry-run (whose recover only describes). */
const evaluate = async (ctx: RunContext): Promise<Planned> => {
  const channel = startFetch(ctx);
  const recovered = await recover(ctx);
  const snapshot = await gather(ctx, recovered, channel);
  const facts = decisionFacts(ctx, snapshot);
  const decision = decide(facts);
  return planRun(snapshot, facts, decision, recovered.repair, await gatherForPlan(ctx, snapshot, decision));
};

/** run and force; returns the exit status. UpdaterErrors propagate to the CLI, which maps them. */
const run = async (options: RunOptions, host: Host): Promise<number> => {
  const ctx = await context(options, host);
  const lock = await takeLock(ctx);
  if (lock === undefined) return ExitStatus.ok;
  try {
    const planned = await evaluate(ctx);
    announce(ctx, planned);
    const state = stateRecord(ctx, planned.snapshot.state);
    try {
      await act(ctx, planned, state);
    } finally {
      // record: the new state, also when acting failed (what failed is part of it).
      await state.write();
    }
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
    const ctx = await context(options, host);
    const holder = await runInProgress(ctx);
    if (holder !== undefined) {
      json(busyJson(holder));
      return ExitStatus.ok;
    }
    planned = await evaluate(ctx);
    announce(ctx, planned);
    reportDryRun(ctx, planned);
    json(plannedJson(planned, ExitStatus.ok));
    return ExitStatus.ok;
  } catch (error) {
    json(planned !== undefined && error instanceof RefusedError ? plannedJson(planned, error.exitStatus) : errorJson(error));
    throw error;
  }
};

export const runUpdater = (options: RunOptions, host: Host): Promise<number> => (options.mode === 'dry-run' ? dryRun(options, host) : run(options, host));
