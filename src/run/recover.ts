// Recover: finish a transaction an earlier run left half-done, and conclude an install it left in flight (dry-run: describe).
import { basename, dirname } from 'node:path';
import { restartSteps } from '../agent/agent-service.ts';
import { InstallError } from '../core/errors.ts';
import type { Step } from '../core/command.ts';
import { actingManager, type PackageFacts } from '../core/package-facts.ts';
import type { InProgress } from '../core/state.ts';
import { fields } from '../log/fields.ts';
import { isDryRun, type PackageContext, type RunContext } from './context.ts';
import { executeSteps } from './execute.ts';
import { sampleAgent } from './health.ts';
import { inspectPackages } from './inspect-packages.ts';
import { gatherPlanInput } from './queries.ts';
import type { StateRecord } from './state-store.ts';
import { restartAndJudge } from './judge.ts';

export interface Recovered {
  /** The steps that finish an interrupted transaction (run: ran them; dry-run: would). */
  readonly repair: readonly Step[];
  /** The packages as they are now. */
  readonly packages: PackageFacts;
}

/** What an in-flight record says was going on: "upgrading teleport-ent 1.2.3 -> 1.2.4". */
const interruptedWork = (pkg: string, progress: InProgress): string =>
  progress.purpose === 'reinstall' ? `reinstalling ${pkg} ${progress.to}` : `upgrading ${pkg} ${progress.from} -> ${progress.to}`;

/** A copy of exactly the installed version, kept for a rollback by the run that was interrupted, if it is still there. */
const keptCopyOf = async ({ host }: RunContext, state: StateRecord, packageVersion: string): Promise<string | undefined> => {
  const file = state.current().inProgress?.fromExact === packageVersion ? state.current().inProgress?.rollbackFile : undefined;
  return file != null && (await host.listDir(dirname(file))).includes(basename(file)) ? file : undefined;
};

/**
 * The package manager's repair for a package an interrupted transaction left half-way (dpkg --configure -a; the same
 * version installed again over a half-installed one; rpm's stale entries), inside or outside the window. A repair that
 * leaves the package half-way still fails the run, with the commands to run by hand: the manager would refuse all
 * other work on the host until then.
 */
const finishTransaction = async (
  ctx: RunContext,
  packages: PackageFacts,
  state: StateRecord,
  inspect: () => Promise<PackageFacts>,
): Promise<{ repair: readonly Step[]; packages: PackageFacts }> => {
  const { installed, pkg } = packages;
  const manager = actingManager(packages);
  if (manager === undefined || installed === undefined || installed.configured) return { repair: [], packages };
  const repair = manager.repairSteps(
    installed,
    installed.needsReinstall ? await keptCopyOf(ctx, state, installed.packageVersion) : undefined,
  );
  if (repair.length === 0) return { repair, packages };
  const [would, doing] = installed.needsReinstall ? [`install it again`, 'installing it again'] : ['finish it', 'finishing it'];
  ctx.host.log.warn(
    `${pkg} ${installed.packageVersion} was left half-installed by an interrupted package transaction; ${isDryRun(ctx) ? `run would ${would}` : doing} first.`,
    fields({ package: pkg }),
  );
  if (isDryRun(ctx)) return { repair, packages };
  const byHand = repair
    .map((step) => `${step.argv.join(' ')}${step.fallback === undefined ? '' : ` (or ${step.fallback.argv.join(' ')})`}`)
    .join('; then ');
  if (!(await executeSteps(ctx.host, repair))) {
    throw new InstallError(
      `could not finish the interrupted package transaction of ${pkg}; the package manager's own error lines are above. Nothing else was attempted. Fix it by hand (${byHand}), then run teleport-upgrade again.`,
      fields({ package: pkg }),
    );
  }
  state.apply({ type: 'files-changed' });
  const repaired = await inspect();
  if (repaired.installed !== undefined && !repaired.installed.configured) {
    throw new InstallError(
      `${pkg} ${repaired.installed.packageVersion} is still half-installed after the repair, and the package manager refuses other work until it is fixed. Nothing else was attempted. Fix it by hand (${byHand}), then run teleport-upgrade again.`,
      fields({ package: pkg }),
    );
  }
  return { repair, packages: repaired };
};

/** The v1 version lock back on, first thing after an interrupted install (which lifted it). */
const restoreHold = async ({ run: { host }, manager, packages }: PackageContext, progress: InProgress): Promise<void> => {
  const steps = progress.held ? manager.holdSteps(packages.pkg) : [];
  if (steps.length === 0) return;
  host.log.info(
    `${packages.pkg} was held (the v1 version lock) before the interrupted run; putting the hold back.`,
    fields({ package: packages.pkg }),
  );
  if (!(await executeSteps(host, steps))) {
    throw new InstallError(
      `could not put the v1 version lock on ${packages.pkg} back; the package manager's own error lines are above. Nothing else was attempted; the next run tries again.`,
    );
  }
};

/**
 * A run killed while installing left its in-flight record. Once the transaction is finished, the v1 version lock is put
 * back first. Then, if the target got installed, the agent is restarted and judged (and rolled back if it fails); if
 * the previous version is still there, nothing happened. An interrupted reinstall needs only its hold back: the files
 * are checked again after the decision. Either way the in-flight record is ended. dry-run says what run would do.
 */
const concludeInterrupted = async (ctx: RunContext, packages: PackageFacts, state: StateRecord): Promise<boolean> => {
  const progress = state.current().inProgress;
  const { pkg } = packages;
  const manager = actingManager(packages);
  if (progress === null || manager === undefined) return false;
  if (isDryRun(ctx)) {
    const hold = progress.held && manager.holdSteps(pkg).length > 0 ? `put the v1 version lock on ${pkg} back, then ` : '';
    const then = progress.purpose === 'reinstall' ? 'close its record' : 'judge the agent and roll back if it is unhealthy';
    ctx.host.log.warn(
      `a previous run was interrupted while ${interruptedWork(pkg, progress)}; run would first ${hold}${then}.`,
      fields({ package: pkg, from: progress.from, to: progress.to }),
    );
    return false;
  }
  const pc: PackageContext = { run: ctx, manager, packages, input: await gatherPlanInput(ctx.host, manager, packages, progress.to), state };
  ctx.host.log.warn(
    `a previous run was interrupted while ${interruptedWork(pkg, progress)} (started ${progress.at}).`,
    fields({ package: pkg, from: progress.from, to: progress.to }),
  );
  await restoreHold(pc, progress);
  if (progress.purpose === 'upgrade' && packages.semver === progress.to) {
    ctx.host.log.info(`${progress.to} got installed; restarting the agent and judging it now.`, fields({ installed: progress.to }));
    const before = progress.agentWasActive ? await sampleAgent(ctx.host) : undefined;
    await restartAndJudge(pc, progress, before?.restarts ?? 0, restartSteps(pc.input.agent));
    return true;
  }
  if (progress.purpose === 'upgrade')
    ctx.host.log.info(
      `${pkg} is ${packages.semver ?? 'unknown'}; the interrupted upgrade did not get through, so there is nothing to judge.`,
      fields({ package: pkg, installed: packages.semver }),
    );
  state.apply({ type: 'install-ended' });
  await state.write();
  return true;
};

/** Recover, before anything is gathered for the decision, so the decision sees the true state. */
export const recover = async (ctx: RunContext, state: StateRecord): Promise<Recovered> => {
  const inspect = () => inspectPackages(ctx.config, ctx.options.configDir, ctx.host);
  const { repair, packages: repaired } = await finishTransaction(ctx, await inspect(), state, inspect);
  // Concluding may have put a hold back or rolled back: the decision needs the package as it is now.
  const packages = (await concludeInterrupted(ctx, repaired, state)) ? await inspect() : repaired;
  return { repair, packages };
};
