// Act on damaged files: the same version again, with an in-flight record, verified, then a graceful restart.
import { InstallError } from '../core/errors.ts';
import { sanitize } from '../core/text.ts';
import type { ReinstallPlan } from '../core/plan.ts';
import type { InProgress } from '../core/state.ts';
import { fields } from '../log/fields.ts';
import type { PackageContext } from './context.ts';
import { executeSteps } from './execute.ts';
import { damagedFiles } from './queries.ts';
import { restartAgent } from './judge.ts';

/**
 * Installs the same version again over damaged files and checks them once more. The in-flight record leaves a run
 * killed half-way what it needs: the hold to put back.
 */
export const reinstall = async (pc: PackageContext, plan: ReinstallPlan): Promise<void> => {
  const {
    run: { host },
    manager,
    packages,
    input,
    state,
  } = pc;
  const semver = packages.semver ?? 'unknown';
  const progress: InProgress = {
    purpose: 'reinstall',
    from: semver,
    fromExact: plan.packageVersion,
    to: semver,
    agentWasActive: input.agent === 'active',
    held: input.held,
    rollbackFile: null,
    at: host.clock.now().toISOString(),
  };
  state.apply({ type: 'install-started', progress });
  await state.write();
  try {
    if (!(await executeSteps(host, plan.install))) {
      throw new InstallError(
        `reinstalling ${packages.pkg} ${semver} over its damaged files failed; the package manager's own error lines are above.`,
      );
    }
    const still = await damagedFiles(host, manager, packages.pkg);
    if (still.length > 0)
      throw new InstallError(
        `${packages.pkg} was reinstalled but ${sanitize(still.join(', '), 300)} still do not match the package database.`,
      );
    host.log.info(
      `${packages.pkg} ${semver} reinstalled; its files match the package database again.`,
      fields({ package: packages.pkg, installed: semver }),
    );
    await restartAgent(pc, plan.restart, semver, semver);
  } finally {
    state.apply({ type: 'install-ended' });
    await state.write();
  }
};
