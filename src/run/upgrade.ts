// Gathers what the upgrade plan needs from the package manager and systemd, and carries a plan out.
import { agentStateQuery, parseAgentState, type AgentState } from '../agent/agent-service.ts';
import { InstallError, sanitize } from '../core/errors.ts';
import { executeStep, executeSteps, LOCK_WAIT } from './execute.ts';
import type { Host } from '../host/host.ts';
import type { PackageFacts } from './inspect-packages.ts';
import { pickVersion, type PackageManager, type SourceFile } from '../package-managers/types.ts';
import { parseVerify } from '../package-managers/verify.ts';
import type { Plan, PlanInput } from '../core/plan.ts';
import { direction } from '../version/semver.ts';

const readAll = async (host: Host, paths: readonly string[]): Promise<SourceFile[]> => {
  const files = await Promise.all(paths.map(async (path) => ({ path, text: await host.readFile(path).catch(() => undefined) })));
  return files.filter((f): f is SourceFile => f.text !== undefined);
};

/** The Teleport repository as the manager's own configuration names it, if it has one. */
export const teleportRepo = async (host: Host, manager: PackageManager): Promise<string | undefined> => {
  const result = await host.run(manager.repoQuery);
  const reads = manager.repoReads(result);
  const listed = await Promise.all(reads.dirs.map(async ({ path, endings }) =>
    (await host.listDir(path)).filter((name) => endings.some((e) => name.endsWith(e))).map((name) => `${path}${name}`)));
  return manager.findRepo(result, await readAll(host, [...reads.files, ...listed.flat()]));
};

const findRepo = async (host: Host, manager: PackageManager, facts: PackageFacts): Promise<string | undefined> => {
  const repo = facts.knownRepo === undefined ? await teleportRepo(host, manager) : facts.knownRepo.name;
  if (repo === undefined) host.log.warn(`no ${manager.tool} repository for Teleport was found; all repositories will be refreshed and searched.`);
  return repo;
};

/** The versions the repositories offer, or why the package manager could not say (shown, never read as "none"). */
const availableVersions = async (host: Host, manager: PackageManager, pkg: string, repo: string | undefined): Promise<{ versions: string[]; problem?: string }> => {
  const query = manager.availableQuery(pkg, repo);
  const answer = manager.parseAvailable(await host.run(query), pkg);
  return answer.ok ? { versions: answer.versions } : { versions: [], problem: `could not list the versions the ${manager.name} repositories offer: ${query.argv.join(' ')} ${answer.problem}` };
};

const isHeld = async (host: Host, manager: PackageManager, facts: PackageFacts): Promise<boolean> => {
  if (facts.installed?.held) return true;
  if (manager.heldQuery === undefined || manager.parseHeld === undefined) return false;
  return manager.parseHeld(await host.run(manager.heldQuery(facts.pkg)), facts.pkg);
};

const agentState = async (host: Host): Promise<AgentState> => parseAgentState(await host.run(agentStateQuery));

/** Names whoever holds the package manager's lock before the queries that wait for it (silently, for zypper). */
const nameLockHolder = async (host: Host, manager: PackageManager, pkg: string): Promise<void> => {
  if (manager.lockProbe === undefined) return;
  const result = await host.run(manager.lockProbe(pkg));
  const holder = `${result.stdout}\n${result.stderr}`.split('\n').find((line) => LOCK_WAIT.test(line));
  if (holder !== undefined) host.log.warn(`${manager.tool}: ${sanitize(holder.trim())} Waiting for it, within the bounds.`);
};

/** Everything planUpgrade needs, queried in parallel; reads only, so dry-run calls it too. */
export const gatherPlanInput = async (host: Host, manager: PackageManager, facts: PackageFacts, target: string): Promise<PlanInput> => {
  await nameLockHolder(host, manager, facts.pkg);
  const repo = await findRepo(host, manager, facts);
  const [available, held, agent] = await Promise.all([availableVersions(host, manager, facts.pkg, repo), isHeld(host, manager, facts), agentState(host)]);
  if (available.problem !== undefined) host.log.warn(`${available.problem}.`);
  return { pkg: facts.pkg, target, downgrade: direction(facts.version, target) === 'downgrade', available: available.versions, repo, held, agent };
};

export const installedVersion = async (host: Host, manager: PackageManager, pkg: string): Promise<string | undefined> =>
  manager.parseInstalled(await host.run(manager.installedQuery([pkg])))?.find((p) => p.name === pkg && p.configured)?.semver;

/** Refreshes the Teleport repository and resolves the target to the exact version it offers; throws InstallError when it does not. */
export const resolveTarget = async (host: Host, manager: PackageManager, pkg: string, input: PlanInput, plan: Plan): Promise<{ exact: string; available: string[] }> => {
  host.log.info(`attempting ${manager.name} install ${pkg}=${plan.version}...`);
  await executeStep(host, plan.refresh);
  const { versions: available, problem } = await availableVersions(host, manager, pkg, input.repo);
  if (problem !== undefined) {
    throw new InstallError(`upgrade attempt failed for ${pkg}=${input.target}: ${problem}. Nothing was installed; fix the package manager's error above, then run teleport-upgrade again.`);
  }
  const exact = pickVersion(manager, input.target, available);
  if (exact === undefined) {
    throw new InstallError(
      `upgrade attempt failed for ${pkg}=${input.target}: the ${manager.name} repositories do not offer that version (they offer ${sanitize(available.slice(0, 8).join(', '), 200) || 'no version of it'}). ` +
        `Check that the Teleport repository on this host serves the cluster's major version, then run teleport-upgrade again.`,
    );
  }
  return { exact, available };
};

/** Installs an exact version (or a package file) and confirms the database has it; throws InstallError otherwise. */
export const installExact = async (host: Host, manager: PackageManager, facts: PackageFacts, input: PlanInput, exact: string, target: string, file?: string): Promise<void> => {
  const { pkg } = facts;
  const ok = await executeSteps(host, manager.installSteps({ pkg, version: exact, held: input.held, downgrade: input.downgrade, repo: input.repo, ...(file === undefined ? {} : { file }) }));
  const now = await installedVersion(host, manager, pkg);
  if (!ok) {
    throw new InstallError(`upgrade attempt failed for ${pkg}=${exact}; ${pkg} is ${now === undefined ? 'not fully installed' : `still at ${now}`}. The package manager's own error lines are above.`);
  }
  if (now !== target) {
    throw new InstallError(`${manager.tool} reported success but ${pkg} is ${now ?? 'not installed'} instead of ${target}; nothing was restarted.`);
  }
  host.log.info(`${pkg} ${facts.version ?? 'unknown'} -> ${target} installed.`);
};

export const restartAgent = async (host: Host, input: PlanInput, plan: Plan, pkg: string, target: string, before: string): Promise<void> => {
  if (input.agent === 'no-systemd') {
    host.log.warn(`systemd is not running on this host, so teleport was not restarted; restart it to run ${target}.`);
    return;
  }
  host.log.info('gracefully restarting Teleport (if already running)');
  if (!(await executeSteps(host, plan.restart))) {
    throw new InstallError(`${pkg} ${target} is installed, but teleport.service could not be reloaded or restarted; the agent may still run ${before}. Check: systemctl status teleport.service`);
  }
};

/** Installed files that no longer match the package database (truncated, altered or missing). */
export const damagedFiles = async (host: Host, manager: PackageManager, pkg: string): Promise<string[]> =>
  parseVerify((await host.run(manager.verifyQuery(pkg))).stdout);

/** The same version again over damaged files, confirmed by a second verification, then a graceful restart. */
export const performReinstall = async (host: Host, manager: PackageManager, facts: PackageFacts, input: PlanInput, plan: Plan, steps: Plan['install']): Promise<void> => {
  const version = facts.version ?? 'unknown';
  if (!(await executeSteps(host, steps))) {
    throw new InstallError(`reinstalling ${facts.pkg} ${version} over its damaged files failed; the package manager's own error lines are above.`);
  }
  const still = await damagedFiles(host, manager, facts.pkg);
  if (still.length > 0) throw new InstallError(`${facts.pkg} was reinstalled but ${sanitize(still.join(', '), 300)} still do not match the package database.`);
  host.log.info(`${facts.pkg} ${version} reinstalled; its files match the package database again.`);
  await restartAgent(host, input, plan, facts.pkg, version, version);
};
