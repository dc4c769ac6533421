// run, dry-run and force: gather facts, decide, plan, then act (or stop and report, for dry-run).
import { CONFIG_NAMES, parseConfig, type Config, type ConfigFiles } from '../config/parse-config.ts';
import { decide, type Decision, type Facts } from '../core/decide.ts';
import { ConfigError, ExitStatus, InstallError, RefusedError, sanitize, TargetError } from '../core/errors.ts';
import { availability, explain } from '../core/explain.ts';
import { FileRefusedError } from '../host/files.ts';
import { describeHolder } from '../host/lock.ts';
import type { Host } from '../host/host.ts';
import { inspectPackages, type PackageFacts } from './inspect-packages.ts';
import { planCommands, planUpgrade, type Plan, type PlanInput } from '../core/plan.ts';
import { parseSchedule, type Schedule } from '../schedule/parse-schedule.ts';
import { windowStatus } from '../schedule/window.ts';
import { emptyState, parseState, serializeState, STATE_FILE, withMark, type State } from '../core/state.ts';
import { damagedFiles, gatherPlanInput } from './upgrade.ts';
import { interruptedWork, reinstallRecorded, resumeInterrupted, upgradeWithRollback, type UpgradeContext } from './safe-upgrade.ts';
import { busyJson, errorJson, outcomeJson } from './report.ts';
import { outcomeCommands, type Outcome } from '../core/outcome.ts';
import { executeSteps } from './execute.ts';
import type { PackageManager } from '../package-managers/types.ts';
import type { Step } from '../core/command.ts';
import { parsePingBody, type Cluster } from '../version/cluster.ts';
import { parseCriticalBody, parseTargetBody, type Target } from '../version/target.ts';

export type Mode = 'run' | 'dry-run' | 'force';

export interface RunOptions {
  readonly mode: Mode;
  readonly configDir: string;
  readonly stateDir: string;
  /** dry-run only: print one JSON object on stdout. */
  readonly json: boolean;
  /** The one-run-at-a-time lock that run and force take (dry-run takes none). */
  readonly lockPath: string;
}

const readConfig = async (host: Host, dir: string): Promise<Config> => {
  const texts = await Promise.all(CONFIG_NAMES.map((name) => host.readFile(`${dir}/${name}`).catch((error: unknown) => {
    if (error instanceof FileRefusedError) throw new ConfigError(`${error.message}; make it a small text file.`);
    throw error;
  })));
  return parseConfig(dir, Object.fromEntries(CONFIG_NAMES.map((name, i) => [name, texts[i]])) as ConfigFiles);
};

const readSchedule = async (host: Host, dir: string): Promise<Schedule> => {
  try {
    return parseSchedule(await host.readFile(`${dir}/schedule`, { noFollow: true }));
  } catch (error) {
    if (error instanceof FileRefusedError) return { kind: 'invalid', problem: error.message };
    throw error;
  }
};

const readState = async (host: Host, dir: string): Promise<State> => {
  const path = `${dir}/${STATE_FILE}`;
  const parsed = parseState(await host.readFile(path).catch(() => undefined));
  if (typeof parsed === 'string') {
    host.log.warn(`ignoring ${path}: ${parsed}; it will be rewritten.`);
    return emptyState;
  }
  return parsed;
};

const fetchTarget = async (host: Host, config: Config): Promise<{ target: Target; critical: boolean; cluster: Cluster }> => {
  const { base, ping, insecure } = config.endpoint;
  if (insecure) host.log.warn(`fetching ${base}/version and /critical in insecure mode (not safe for production use).`);
  const answers = await host.fetchChannel(base, ping);
  if (!answers.version.ok) {
    throw new TargetError(`failed to get target version from ${base}/version: ${answers.version.problem}. Cannot proceed with update check; check the endpoint file and that this host can reach the proxy.`);
  }
  const target = parseTargetBody(answers.version.body);
  if (typeof target === 'string') throw new TargetError(`${target}; not upgrading. Check that ${base} is a Teleport version channel.`);
  if (!answers.critical.ok) host.log.warn(`could not fetch ${base}/critical (${answers.critical.problem}); treating the upgrade as not critical.`);
  const cluster: Cluster = answers.ping.ok ? parsePingBody(answers.ping.body) : { kind: 'unknown', problem: `${ping}: ${answers.ping.problem}` };
  return { target, critical: answers.critical.ok && parseCriticalBody(answers.critical.body), cluster };
};

/**
 * An interrupted transaction is finished before anything is decided, so the decision sees the true state.
 * In dry-run the steps are only reported.
 */
const repairInterrupted = async (options: RunOptions, host: Host, config: Config, packages: PackageFacts): Promise<{ packages: PackageFacts; repair: Step[] }> => {
  const { manager, installed, pkg } = packages;
  const repair = manager !== undefined && installed !== undefined && !installed.configured && packages.installer !== 'nop' ? manager.repairSteps(installed) : [];
  if (repair.length === 0) return { packages, repair };
  host.log.warn(`${pkg} ${installed?.version} was left half-installed by an interrupted package transaction; ${options.mode === 'dry-run' ? 'run would finish it first' : 'finishing it first'}.`);
  if (options.mode === 'dry-run') return { packages, repair };
  if (!(await executeSteps(host, repair))) {
    throw new InstallError(`could not finish the interrupted package transaction of ${pkg}; the package manager's own error lines are above. Nothing else was attempted.`);
  }
  return { packages: await inspectPackages(config, options.configDir, host), repair };
};

/** Decisions after which the installed files are checked against the package database. */
const VERIFIED_AFTER: readonly Decision['reason'][] = ['up-to-date', 'outside-window', 'marked-unhealthy', 'no-target'];

/** Gathers the facts (in parallel where independent), decides, and plans; changes nothing but an interrupted transaction. */
const evaluate = async (options: RunOptions, host: Host, config: Config): Promise<Outcome> => {
  const [fetched, inspected, schedule, stored] = await Promise.all([
    fetchTarget(host, config),
    inspectPackages(config, options.configDir, host),
    readSchedule(host, options.configDir),
    readState(host, options.stateDir),
  ]);
  const repaired = await repairInterrupted(options, host, config, inspected);
  const { repair } = repaired;
  const state = await settleInterrupted(options, host, config, repaired.packages, stored);
  // Settling an interrupted upgrade may have put a hold back or rolled back: the decision needs the package as it is now.
  const packages = state === stored ? repaired.packages : await inspectPackages(config, options.configDir, host);
  const facts: Facts = {
    forced: options.mode === 'force',
    installed: packages.version,
    target: fetched.target,
    critical: fetched.critical,
    window: windowStatus(schedule, host.clock.now()),
    markedUnhealthy: state.unhealthySince !== null,
    allowPrerelease: config.allowPrerelease,
    cluster: fetched.cluster,
    badTarget: state.badTarget?.version ?? null,
  };
  if (packages.version === null && fetched.target.kind === 'version') {
    host.log.info(`failed to detect current version, assuming ${fetched.target.version} to be valid target.`);
  }
  const decision = decide(facts);
  const { manager, installed } = packages;
  const base = { repair, reinstall: [], state, facts, decision, packages };
  if (manager === undefined) return base;
  if (decision.action === 'none') {
    // The nop installer changes nothing, so it repairs nothing either.
    if (packages.installer === 'nop' || installed === undefined || packages.version === null || !VERIFIED_AFTER.includes(decision.reason)) return base;
    const damaged = await damagedFiles(host, manager, packages.pkg);
    if (damaged.length === 0) return base;
    host.log.warn(`${packages.pkg} ${installed.version} is damaged: ${sanitize(damaged.slice(0, 5).join(', '), 300)} no longer match the package database; the same version is reinstalled.`);
    const input = await gatherPlanInput(host, manager, packages, packages.version);
    const reinstall = manager.reinstallSteps({ pkg: packages.pkg, version: installed.version, held: input.held, downgrade: false, repo: input.repo });
    return { ...base, reinstall, plan: { input, plan: planUpgrade(manager, input) } };
  }
  if (fetched.target.kind !== 'version') return base;
  const input = await gatherPlanInput(host, manager, packages, fetched.target.version);
  return { ...base, plan: { input, plan: planUpgrade(manager, input) } };
};

const upgradeContext = (options: RunOptions, host: Host, config: Config, packages: PackageFacts, manager: PackageManager, planned: { input: PlanInput; plan: Plan }): UpgradeContext => ({
  host, manager, packages, input: planned.input, plan: planned.plan, stateDir: options.stateDir, settleMs: config.settleMs, teleportConfig: config.teleportConfig,
});

/**
 * A run killed in the middle of an upgrade left a record: settle it before deciding anything (judge the agent, roll
 * back if it is unhealthy). dry-run only says what run would do.
 */
const settleInterrupted = async (options: RunOptions, host: Host, config: Config, packages: PackageFacts, state: State): Promise<State> => {
  const progress = state.inProgress;
  if (progress === null || packages.manager === undefined || packages.installer === 'nop') return state;
  if (options.mode === 'dry-run') {
    const hold = progress.held && packages.manager.holdSteps(packages.pkg).length > 0 ? `put the v1 version lock on ${packages.pkg} back, then ` : '';
    const then = progress.purpose === 'reinstall' ? 'settle it' : 'judge the agent and roll back if it is unhealthy';
    host.log.warn(`a previous run was interrupted while ${interruptedWork(packages.pkg, progress)}; run would first ${hold}${then}.`);
    return state;
  }
  const input = await gatherPlanInput(host, packages.manager, packages, progress.to);
  return resumeInterrupted(upgradeContext(options, host, config, packages, packages.manager, { input, plan: planUpgrade(packages.manager, input) }), state, progress);
};

/** A bad-target record is cleared by a different target, and by force. */
const clearBadTarget = (host: Host, state: State, decision: Decision, facts: Facts): State => {
  const bad = state.badTarget;
  const target = facts.target.kind === 'version' ? facts.target.version : undefined;
  if (bad === null || target === undefined || (target === bad.version && decision.reason !== 'forced')) return state;
  host.log.info(`${decision.reason === 'forced' ? 'force' : `the new target ${target}`} clears the record of ${bad.version} failing its health check.`);
  return { ...state, badTarget: null };
};

const saveState = async (host: Host, options: RunOptions, before: State, next: State): Promise<void> => {
  if (serializeState(next) === serializeState(before)) return;
  await host.writeFile(`${options.stateDir}/${STATE_FILE}`, serializeState(next));
  if (next.unhealthySince !== before.unhealthySince) host.log.debug(`${next.unhealthySince === null ? 'cleared the unhealthy mark' : 'marked the agent unhealthy'}.`);
};

/**
 * The whole run; returns the exit status. UpdaterErrors propagate to the CLI, which maps them. Once the configuration
 * is read, run and force hold the lock throughout; one that finds another run in progress leaves it alone and exits 0.
 */
export const runUpdater = async (options: RunOptions, host: Host): Promise<number> => {
  if (options.mode === 'dry-run') return dryRun(options, host);
  const config = await readConfig(host, options.configDir);
  if (config.debug) host.log.enableDebug();
  const lock = await host.lock(options.lockPath, `teleport-upgrade ${options.mode}`);
  if (!lock.acquired) {
    host.log.info(`another teleport-upgrade is in progress: ${describeHolder(lock.holder)} holds ${options.lockPath}; leaving it to finish. Nothing was done.`);
    return ExitStatus.ok;
  }
  if (lock.tookOver !== undefined) host.log.warn(`took over ${options.lockPath} from ${lock.tookOver}.`);
  try {
    const outcome = await evaluate(options, host, config);
    announce(options, host, outcome);
    return await act(options, host, config, outcome);
  } finally {
    await lock.release();
  }
};

/**
 * dry-run walks the same path as run and stops before acting. It takes no lock; while a run holds it, it says so and
 * stops, as run would (what the live run has in flight is not an interrupted transaction). With --json, stdout gets
 * exactly one object whatever happens: the decision, or `action: "error"` with the problem.
 */
const dryRun = async (options: RunOptions, host: Host): Promise<number> => {
  const json = (text: string) => {
    if (options.json) host.stdout(text);
  };
  let outcome: Outcome | undefined;
  try {
    const config = await readConfig(host, options.configDir);
    if (config.debug) host.log.enableDebug();
    const holder = await host.lockHolder(options.lockPath);
    if (holder !== undefined) {
      host.log.info(`another teleport-upgrade is in progress: ${describeHolder(holder)} holds ${options.lockPath}; run would leave it to finish and do nothing now.`);
      json(busyJson(holder));
      return ExitStatus.ok;
    }
    outcome = await evaluate(options, host, config);
    announce(options, host, outcome);
    const { plan, packages } = outcome;
    if (plan !== undefined && outcome.reinstall.length === 0 && !plan.plan.resolved) {
      host.log.warn(`the package manager's current metadata does not offer ${packages.pkg} ${plan.input.target}; run refreshes the Teleport repository first and fails if it is still not offered.`);
    }
    for (const argv of outcomeCommands(outcome)) host.log.info(`dry run: would run: ${argv.join(' ')}`);
    json(outcomeJson(outcome, ExitStatus.ok));
    return ExitStatus.ok;
  } catch (error) {
    json(outcome !== undefined && error instanceof RefusedError ? outcomeJson(outcome, error.exitStatus) : errorJson(error));
    throw error;
  }
};

/** Logs what is available and the one sentence that explains the decision; a refusal is thrown as RefusedError. */
const announce = (options: RunOptions, host: Host, { decision, facts }: Outcome): void => {
  const available = decision.reason === 'up-to-date' || decision.reason === 'no-target' || decision.reason === 'managed-by-v2' ? undefined : availability(facts);
  if (available !== undefined) host.log.info(available);
  const sentence = explain(decision, facts, options.configDir);
  if (decision.exitStatus !== 0) throw new RefusedError(sentence);
  const said = options.mode === 'dry-run' && decision.mark === 'set' ? `${sentence} (dry run: the mark is not written.)` : sentence;
  if (decision.reason === 'known-bad') host.log.warn(said); else host.log.info(said);
  if (decision.action === 'upgrade' && facts.cluster.kind === 'unknown') {
    host.log.warn(`could not learn the cluster's version (${facts.cluster.problem}); installing without the version-skew check.`);
  }
};

/** run and force, after the decision: the state change, then the reinstall or the upgrade. */
const act = async (options: RunOptions, host: Host, config: Config, outcome: Outcome): Promise<number> => {
  const { facts, decision, packages, plan } = outcome;
  // The decision's mark applies at once, except for an upgrade: it clears the mark only once it has succeeded.
  const cleared = clearBadTarget(host, outcome.state, decision, facts);
  const now = decision.action === 'upgrade' ? cleared : withMark(cleared, decision.mark, host.clock.now());
  await saveState(host, options, outcome.state, now);
  let after = now;
  if (outcome.reinstall.length > 0 && packages.manager !== undefined && plan !== undefined) {
    after = await reinstallRecorded(upgradeContext(options, host, config, packages, packages.manager, plan), now, outcome.reinstall);
  }
  if (decision.action === 'upgrade' && facts.target.kind === 'version') {
    if (packages.installer === 'nop' || plan === undefined) {
      host.log.info(`attempting nop install ${packages.pkg}=${facts.target.version}... the nop installer changes nothing.`);
      for (const argv of plan === undefined ? [] : planCommands(plan.plan)) host.log.info(`nop: would run: ${argv.join(' ')}`);
    } else {
      if (packages.manager === undefined) throw new Error('an upgrade was planned without a package manager');
      after = await upgradeWithRollback(upgradeContext(options, host, config, packages, packages.manager, plan), now);
      host.log.info(`upgrade to ${facts.target.version} complete.`);
    }
  }
  if (decision.action === 'upgrade') await saveState(host, options, after, withMark(after, decision.mark, host.clock.now()));
  return ExitStatus.ok;
};
