// run, dry-run and force: gather facts, decide, plan, then act (or stop and report, for dry-run).
import { CONFIG_NAMES, parseConfig, type Config, type ConfigFiles } from './config/parse-config.ts';
import { decide, type Decision, type Facts } from './decide.ts';
import { ConfigError, ExitStatus, InstallError, RefusedError, TargetError } from './errors.ts';
import { availability, explain } from './explain.ts';
import { FileRefusedError } from './host/files.ts';
import { describeHolder } from './host/lock.ts';
import type { Host } from './host/host.ts';
import { inspectPackages, type PackageFacts } from './inspect-packages.ts';
import { planCommands, planUpgrade, type Plan, type PlanInput } from './plan.ts';
import { parseSchedule, type Schedule } from './schedule/parse-schedule.ts';
import { windowStatus } from './schedule/window.ts';
import { emptyState, parseState, serializeState, STATE_FILE, withMark, type State } from './state.ts';
import { damagedFiles, gatherPlanInput, performReinstall } from './upgrade.ts';
import { resumeInterrupted, upgradeWithRollback, type UpgradeContext } from './safe-upgrade.ts';
import { executeSteps } from './execute.ts';
import type { PackageManager, Step } from './package-managers/types.ts';
import { parsePingBody, type Cluster } from './version/cluster.ts';
import { parseCriticalBody, parseTargetBody, type Target } from './version/target.ts';

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

interface Outcome {
  /** Steps that finish an interrupted transaction (dry-run: would run; run: already ran). */
  readonly repair: readonly Step[];
  /** Steps that reinstall the installed version over damaged files. */
  readonly reinstall: readonly Step[];
  readonly state: State;
  readonly facts: Facts;
  readonly decision: Decision;
  readonly packages: PackageFacts;
  readonly plan?: { readonly input: PlanInput; readonly plan: Plan };
}

const dryRunJson = (outcome: Outcome): string => {
  const { facts, decision } = outcome;
  return `${JSON.stringify({
    installed: facts.installed,
    target: facts.target.kind === 'version' ? facts.target.version : null,
    critical: facts.critical,
    window: { state: facts.window.state, next: facts.window.next?.toISOString() ?? null },
    action: decision.action,
    reason: decision.reason,
    commands: outcomeCommands(outcome),
  })}\n`;
};

/** Every argv `run` executes, in order: repair, then the upgrade or the reinstall and its restart. */
const outcomeCommands = ({ repair, reinstall, plan }: Outcome): string[][] => [
  ...repair.map((s) => [...s.argv]),
  ...(reinstall.length > 0 ? [...reinstall, ...(plan?.plan.restart ?? [])].map((s) => [...s.argv]) : plan === undefined ? [] : planCommands(plan.plan)),
];

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
  const { packages, repair } = await repairInterrupted(options, host, config, inspected);
  const state = await settleInterrupted(options, host, config, packages, stored);
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
    host.log.warn(`${packages.pkg} ${installed.version} is damaged: ${damaged.slice(0, 5).join(', ')} no longer match the package database; the same version is reinstalled.`);
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
    host.log.warn(`a previous run was interrupted while upgrading ${packages.pkg} ${progress.from} -> ${progress.to}; run would judge the agent first and roll back if it is unhealthy.`);
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
  const config = await readConfig(host, options.configDir);
  if (config.debug) host.log.enableDebug();
  if (options.mode === 'dry-run') return runLocked(options, host, config);
  const lock = await host.lock(options.lockPath, `teleport-upgrade ${options.mode}`);
  if (!lock.acquired) {
    host.log.info(`another teleport-upgrade is in progress: ${describeHolder(lock.holder)} holds ${options.lockPath}; leaving it to finish. Nothing was done.`);
    return ExitStatus.ok;
  }
  if (lock.tookOver !== undefined) host.log.warn(`took over ${options.lockPath} from ${lock.tookOver}.`);
  try {
    return await runLocked(options, host, config);
  } finally {
    await lock.release();
  }
};

/** Everything after the lock (dry-run takes none). */
const runLocked = async (options: RunOptions, host: Host, config: Config): Promise<number> => {
  const outcome = await evaluate(options, host, config);
  const { facts, decision, packages, plan } = outcome;
  const dryRun = options.mode === 'dry-run';

  const available = decision.reason === 'up-to-date' || decision.reason === 'no-target' || decision.reason === 'managed-by-v2' ? undefined : availability(facts);
  if (available !== undefined) host.log.info(available);
  const sentence = explain(decision, facts, options.configDir);
  if (decision.exitStatus !== 0) {
    if (dryRun && options.json) host.stdout(dryRunJson(outcome));
    throw new RefusedError(sentence);
  }
  const said = dryRun && decision.mark === 'set' ? `${sentence} (dry run: the mark is not written.)` : sentence;
  if (decision.reason === 'known-bad') host.log.warn(said); else host.log.info(said);
  if (decision.action === 'upgrade' && facts.cluster.kind === 'unknown') {
    host.log.warn(`could not learn the cluster's version (${facts.cluster.problem}); installing without the version-skew check.`);
  }

  if (dryRun) {
    if (plan !== undefined && outcome.reinstall.length === 0 && !plan.plan.resolved) {
      host.log.warn(`the package manager's current metadata does not offer ${packages.pkg} ${plan.input.target}; run refreshes the Teleport repository first and fails if it is still not offered.`);
    }
    for (const argv of outcomeCommands(outcome)) host.log.info(`dry run: would run: ${argv.join(' ')}`);
    if (options.json) host.stdout(dryRunJson(outcome));
    return ExitStatus.ok;
  }
  // The decision's mark applies at once, except for an upgrade: it clears the mark only once it has succeeded.
  const cleared = clearBadTarget(host, outcome.state, decision, facts);
  const now = decision.action === 'upgrade' ? cleared : withMark(cleared, decision.mark, host.clock.now());
  await saveState(host, options, outcome.state, now);
  let after = now;
  if (outcome.reinstall.length > 0 && packages.manager !== undefined && plan !== undefined) {
    await performReinstall(host, packages.manager, packages, plan.input, plan.plan, outcome.reinstall);
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
