// What the package manager and systemd say, asked through the host: reads only, so dry-run asks them too.
import { agentStateQuery, parseAgentState, type AgentState } from '../agent/agent-service.ts';
import { sanitize } from '../core/errors.ts';
import type { PlanInput } from '../core/plan.ts';
import type { Host } from '../host/host.ts';
import { fields } from '../log/fields.ts';
import type { PackageManager, SourceFile } from '../package-managers/types.ts';
import { parseVerify } from '../package-managers/verify.ts';
import { direction } from '../version/semver.ts';
import { LOCK_WAIT } from './execute.ts';
import type { PackageFacts } from '../core/package-facts.ts';

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

/** The Teleport repository, asked of the manager unless detection already did. */
export const knownOrTeleportRepo = async (host: Host, manager: PackageManager, facts: PackageFacts): Promise<string | undefined> =>
  facts.knownRepo === undefined ? teleportRepo(host, manager) : facts.knownRepo.name;

const findRepo = async (host: Host, manager: PackageManager, facts: PackageFacts): Promise<string | undefined> => {
  const repo = await knownOrTeleportRepo(host, manager, facts);
  if (repo === undefined) host.log.warn(`no ${manager.tool} repository for Teleport was found; all repositories will be refreshed and searched.`, fields({ installer: manager.name }));
  return repo;
};

/** The package versions the repositories offer, or why the package manager could not say (shown, never read as "none"). */
export const availableVersions = async (host: Host, manager: PackageManager, pkg: string, repo: string | undefined): Promise<{ versions: string[]; problem?: string }> => {
  const query = manager.availableQuery(pkg, repo);
  const answer = manager.parseAvailable(await host.run(query), pkg);
  return answer.ok ? { versions: answer.versions } : { versions: [], problem: `could not list the versions the ${manager.name} repositories offer: ${query.argv.join(' ')} ${answer.problem}` };
};

/** Whether the v1 version lock holds the package back: an apt hold, a zypper lock, a yum exclude in the Teleport repository. */
export const isHeld = async (host: Host, manager: PackageManager, facts: PackageFacts, repo: string | undefined): Promise<boolean> => {
  if (facts.installed?.held) return true;
  const query = manager.heldQuery?.(facts.pkg, repo);
  if (query === undefined || manager.parseHeld === undefined) return false;
  return manager.parseHeld(await host.run(query), facts.pkg);
};

export const agentState = async (host: Host): Promise<AgentState> => parseAgentState(await host.run(agentStateQuery));

/** Names whoever holds the package manager's lock before the queries that wait for it (silently, for zypper). */
const nameLockHolder = async (host: Host, manager: PackageManager, pkg: string): Promise<void> => {
  if (manager.lockProbe === undefined) return;
  const result = await host.run(manager.lockProbe(pkg));
  const holder = `${result.stdout}\n${result.stderr}`.split('\n').find((line) => LOCK_WAIT.test(line));
  if (holder !== undefined) host.log.warn(`${manager.tool}: ${sanitize(holder.trim())} Waiting for it, within the bounds.`);
};

/** Everything a plan needs, queried in parallel where independent. */
export const gatherPlanInput = async (host: Host, manager: PackageManager, facts: PackageFacts, target: string): Promise<PlanInput> => {
  await nameLockHolder(host, manager, facts.pkg);
  const repo = await findRepo(host, manager, facts);
  const [available, held, agent] = await Promise.all([availableVersions(host, manager, facts.pkg, repo), isHeld(host, manager, facts, repo), agentState(host)]);
  if (available.problem !== undefined) host.log.warn(`${available.problem}.`, fields({ package: facts.pkg }));
  return { pkg: facts.pkg, target, downgrade: direction(facts.semver, target) === 'downgrade', available: available.versions, repo, held, agent };
};

/** The installed version as semver, when the package is fully installed and configured. */
export const installedSemver = async (host: Host, manager: PackageManager, pkg: string): Promise<string | undefined> =>
  manager.parseInstalled(await host.run(manager.installedQuery([pkg])))?.find((p) => p.name === pkg && p.configured)?.semver;

/** Installed files that no longer match the package database (truncated, altered or missing). */
export const damagedFiles = async (host: Host, manager: PackageManager, pkg: string): Promise<string[]> =>
  parseVerify((await host.run(manager.verifyQuery(pkg))).stdout);
