// After an install: restart the agent gracefully, judge it, and roll back what made it worse; or end a failed install.
import { AGENT_UNIT } from '../agent/agent-service.ts';
import type { Step } from '../core/command.ts';
import { InstallError } from '../core/errors.ts';
import type { StateEvent } from '../core/next-state.ts';
import type { InProgress } from '../core/state.ts';
import { fields } from '../log/fields.ts';
import type { PackageContext } from './context.ts';
import { executeSteps } from './execute.ts';
import { checkHealth, sampleAgent } from './health.ts';
import { installedSemver } from './queries.ts';
import { rollBack } from './rollback.ts';

/** Runs the plan's restart steps (daemon-reload, then reload with try-restart to fall back on); nothing without systemd. */
export const restartAgent = async (
  { run: { host }, packages, input }: PackageContext,
  restart: readonly Step[],
  target: string,
  before: string,
): Promise<void> => {
  if (input.agent === 'no-systemd') {
    host.log.warn(`systemd is not running on this host, so teleport was not restarted; restart it to run ${target}.`, fields({ target }));
    return;
  }
  host.log.info('gracefully restarting Teleport (if already running)');
  if (!(await executeSteps(host, restart))) {
    throw new InstallError(
      `${packages.pkg} ${target} is installed, but teleport.service could not be reloaded or restarted; the agent may still run ${before}. Check: systemctl status teleport.service`,
    );
  }
};

/**
 * Judges the agent after an install (when it was active before) and rolls back when it is unhealthy: the failed
 * target is recorded before the rollback, so the next runs skip it, and the run fails loudly. Ends the in-flight record.
 */
const judgeInstall = async (pc: PackageContext, progress: InProgress, baselineRestarts: number, restartProblem?: string): Promise<void> => {
  const { run, state } = pc;
  const { host } = run;
  const versions = fields({ package: pc.packages.pkg, from: progress.from, to: progress.to });
  const ended = async (...events: StateEvent[]) => {
    state.apply(...events, { type: 'install-ended' });
    await state.write();
  };
  if (!progress.agentWasActive) {
    // Without systemd the restart step has already said why nothing was restarted.
    if (pc.input.agent !== 'no-systemd')
      host.log.info(
        `${AGENT_UNIT} was not running before the upgrade (stopped on purpose?), so it was not started and its health is not judged.`,
        versions,
      );
    return ended({ type: 'upgraded' });
  }
  const problem = restartProblem ?? (await checkHealth(run, baselineRestarts));
  if (problem === undefined) {
    host.log.info(`${AGENT_UNIT} is healthy on ${progress.to}.`, versions);
    return ended({ type: 'upgraded' });
  }
  host.log.error(`teleport ${progress.to} is unhealthy after the upgrade: ${problem}.`, { ...versions, ...fields({ reason: problem }) });
  state.apply({ type: 'target-failed', target: progress.to, reason: problem });
  await state.write();
  await rollBack(pc, progress);
  const after = await sampleAgent(host);
  const again = await checkHealth(run, after?.restarts ?? 0);
  await ended();
  throw new InstallError(
    `teleport ${progress.to} failed its health check (${problem}) and was rolled back to ${progress.from}, ` +
      `${again === undefined ? 'which is healthy again' : `which is ALSO unhealthy (${again}); check: systemctl status ${AGENT_UNIT}`}. ` +
      `${progress.to} will not be installed again while the channel serves it; teleport-upgrade force overrides that.`,
    { ...versions, ...fields({ reason: problem }) },
  );
};

/** Reloads the agent onto the new version, then judges it; a reload that fails counts against it when the agent was running. */
export const restartAndJudge = async (
  pc: PackageContext,
  progress: InProgress,
  baselineRestarts: number,
  restart: readonly Step[],
): Promise<void> => {
  let restartProblem: string | undefined;
  try {
    await restartAgent(pc, restart, progress.to, progress.from);
  } catch (error) {
    if (!(error instanceof InstallError) || !progress.agentWasActive) throw error;
    restartProblem = `${AGENT_UNIT} could not be reloaded or restarted onto it`;
  }
  return judgeInstall(pc, progress, baselineRestarts, restartProblem);
};

/**
 * After a failed install: when the previous version is still installed and configured nothing changed (a lock, the
 * network); otherwise the half-done install is rolled back. Neither marks the target bad: it was not judged.
 */
export const afterFailedInstall = async (pc: PackageContext, progress: InProgress, possible: boolean): Promise<void> => {
  const {
    run: { host },
    manager,
    packages,
    state,
  } = pc;
  const installedNow = await installedSemver(host, manager, packages.pkg);
  const left = `the failed install left ${packages.pkg} ${installedNow === undefined ? 'half-installed' : `at ${installedNow}`}`;
  if (installedNow === progress.from) {
    host.log.info(
      `${packages.pkg} is still ${progress.from}: the failed install changed nothing.`,
      fields({ package: packages.pkg, installed: installedNow }),
    );
  } else if (possible) {
    host.log.error(`${left}.`, fields({ package: packages.pkg, installed: installedNow }));
    await rollBack(pc, progress);
  } else {
    host.log.error(
      `${left}, and ${progress.from} cannot be reinstalled automatically; the next run finishes the interrupted transaction.`,
      fields({ package: packages.pkg, installed: installedNow }),
    );
  }
  state.apply({ type: 'install-ended' });
  await state.write();
};
