// What the package manager and systemd say, asked through the host: reads only, so dry-run asks them too.
import { agentStateQuery, parseAgentState, type AgentState } from '../agent/agent-service.ts';
import type { Step } from '../core/command.ts';
import type { PlanInput } from '../core/plan.ts';
import type { Host } from '../host/host.ts';
import { fields } from '../log/fields.ts';
import type { Ask, PackageManager } from '../package-managers/types.ts';
import { direction } from '../version/semver.ts';
import type { PackageFacts } from '../core/package-facts.ts';
import { executeSteps } from './execute.ts';

/** The host as a package manager may ask it. */
export const askOf = (host: Host): Ask => ({
  run: (command) => host.run(command),
  readFile: (path) => host.readFile(path).catch(() => undefined),
  listDir: (path) => host.listDir(path),
  warn: (message) => host.log.warn(message),
  debug: (message) => host.log.debug(message),
});

/** The Teleport repository, asked of the manager unless detection already did. */
export const knownOrTeleportRepo = async (host: Host, manager: PackageManager, facts: PackageFacts): Promise<string | undefined> =>
  facts.knownRepo === undefined ? manager.teleportRepo(askOf(host)) : facts.knownRepo.name;

const findRepo = async (host: Host, manager: PackageManager, facts: PackageFacts): Promise<string | undefined> => {
  const repo = await knownOrTeleportRepo(host, manager, facts);
  if (repo === undefined)
    host.log.warn(
      `no ${manager.tool} repository for Teleport was found; all repositories will be refreshed and searched.`,
      fields({ installer: manager.name }),
    );
  return repo;
};

/** The package versions the repositories offer, or why the package manager could not say (shown, never read as "none"). */
export const availableVersions = async (
  host: Host,
  manager: PackageManager,
  pkg: string,
  repo: string | undefined,
): Promise<{ versions: string[]; problem?: string }> => {
  const answer = await manager.available(askOf(host), pkg, repo);
  return answer.ok
    ? { versions: answer.versions }
    : { versions: [], problem: `could not list the versions the ${manager.name} repositories offer: ${answer.problem}` };
};

/** Whether the v1 version lock holds the package back: an apt hold, a zypper lock, a yum exclude in the Teleport repository. */
export const isHeld = (host: Host, manager: PackageManager, facts: PackageFacts, repo: string | undefined): Promise<boolean> =>
  manager.held(askOf(host), facts.installed, facts.pkg, repo);

export const agentState = async (host: Host): Promise<AgentState> => parseAgentState(await host.run(agentStateQuery));

/**
 * Everything a plan needs. The manager is asked one thing at a time (two zypper queries at once would find each other
 * holding the zypp lock); systemd alongside.
 */
export const gatherPlanInput = async (host: Host, manager: PackageManager, facts: PackageFacts, target: string): Promise<PlanInput> => {
  const asking = agentState(host);
  const repo = await findRepo(host, manager, facts);
  const available = await availableVersions(host, manager, facts.pkg, repo);
  const held = await isHeld(host, manager, facts, repo);
  const agent = await asking;
  if (available.problem !== undefined) host.log.warn(`${available.problem}.`, fields({ package: facts.pkg }));
  return {
    pkg: facts.pkg,
    target,
    downgrade: direction(facts.semver, target) === 'downgrade',
    available: available.versions,
    repo,
    held,
    agent,
  };
};

/** The installed version as semver, when the package is fully installed and configured. */
export const installedSemver = async (host: Host, manager: PackageManager, pkg: string): Promise<string | undefined> =>
  (await manager.installed(askOf(host), [pkg]))?.find((p) => p.name === pkg && p.configured)?.semver;

/** Installed files that no longer match the package database (truncated, altered or missing). */
export const damagedFiles = (host: Host, manager: PackageManager, pkg: string): Promise<string[]> => manager.damaged(askOf(host), pkg);

/**
 * Runs install steps and judges them by the package database afterwards: a manager's exit status can be wrong either
 * way (zypper exits 106 after installing when some other repository could not be reached). Returns what the database
 * says is installed now (configured) and whether the steps all succeeded; a failure that the database contradicts is a
 * warning.
 */
export const installJudgedByDatabase = async (
  host: Host,
  manager: PackageManager,
  pkg: string,
  steps: readonly Step[],
  want: string,
): Promise<{ now: string | undefined; stepsOk: boolean }> => {
  const stepsOk = await executeSteps(host, steps);
  const now = await installedSemver(host, manager, pkg);
  if (!stepsOk && now === want) {
    host.log.warn(
      `${manager.tool} reported a failure, but the package database says ${pkg} ${want} is installed, which is what counts.`,
      fields({ package: pkg, installed: now }),
    );
  }
  return { now, stepsOk };
};
