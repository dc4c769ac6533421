// Gather: one snapshot of the facts (config, target, critical, cluster, packages, schedule, state); it changes nothing.
import { CONFIG_NAMES, FLEET_LOCK_NAMES, parseConfig, POLICY_NAMES, type Config, type ConfigFiles } from '../config/parse-config.ts';
import type { Decision, Facts } from '../core/decide.ts';
import { ConfigError, TargetError } from '../core/errors.ts';
import { sanitize } from '../core/text.ts';
import { filesCheck, MAX_RECORDED_FILES, type FilesCheck, type FilesRecord } from '../core/files-check.ts';
import { snapshotOf, wantsVerify, type PlanFacts, type Snapshot } from '../core/planned.ts';
import type { PackageManager } from '../package-managers/types.ts';
import { FileRefusedError } from '../host/files.ts';
import type { Host } from '../host/host.ts';
import { fields } from '../log/fields.ts';
import { parseSchedule, type Schedule } from '../schedule/parse-schedule.ts';
import { policyWarnings } from '../schedule/windows.ts';
import { parsePingBody, type Cluster } from '../version/cluster.ts';
import { parseCriticalBody, parseTargetBody, type Target } from '../version/target.ts';
import type { RunContext } from './context.ts';
import { askOf, damagedFiles, gatherPlanInput } from './queries.ts';
import type { State } from '../core/state.ts';
import type { Recovered } from './recover.ts';

/** The config dir's files, validated; a ConfigError (exit 2) names the file, the value and the fix. */
export const readConfig = async (host: Host, dir: string): Promise<Config> => {
  const names = [...CONFIG_NAMES, ...POLICY_NAMES, ...FLEET_LOCK_NAMES];
  const texts = await Promise.all(
    names.map((name) =>
      host.readFile(`${dir}/${name}`).catch((error: unknown) => {
        if (error instanceof FileRefusedError) throw new ConfigError(`${error.message}; make it a small text file.`);
        throw error;
      }),
    ),
  );
  // The metrics file's directory is node_exporter's, not checked here: its owner could otherwise stop every run, a
  // critical upgrade included. Writing the metrics says what is wrong with it, as a warning.
  return parseConfig(dir, Object.fromEntries(names.map((name, i) => [name, texts[i]])) as ConfigFiles);
};

/** The agent's exported windows; a file that is refused (a link, too large) is an invalid schedule. */
export const readSchedule = async (host: Host, dir: string): Promise<Schedule> => {
  try {
    return parseSchedule(await host.readFile(`${dir}/schedule`, { noFollow: true }));
  } catch (error) {
    if (error instanceof FileRefusedError) return { kind: 'invalid', problem: error.message };
    throw error;
  }
};

export interface ChannelFacts {
  readonly target: Target;
  readonly critical: boolean;
  readonly cluster: Cluster;
}

/** The channel's /version and /critical and the proxy's /webapi/ping; a target that cannot be had is a TargetError. */
export const fetchChannel = async ({ host, config }: RunContext): Promise<ChannelFacts> => {
  const { base, ping, insecure } = config.endpoint;
  if (insecure)
    host.log.warn(`fetching ${base}/version and /critical in insecure mode (not safe for production use).`, fields({ url: base }));
  const answers = await host.fetchChannel(base, ping);
  if (!answers.version.ok) {
    throw new TargetError(
      `failed to get target version from ${base}/version: ${answers.version.problem}. Cannot proceed with update check; check the endpoint file and that this host can reach the proxy.`,
      fields({ url: `${base}/version` }),
    );
  }
  const target = parseTargetBody(answers.version.body);
  if (typeof target === 'string')
    throw new TargetError(
      `${target}; not upgrading. Check that ${base} is a Teleport version channel.`,
      fields({ url: `${base}/version` }),
    );
  if (!answers.critical.ok)
    host.log.warn(
      `could not fetch ${base}/critical (${answers.critical.problem}); treating the upgrade as not critical.`,
      fields({ url: `${base}/critical` }),
    );
  const cluster: Cluster = answers.ping.ok
    ? parsePingBody(answers.ping.body)
    : { kind: 'unknown', problem: `${ping}: ${answers.ping.problem}` };
  return { target, critical: answers.critical.ok && parseCriticalBody(answers.critical.body), cluster };
};

/**
 * The network half of the snapshot, started before recover so that the proxy answers while the package databases are
 * asked; gather awaits it. A failure is kept for gather to throw.
 */
export const startFetch = (ctx: RunContext): Promise<ChannelFacts> => {
  const fetching = fetchChannel(ctx);
  fetching.catch(() => undefined);
  return fetching;
};

/** The snapshot: the channel's answers, the schedule, and the packages and the state as recover left them. */
export const gather = async (ctx: RunContext, recovered: Recovered, state: State, channel: Promise<ChannelFacts>): Promise<Snapshot> => {
  const [fetched, schedule] = await Promise.all([channel, readSchedule(ctx.host, ctx.options.configDir)]);
  const { packages } = recovered;
  if (packages.semver === null && fetched.target.kind === 'version') {
    ctx.host.log.info(
      `failed to detect current version, assuming ${fetched.target.version} to be valid target.`,
      fields({ package: packages.pkg, target: fetched.target.version }),
    );
  }
  const now = ctx.host.clock.now();
  for (const warning of policyWarnings(schedule, ctx.config, now, `${ctx.options.configDir}/window`)) ctx.host.log.warn(warning);
  return snapshotOf({ config: ctx.config, ...fetched, packages, schedule, state }, now);
};

/** What this decision's plan needs from the package manager and systemd, and only that: nothing for most decisions. */
export const gatherForPlan = async ({ host }: RunContext, snapshot: Snapshot, facts: Facts, decision: Decision): Promise<PlanFacts> => {
  const { packages } = snapshot;
  const { manager, installed } = packages;
  if (manager === undefined) return {};
  if (decision.action === 'upgrade' && snapshot.target.kind === 'version')
    return { input: await gatherPlanInput(host, manager, packages, snapshot.target.version) };
  if (!wantsVerify(snapshot, facts, decision) || installed === undefined || packages.semver === null) return {};
  const {
    filesCheck: check,
    damaged,
    verified,
  } = await checkFiles(host, manager, packages.pkg, installed.packageVersion, snapshot.state.verified);
  if (damaged.length === 0) return { filesCheck: check, damaged, ...(verified === undefined ? {} : { verified }) };
  host.log.warn(
    `${packages.pkg} ${installed.packageVersion} is damaged: ${sanitize(damaged.slice(0, 5).join(', '), 300)} no longer match the package database; the same version is reinstalled.`,
    fields({ package: packages.pkg, installed: packages.semver }),
  );
  return { filesCheck: check, damaged, input: await gatherPlanInput(host, manager, packages, packages.semver) };
};

/**
 * The check of the installed files a run that installs nothing makes. Skipped while their metadata shows no change since
 * a full check less than a day ago (see filesCheck); else every file is hashed (dpkg --verify, rpm -V). A full check
 * that finds them intact yields the record of what they looked like, fingerprinted before they were hashed, so that a
 * change during the check shows at the next run.
 */
const checkFiles = async (
  host: Host,
  manager: PackageManager,
  pkg: string,
  packageVersion: string,
  record: FilesRecord | null,
): Promise<{ filesCheck: FilesCheck; damaged: string[]; verified?: FilesRecord }> => {
  const current = record === null ? [] : await host.fingerprints(record.files.map((file) => file.path));
  const at = host.clock.now();
  const check = filesCheck(record, { pkg, packageVersion }, current, at);
  if (!check.full) {
    host.log.debug(
      `${pkg}'s files are as they were at their full check at ${check.since.toISOString()}; the next full check is due at ${check.due.toISOString()}.`,
      fields({ package: pkg }),
    );
    return { filesCheck: check, damaged: [] };
  }
  host.log.debug(`checking every file of ${pkg} against the package database: ${check.why}.`, fields({ package: pkg }));
  const listed = await manager.files(askOf(host), pkg);
  const prints = listed === undefined ? undefined : (await host.fingerprints(listed)).filter((print) => print !== undefined);
  const damaged = await damagedFiles(host, manager, pkg);
  const verified: FilesRecord | undefined =
    damaged.length === 0 && prints !== undefined && prints.length <= MAX_RECORDED_FILES
      ? { pkg, packageVersion, at: at.toISOString(), files: prints }
      : undefined;
  return { filesCheck: check, damaged, ...(verified === undefined ? {} : { verified }) };
};
