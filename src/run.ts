// run, dry-run and force: gather facts, decide, plan, then act (or stop and report, for dry-run).
import { parseConfig, type Config, type ConfigFiles } from './config/parse-config.ts';
import { decide, type Decision, type Facts } from './decide.ts';
import { ConfigError, ExitStatus, RefusedError, TargetError } from './errors.ts';
import { availability, explain } from './explain.ts';
import { FileRefusedError } from './host/files.ts';
import type { Host } from './host/host.ts';
import { inspectPackages, type PackageFacts } from './inspect-packages.ts';
import { planCommands, planUpgrade, type Plan, type PlanInput } from './plan.ts';
import { parseSchedule, type Schedule } from './schedule/parse-schedule.ts';
import { windowStatus } from './schedule/window.ts';
import { emptyState, parseState, serializeState, STATE_FILE, withMark, type State } from './state.ts';
import { performUpgrade, gatherPlanInput } from './upgrade.ts';
import { parseCriticalBody, parseTargetBody, type Target } from './version/target.ts';

export type Mode = 'run' | 'dry-run' | 'force';

export interface RunOptions {
  readonly mode: Mode;
  readonly configDir: string;
  readonly stateDir: string;
  /** dry-run only: print one JSON object on stdout. */
  readonly json: boolean;
}

const CONFIG_NAMES = ['endpoint', 'insecure', 'installer', 'package', 'debug', 'allow-prerelease'] as const;

const readConfig = async (host: Host, dir: string): Promise<Config> => {
  const texts = await Promise.all(CONFIG_NAMES.map((name) => host.readFile(`${dir}/${name}`).catch((error: unknown) => {
    if (error instanceof FileRefusedError) throw new ConfigError(`${error.message}; make it a small text file.`);
    throw error;
  })));
  return parseConfig(dir, Object.fromEntries(CONFIG_NAMES.map((name, i) => [name, texts[i]])) as unknown as ConfigFiles);
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

const fetchTarget = async (host: Host, config: Config): Promise<{ target: Target; critical: boolean }> => {
  const { base, insecure } = config.endpoint;
  if (insecure) host.log.warn(`fetching ${base}/version and /critical in insecure mode (not safe for production use).`);
  const answers = await host.fetchChannel(base);
  if (!answers.version.ok) {
    throw new TargetError(`failed to get target version from ${base}/version: ${answers.version.problem}. Cannot proceed with update check; check the endpoint file and that this host can reach the proxy.`);
  }
  const target = parseTargetBody(answers.version.body);
  if (typeof target === 'string') throw new TargetError(`${target}; not upgrading. Check that ${base} is a Teleport version channel.`);
  if (!answers.critical.ok) host.log.warn(`could not fetch ${base}/critical (${answers.critical.problem}); treating the upgrade as not critical.`);
  return { target, critical: answers.critical.ok && parseCriticalBody(answers.critical.body) };
};

interface Outcome {
  readonly state: State;
  readonly facts: Facts;
  readonly decision: Decision;
  readonly packages: PackageFacts;
  readonly plan?: { readonly input: PlanInput; readonly plan: Plan };
}

const dryRunJson = ({ facts, decision, plan }: Outcome): string =>
  `${JSON.stringify({
    installed: facts.installed,
    target: facts.target.kind === 'version' ? facts.target.version : null,
    critical: facts.critical,
    window: { state: facts.window.state, next: facts.window.next?.toISOString() ?? null },
    action: decision.action,
    reason: decision.reason,
    commands: plan === undefined ? [] : planCommands(plan.plan),
  })}\n`;

/** Gathers the facts (in parallel where independent), decides, and plans; changes nothing. */
const evaluate = async (options: RunOptions, host: Host, config: Config): Promise<Outcome> => {
  const [fetched, packages, schedule, state] = await Promise.all([
    fetchTarget(host, config),
    inspectPackages(config, options.configDir, host),
    readSchedule(host, options.configDir),
    readState(host, options.stateDir),
  ]);
  const facts: Facts = {
    forced: options.mode === 'force',
    installed: packages.version,
    target: fetched.target,
    critical: fetched.critical,
    window: windowStatus(schedule, host.clock.now()),
    markedUnhealthy: state.unhealthySince !== null,
    allowPrerelease: config.allowPrerelease,
  };
  if (packages.version === null && fetched.target.kind === 'version') {
    host.log.info(`failed to detect current version, assuming ${fetched.target.version} to be valid target.`);
  }
  const decision = decide(facts);
  if (decision.action === 'none' || fetched.target.kind !== 'version' || packages.manager === undefined) {
    return { state, facts, decision, packages };
  }
  const input = await gatherPlanInput(host, packages.manager, packages, fetched.target.version);
  return { state, facts, decision, packages, plan: { input, plan: planUpgrade(packages.manager, input) } };
};

const saveMark = async (host: Host, options: RunOptions, state: State, decision: Decision): Promise<void> => {
  if (decision.mark === 'keep') return;
  const path = `${options.stateDir}/${STATE_FILE}`;
  const next = withMark(state, decision.mark, host.clock.now());
  if (next.unhealthySince === state.unhealthySince) return;
  await host.writeFile(path, serializeState(next));
  host.log.debug(`${decision.mark === 'set' ? 'marked the agent unhealthy' : 'cleared the unhealthy mark'} in ${path}.`);
};

/** The whole run; returns the exit status. UpdaterErrors propagate to the CLI, which maps them. */
export const runUpdater = async (options: RunOptions, host: Host): Promise<number> => {
  const config = await readConfig(host, options.configDir);
  if (config.debug) host.log.enableDebug();
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
  host.log.info(dryRun && decision.mark === 'set' ? `${sentence} (dry run: the mark is not written.)` : sentence);

  if (dryRun) {
    if (plan !== undefined) {
      if (!plan.plan.resolved) host.log.warn(`the package manager's current metadata does not offer ${packages.pkg} ${plan.input.target}; run refreshes the Teleport repository first and fails if it is still not offered.`);
      for (const argv of planCommands(plan.plan)) host.log.info(`dry run: would run: ${argv.join(' ')}`);
    }
    if (options.json) host.stdout(dryRunJson(outcome));
    return ExitStatus.ok;
  }
  if (decision.action === 'upgrade' && facts.target.kind === 'version') {
    if (packages.installer === 'nop' || plan === undefined) {
      host.log.info(`attempting nop install ${packages.pkg}=${facts.target.version}... the nop installer changes nothing.`);
      for (const argv of plan === undefined ? [] : planCommands(plan.plan)) host.log.info(`nop: would run: ${argv.join(' ')}`);
    } else {
      if (packages.manager === undefined) throw new Error('an upgrade was planned without a package manager');
      await performUpgrade(host, packages.manager, packages, plan.input, plan.plan);
      host.log.info(`upgrade to ${facts.target.version} complete.`);
    }
  }
  await saveMark(host, options, outcome.state, decision);
  return ExitStatus.ok;
};
