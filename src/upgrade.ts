// Gathers what the upgrade plan needs from apt and systemd, and carries a plan out.
import { agentStateQuery, parseAgentState, type AgentState } from './agent-service.ts';
import { InstallError } from './errors.ts';
import { executeStep, executeSteps } from './execute.ts';
import type { Host } from './host/host.ts';
import type { PackageFacts } from './inspect-packages.ts';
import * as apt from './package-managers/apt.ts';
import type { PlanInput, Plan } from './plan.ts';

const findTeleportSource = async (host: Host): Promise<string | undefined> => {
  const result = await host.run(apt.sourcesQuery);
  const locations = result.exitCode === 0 ? apt.parseSourceLocations(result.stdout) : undefined;
  if (locations === undefined) {
    host.log.warn('apt-config did not say where apt keeps its sources; all package sources will be refreshed.');
    return undefined;
  }
  const parts = (await host.listDir(locations.parts)).filter((name) => /\.(list|sources)$/.test(name)).map((name) => `${locations.parts}${name}`);
  const files = await Promise.all([locations.list, ...parts].map(async (path) => ({ path, text: await host.readFile(path).catch(() => undefined) })));
  const source = apt.findTeleportSource(locations, files.filter((f): f is apt.SourceFile => f.text !== undefined));
  if (source === undefined) {
    host.log.warn(`no apt source for Teleport was found in ${locations.list} or ${locations.parts}; all package sources will be refreshed.`);
  }
  return source;
};

const availableVersions = async (host: Host, pkg: string): Promise<string[]> =>
  apt.parseAvailable((await host.run(apt.availableQuery(pkg))).stdout);

const agentState = async (host: Host): Promise<AgentState> => parseAgentState(await host.run(agentStateQuery));

/** Everything planUpgrade needs, queried in parallel; reads only, so dry-run calls it too. */
export const gatherPlanInput = async (host: Host, facts: PackageFacts, target: string): Promise<PlanInput> => {
  const [source, available, agent] = await Promise.all([findTeleportSource(host), availableVersions(host, facts.pkg), agentState(host)]);
  return { pkg: facts.pkg, target, available, source, held: facts.installed?.held ?? false, agent };
};

const installedVersion = async (host: Host, pkg: string): Promise<string | undefined> => {
  const result = await host.run(apt.installedQuery([pkg]));
  return apt.parseInstalled(result.stdout).find((p) => p.name === pkg && p.configured)?.semver;
};

/** Refresh, resolve the exact version, install, confirm, restart. Throws InstallError when any of it fails. */
export const performUpgrade = async (host: Host, facts: PackageFacts, target: string, input: PlanInput, plan: Plan): Promise<void> => {
  const { pkg } = facts;
  const before = facts.version ?? 'unknown';
  host.log.info(`attempting apt install ${pkg}=${plan.version}...`);
  await executeStep(host, plan.refresh);
  const available = await availableVersions(host, pkg);
  const exact = apt.pickVersion(target, available);
  if (exact === undefined) {
    throw new InstallError(
      `upgrade attempt failed for ${pkg}=${target}: the apt sources do not offer that version (they offer ${available.slice(0, 8).join(', ') || 'no version of it'}). ` +
        `Check that the Teleport apt repository on this host serves the cluster's major version, then run teleport-upgrade again.`,
    );
  }
  const ok = await executeSteps(host, apt.installSteps({ pkg, version: exact, held: input.held }));
  const now = await installedVersion(host, pkg);
  if (!ok) {
    throw new InstallError(`upgrade attempt failed for ${pkg}=${exact}; ${pkg} is ${now === undefined ? 'not fully installed' : `still at ${now}`}. The package manager's own error lines are above.`);
  }
  if (now !== target) {
    throw new InstallError(`apt reported success but ${pkg} is ${now ?? 'not installed'} instead of ${target}; nothing was restarted. Inspect with: apt-cache policy ${pkg}`);
  }
  host.log.info(`${pkg} ${before} -> ${target} installed.`);
  if (input.agent === 'no-systemd') {
    host.log.warn(`systemd is not running on this host, so teleport was not restarted; restart it to run ${target}.`);
    return;
  }
  host.log.info('gracefully restarting Teleport (if already running)');
  if (!(await executeSteps(host, plan.restart))) {
    throw new InstallError(`${pkg} ${target} is installed, but teleport.service could not be reloaded or restarted; the agent may still run ${before}. Check: systemctl status teleport.service`);
  }
};
