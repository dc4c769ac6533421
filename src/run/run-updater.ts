// One run, phase by phase: lock, evaluate (recover, gather, decide, plan), then act and record (run, force) or report (dry-run).
import { ExitStatus, RefusedError } from '../core/errors.ts';
import type { Planned } from '../core/planned.ts';
import type { Host } from '../host/host.ts';
import { act } from './act.ts';
import { runContext, type RunOptions, type UpdateMode } from './context.ts';
import { busyJson, errorJson, plannedJson } from './dry-run-json.ts';
import { evaluate } from './evaluate.ts';
import { releaseSlotIfDue } from './fleet-lock.ts';
import { runInProgress, takeLock } from './lock.ts';
import { record } from './record.ts';
import { readState, stateRecord } from './state-store.ts';
import { announce, refusalOf, reportDryRun } from './report.ts';

export type { RunOptions, UpdateMode } from './context.ts';

/** run and force; returns the exit status. UpdaterErrors propagate to the CLI, which maps them. */
const run = async (options: RunOptions, host: Host): Promise<number> => {
  const ctx = await runContext(options, host);
  const started = host.clock.now();
  const lock = await takeLock(ctx);
  if (lock === undefined) return ExitStatus.ok;
  try {
    const state = stateRecord(ctx, await readState(ctx));
    const evaluation = await evaluate(ctx, state);
    let failure = evaluation.ok ? undefined : evaluation.failure;
    if (evaluation.ok) {
      const { planned } = evaluation;
      try {
        announce(ctx, planned);
        const refusal = refusalOf(ctx, planned);
        if (refusal !== undefined) throw refusal;
        await act(ctx, planned, state);
      } catch (error) {
        failure = error;
      }
    }
    // A FleetLock slot goes back once this host is steady, whatever this run did.
    await releaseSlotIfDue(ctx, state).catch((error: unknown) => host.log.warn(`could not check the FleetLock slot: ${String(error)}.`));
    // record (the new state, the last run), metrics and hooks, failing runs included; rethrows the failure.
    await record(ctx, state, evaluation.learned, started, failure);
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
    const state = stateRecord(ctx, await readState(ctx));
    const evaluation = await evaluate(ctx, state);
    if (!evaluation.ok) throw evaluation.failure;
    planned = evaluation.planned;
    announce(ctx, planned);
    const refusal = refusalOf(ctx, planned);
    if (refusal !== undefined) throw refusal;
    reportDryRun(ctx, planned);
    await releaseSlotIfDue(ctx, state);
    json(plannedJson(planned, ExitStatus.ok));
    return ExitStatus.ok;
  } catch (error) {
    json(planned !== undefined && error instanceof RefusedError ? plannedJson(planned, error.exitStatus) : errorJson(error));
    throw error;
  }
};

export const runUpdater = (options: RunOptions & { readonly mode: UpdateMode }, host: Host): Promise<number> =>
  options.mode === 'dry-run' ? dryRun(options, host) : run(options, host);
