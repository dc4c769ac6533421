// Act on an upgrade: refresh, plan again from what the repository now offers, keep the way back, install, restart, judge.
import { InstallError } from '../core/errors.ts';
import { sanitize } from '../core/text.ts';
import { planUpgrade, type UpgradePlan } from '../core/plan.ts';
import type { InProgress } from '../core/state.ts';
import { fields } from '../log/fields.ts';
import type { PackageContext } from './context.ts';
import { executeStep } from './execute.ts';
import { sampleAgent } from './health.ts';
import { availableVersions, installJudgedByDatabase } from './queries.ts';
import { secureRollback } from './rollback.ts';
import { afterFailedInstall, restartAgent, restartAndJudge } from './judge.ts';

/**
 * Refreshes the Teleport repository and plans again from the versions it offers now: the plan that runs is built by
 * the same pure function as the one dry-run prints. Throws InstallError when the target is still not offered.
 */
const refreshAndPlan = async (
  { run: { host }, manager, packages, input }: PackageContext,
  printed: UpgradePlan,
): Promise<{ plan: UpgradePlan; available: string[] }> => {
  const { pkg } = packages;
  host.log.info(
    `attempting ${manager.name} install ${pkg}=${printed.packageVersion}...`,
    fields({ installer: manager.name, package: pkg, target: input.target }),
  );
  await executeStep(host, printed.refresh);
  const { versions: available, problem } = await availableVersions(host, manager, pkg, input.repo);
  if (problem !== undefined) {
    throw new InstallError(
      `upgrade attempt failed for ${pkg}=${input.target}: ${problem}. Nothing was installed; fix the package manager's error above, then run teleport-upgrade again.`,
      fields({ package: pkg, target: input.target }),
    );
  }
  const plan = planUpgrade(manager, { ...input, available });
  if (!plan.resolved) {
    throw new InstallError(
      `upgrade attempt failed for ${pkg}=${input.target}: the ${manager.name} repositories do not offer that version (they offer ${sanitize(available.slice(0, 8).join(', '), 200) || 'no version of it'}). ` +
        `Check that the Teleport repository on this host serves the cluster's major version, then run teleport-upgrade again.`,
      fields({ package: pkg, target: input.target }),
    );
  }
  return { plan, available };
};

/** Runs the plan's install steps and confirms the package database has the target; throws InstallError otherwise. */
const install = async ({ run: { host }, manager, packages, input }: PackageContext, plan: UpgradePlan): Promise<void> => {
  const { pkg } = packages;
  const { now: installedNow, stepsOk } = await installJudgedByDatabase(host, manager, pkg, plan.install, input.target);
  if (!stepsOk && installedNow !== input.target) {
    throw new InstallError(
      `upgrade attempt failed for ${pkg}=${plan.packageVersion}; ${pkg} is ${installedNow === undefined ? 'not fully installed' : `still at ${installedNow}`}. The package manager's own error lines are above.`,
      fields({ package: pkg, target: input.target, installed: installedNow }),
    );
  }
  if (installedNow !== input.target) {
    throw new InstallError(
      `${manager.tool} reported success but ${pkg} is ${installedNow ?? 'not installed'} instead of ${input.target}; nothing was restarted.`,
      fields({ package: pkg, target: input.target, installed: installedNow }),
    );
  }
  host.log.info(
    `${pkg} ${packages.semver ?? 'unknown'} -> ${input.target} installed.`,
    fields({ package: pkg, from: packages.semver, to: input.target }),
  );
};

/** The whole upgrade; throws InstallError on failure (after settling it, or rolling it back). */
export const upgrade = async (pc: PackageContext, printed: UpgradePlan): Promise<void> => {
  const {
    run: { host },
    packages,
    input,
    state,
  } = pc;
  const { plan, available } = await refreshAndPlan(pc, printed);
  const previous = packages.installed;
  const before = input.agent === 'active' ? await sampleAgent(host) : undefined;
  if (previous === undefined || packages.semver === null) {
    host.log.warn(
      `the installed ${packages.pkg} version is unknown, so a failed upgrade cannot be rolled back.`,
      fields({ package: packages.pkg }),
    );
    await install(pc, plan);
    state.apply({ type: 'upgraded' });
    return restartAgent(pc, plan.restart, input.target, 'unknown');
  }
  const secured = await secureRollback(pc, previous.packageVersion, available);
  if (!secured.possible) {
    host.log.warn(
      `neither the repositories nor the package cache hold ${packages.pkg} ${previous.packageVersion} any more: if ${input.target} turns out unhealthy it cannot be rolled back automatically.`,
      fields({ package: packages.pkg, target: input.target }),
    );
  }
  const progress: InProgress = {
    purpose: 'upgrade',
    from: packages.semver,
    fromExact: previous.packageVersion,
    to: input.target,
    agentWasActive: input.agent === 'active',
    held: input.held,
    rollbackFile: secured.file ?? null,
    at: host.clock.now().toISOString(),
  };
  state.apply({ type: 'install-started', progress });
  await state.write();
  try {
    await install(pc, plan);
  } catch (error) {
    if (!(error instanceof InstallError)) throw error;
    await afterFailedInstall(pc, progress, secured.possible);
    throw error;
  }
  await restartAndJudge(pc, progress, before?.restarts ?? 0, plan.restart);
};
