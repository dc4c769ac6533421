// An upgrade with a way back: the previous package secured first, the agent's health judged after, a rollback when it fails.
import { readyzUrl } from '../agent/agent-config.ts';
import { agentShowQuery, observe, observeReady, parseAgentSample, SAMPLE_EVERY_MS, startWatch, verdict, type AgentSample } from '../agent/agent-health.ts';
import { AGENT_UNIT, hardRestartSteps } from '../agent/agent-service.ts';
import { InstallError, UnusablePathError } from '../core/errors.ts';
import { executeSteps } from './execute.ts';
import type { Host } from '../host/host.ts';
import type { PackageFacts } from './inspect-packages.ts';
import type { PackageManager } from '../package-managers/types.ts';
import { SECOND, type Step } from '../core/command.ts';
import type { Plan, PlanInput } from '../core/plan.ts';
import { serializeState, STATE_FILE, type InProgress, type State } from '../core/state.ts';
import { installedVersion, installExact, performReinstall, resolveTarget, restartAgent } from './upgrade.ts';

export interface UpgradeContext {
  readonly host: Host;
  readonly manager: PackageManager;
  readonly packages: PackageFacts;
  readonly input: PlanInput;
  readonly plan: Plan;
  readonly stateDir: string;
  readonly settleMs: number;
  /** The agent's teleport.yaml, for its /readyz. */
  readonly teleportConfig: string;
}

const READYZ_TIMEOUT_MS = 2 * SECOND;

const saveState = async (ctx: UpgradeContext, state: State): Promise<State> => {
  await ctx.host.writeFile(`${ctx.stateDir}/${STATE_FILE}`, serializeState(state));
  return state;
};

const sampleAgent = async (host: Host): Promise<AgentSample | undefined> => parseAgentSample(await host.run(agentShowQuery));

/** Watches the agent for the settle period; returns why it is unhealthy, or undefined when it stayed healthy. */
export const checkHealth = async (ctx: UpgradeContext, baselineRestarts: number): Promise<string | undefined> => {
  const { host } = ctx;
  const text = await host.readFile(ctx.teleportConfig).catch((error: unknown) => {
    host.log.warn(`cannot read ${ctx.teleportConfig} for the agent's /readyz (${error instanceof Error ? error.message : String(error)}); judging by systemd alone.`);
    return undefined;
  });
  const ready = readyzUrl(text);
  if (ready.problem !== undefined) host.log.warn(`cannot use ${ctx.teleportConfig} for the agent's /readyz: ${ready.problem}; judging by systemd alone.`);
  host.log.info(`checking that ${AGENT_UNIT} stays healthy for ${ctx.settleMs / SECOND} s${ready.url === undefined ? '' : ` and that ${ready.url} answers 200`}...`);
  let watch = startWatch(baselineRestarts, ready.url !== undefined);
  const started = host.clock.now().getTime();
  for (;;) {
    const seen = observe(watch, await sampleAgent(host));
    if (seen.failed !== undefined) return seen.failed;
    watch = seen.watch;
    if (ready.url !== undefined && !watch.ready.ok) watch = observeReady(watch, await host.probeStatus(ready.url, READYZ_TIMEOUT_MS));
    if (host.clock.now().getTime() - started >= ctx.settleMs) return verdict(watch, ctx.settleMs);
    await host.clock.sleep(SAMPLE_EVERY_MS);
  }
};

/**
 * A copy of the installed version's package file in `dir`: from the package manager's cache (apt keeps them) or else
 * downloaded from the repository when it offers it. Only the latest copy is kept; a failed download leaves nothing.
 */
const keepCopy = async (ctx: UpgradeContext, dir: string, previous: string, offered: boolean): Promise<string | undefined> => {
  const { host, manager, packages } = ctx;
  await host.resetDir(dir);
  const find = async (where: string) => (await host.listDir(where, { recursive: true })).find((path) => manager.isPackageFile(path.split('/').at(-1) ?? '', packages.pkg, previous));
  const cache = manager.packageCache === undefined ? undefined : manager.packageCache.dir(await host.run(manager.packageCache.query));
  const cached = cache === undefined ? undefined : await find(cache);
  if (cache !== undefined && cached !== undefined) {
    await host.copyFile(`${cache.replace(/\/?$/, '/')}${cached}`, `${dir}/${cached.split('/').at(-1)}`);
  } else if (offered) {
    const downloaded = await executeSteps(host, [{ ...manager.downloadStep({ pkg: packages.pkg, version: previous, repo: ctx.input.repo }, dir), mayFail: true }]);
    // A download that failed half-way (a full disk) may leave a truncated file under the right name.
    if (!downloaded) {
      await host.resetDir(dir);
      return undefined;
    }
  }
  const kept = await find(dir);
  return kept === undefined ? undefined : `${dir}/${kept}`;
};

/**
 * Makes sure the installed version can be put back without the repository: a copy of its package file in the state
 * dir. Without one (no room for it, say), the upgrade goes on with a warning. Returns the copy; without one, whether the
 * repository still offers the version.
 */
const secureRollback = async (ctx: UpgradeContext, previous: string, available: readonly string[]): Promise<{ file?: string; possible: boolean }> => {
  const { host, packages } = ctx;
  const dir = `${ctx.stateDir}/rollback`;
  const offered = available.includes(previous);
  const from = offered ? 'a rollback would reinstall it from the repository' : 'the repository no longer offers it either';
  try {
    const file = await keepCopy(ctx, dir, previous, offered);
    if (file !== undefined) {
      host.log.info(`kept a copy of ${packages.pkg} ${previous} for a rollback: ${file}`);
      return { file, possible: true };
    }
    if (offered) host.log.warn(`could not keep a copy of ${packages.pkg} ${previous}; ${from}.`);
  } catch (error) {
    if (!(error instanceof UnusablePathError)) throw error;
    host.log.warn(`could not keep a copy of ${packages.pkg} ${previous} in ${dir}: ${error.reason}; ${from}. The upgrade goes on.`);
    // Whatever part of the copy was written goes.
    await host.resetDir(dir).catch(() => undefined);
  }
  return { possible: offered };
};

/** The previous version back, then a restart (a broken agent is restarted, not reloaded). Throws when it cannot be installed. */
const rollBack = async (ctx: UpgradeContext, progress: InProgress): Promise<void> => {
  const { host, manager, packages, input } = ctx;
  host.log.error(`rolling back ${packages.pkg} to ${progress.from}.`);
  // The record says whether the package was held: after an interrupted install it may be unheld now.
  const steps = manager.installSteps({ pkg: packages.pkg, version: progress.fromExact, held: progress.held, downgrade: true, repo: input.repo,
    ...(progress.rollbackFile === null ? {} : { file: progress.rollbackFile }) });
  const ok = await executeSteps(host, steps);
  const now = await installedVersion(host, manager, packages.pkg);
  if (!ok || now !== progress.from) {
    throw new InstallError(`the rollback of ${packages.pkg} to ${progress.from} failed; it is ${now ?? 'not fully installed'}. The package manager's own error lines are above. ` +
      `Install ${packages.pkg} ${progress.from} by hand and check: systemctl status ${AGENT_UNIT}`);
  }
  host.log.info(`${packages.pkg} ${progress.to} -> ${progress.from} rolled back.`);
  if (!progress.agentWasActive || input.agent === 'no-systemd') return;
  if (!(await executeSteps(host, hardRestartSteps(progress.from)))) throw new InstallError(`${packages.pkg} ${progress.from} is back, but ${AGENT_UNIT} could not be restarted. Check: systemctl status ${AGENT_UNIT}`);
};

/**
 * Judges the agent after an install (when it was active before) and rolls back when it is unhealthy: the failed
 * target is recorded so the next runs skip it, and the run fails loudly. Returns the settled state.
 */
const settle = async (ctx: UpgradeContext, state: State, progress: InProgress, baselineRestarts: number, restartProblem?: string): Promise<State> => {
  const { host } = ctx;
  if (!progress.agentWasActive) {
    // Without systemd the restart step has already said why nothing was restarted.
    if (ctx.input.agent !== 'no-systemd') host.log.info(`${AGENT_UNIT} was not running before the upgrade (stopped on purpose?), so it was not started and its health is not judged.`);
    return saveState(ctx, { ...state, inProgress: null });
  }
  const problem = restartProblem ?? (await checkHealth(ctx, baselineRestarts));
  if (problem === undefined) {
    host.log.info(`${AGENT_UNIT} is healthy on ${progress.to}.`);
    return saveState(ctx, { ...state, inProgress: null });
  }
  host.log.error(`teleport ${progress.to} is unhealthy after the upgrade: ${problem}.`);
  // The state schema caps the reason; a longer one would make the file unreadable.
  const bad = { ...state, badTarget: { version: progress.to, reason: problem.slice(0, 1000), at: host.clock.now().toISOString() } };
  await saveState(ctx, bad);
  await rollBack(ctx, progress);
  const after = await sampleAgent(host);
  const again = await checkHealth(ctx, after?.restarts ?? 0);
  await saveState(ctx, { ...bad, inProgress: null });
  throw new InstallError(
    `teleport ${progress.to} failed its health check (${problem}) and was rolled back to ${progress.from}, ` +
      `${again === undefined ? 'which is healthy again' : `which is ALSO unhealthy (${again}); check: systemctl status ${AGENT_UNIT}`}. ` +
      `${progress.to} will not be installed again while the channel serves it; teleport-upgrade force overrides that.`,
  );
};

/** Refresh, resolve, secure the way back, install, restart, then judge (and roll back). Throws InstallError on failure. */
export const upgradeWithRollback = async (ctx: UpgradeContext, state: State): Promise<State> => {
  const { host, manager, packages, input, plan } = ctx;
  const { exact, available } = await resolveTarget(host, manager, packages.pkg, input, plan);
  const previous = packages.installed;
  const before = input.agent === 'active' ? await sampleAgent(host) : undefined;
  if (previous === undefined || packages.version === null) {
    host.log.warn(`the installed ${packages.pkg} version is unknown, so a failed upgrade cannot be rolled back.`);
    await installExact(host, manager, packages, input, exact, input.target);
    await restartAgent(host, input, plan, packages.pkg, input.target, 'unknown');
    return state;
  }
  const secured = await secureRollback(ctx, previous.version, available);
  if (!secured.possible) {
    host.log.warn(`neither the repositories nor the package cache hold ${packages.pkg} ${previous.version} any more: if ${input.target} turns out unhealthy it cannot be rolled back automatically.`);
  }
  const progress: InProgress = {
    purpose: 'upgrade', from: packages.version, fromExact: previous.version, to: input.target, agentWasActive: input.agent === 'active',
    held: input.held, rollbackFile: secured.file ?? null, at: host.clock.now().toISOString(),
  };
  const inFlight = await saveState(ctx, { ...state, inProgress: progress });
  try {
    await installExact(host, manager, packages, input, exact, input.target);
  } catch (error) {
    if (!(error instanceof InstallError)) throw error;
    await recoverFailedInstall(ctx, inFlight, progress, secured.possible);
    throw error;
  }
  return restartAndSettle(ctx, inFlight, progress, before?.restarts ?? 0);
};

/** Reloads the agent onto the new version, then judges it; a reload that fails counts against it when the agent was running. */
const restartAndSettle = async (ctx: UpgradeContext, state: State, progress: InProgress, baselineRestarts: number): Promise<State> => {
  let restartProblem: string | undefined;
  try {
    await restartAgent(ctx.host, ctx.input, ctx.plan, ctx.packages.pkg, progress.to, progress.from);
  } catch (error) {
    if (!(error instanceof InstallError) || !progress.agentWasActive) throw error;
    restartProblem = `${AGENT_UNIT} could not be reloaded or restarted onto it`;
  }
  return settle(ctx, state, progress, baselineRestarts, restartProblem);
};

/**
 * After a failed install: when the previous version is still installed and configured nothing changed (a lock, the
 * network); otherwise the half-done install is rolled back. Neither marks the target bad: it was not judged.
 */
const recoverFailedInstall = async (ctx: UpgradeContext, state: State, progress: InProgress, possible: boolean): Promise<void> => {
  const { host, manager, packages } = ctx;
  const now = await installedVersion(host, manager, packages.pkg);
  const left = `the failed install left ${packages.pkg} ${now === undefined ? 'half-installed' : `at ${now}`}`;
  if (now === progress.from) {
    host.log.info(`${packages.pkg} is still ${progress.from}: the failed install changed nothing.`);
  } else if (possible) {
    host.log.error(`${left}.`);
    await rollBack(ctx, progress);
  } else {
    host.log.error(`${left}, and ${progress.from} cannot be reinstalled automatically; the next run finishes the interrupted transaction.`);
  }
  await saveState(ctx, { ...state, inProgress: null });
};

/**
 * The same version again over damaged files, with an in-flight record, so that a run killed half-way leaves the next
 * run what it needs: the hold to put back.
 */
export const reinstallRecorded = async (ctx: UpgradeContext, state: State, steps: readonly Step[]): Promise<State> => {
  const { host, packages, input } = ctx;
  const version = packages.version ?? 'unknown';
  const progress: InProgress = {
    purpose: 'reinstall', from: version, fromExact: packages.installed?.version ?? version, to: version, agentWasActive: input.agent === 'active',
    held: input.held, rollbackFile: null, at: host.clock.now().toISOString(),
  };
  const inFlight = await saveState(ctx, { ...state, inProgress: progress });
  try {
    await performReinstall(host, ctx.manager, packages, input, ctx.plan, steps);
  } finally {
    await saveState(ctx, { ...inFlight, inProgress: null });
  }
  return { ...inFlight, inProgress: null };
};

/** What an in-flight record says was going on: "upgrading teleport-ent 1.2.3 -> 1.2.4". */
export const interruptedWork = (pkg: string, progress: InProgress): string =>
  progress.purpose === 'reinstall' ? `reinstalling ${pkg} ${progress.to}` : `upgrading ${pkg} ${progress.from} -> ${progress.to}`;

/** The v1 version lock back on, first thing after an interrupted install (which lifted it). */
const restoreHold = async (ctx: UpgradeContext, progress: InProgress): Promise<void> => {
  const steps = progress.held ? ctx.manager.holdSteps(ctx.packages.pkg) : [];
  if (steps.length === 0) return;
  ctx.host.log.info(`${ctx.packages.pkg} was held (the v1 version lock) before the interrupted run; putting the hold back.`);
  if (!(await executeSteps(ctx.host, steps))) {
    throw new InstallError(`could not put the v1 version lock on ${ctx.packages.pkg} back; the package manager's own error lines are above. Nothing else was attempted; the next run tries again.`);
  }
};

/**
 * A run killed while upgrading left `inProgress` behind. Once the interrupted transaction is finished, the v1 version
 * lock is put back first. Then, if the target got installed, its health is judged now (and rolled back if it fails);
 * if the previous version is still there, nothing happened. Either way the record is settled. An interrupted reinstall
 * needs only its hold back: the files are checked again after the decision.
 */
export const resumeInterrupted = async (ctx: UpgradeContext, state: State, progress: InProgress): Promise<State> => {
  const { host, packages } = ctx;
  host.log.warn(`a previous run was interrupted while ${interruptedWork(packages.pkg, progress)} (started ${progress.at}).`);
  await restoreHold(ctx, progress);
  if (progress.purpose === 'reinstall') return saveState(ctx, { ...state, inProgress: null });
  if (packages.version === progress.to) {
    host.log.info(`${progress.to} got installed; restarting the agent and judging it now.`);
    const before = progress.agentWasActive ? await sampleAgent(host) : undefined;
    return restartAndSettle(ctx, state, progress, before?.restarts ?? 0);
  }
  host.log.info(`${packages.pkg} is ${packages.version ?? 'unknown'}; the interrupted upgrade did not get through, so there is nothing to judge.`);
  return saveState(ctx, { ...state, inProgress: null });
};
