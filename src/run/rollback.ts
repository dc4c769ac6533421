// The way back: a copy of the installed version's package kept before an upgrade, and the rollback that installs it.
import { AGENT_UNIT } from '../agent/agent-service.ts';
import type { Step } from '../core/command.ts';
import { InstallError, UnusablePathError } from '../core/errors.ts';
import { planRollback } from '../core/plan.ts';
import type { InProgress } from '../core/state.ts';
import { fields } from '../log/fields.ts';
import type { PackageContext } from './context.ts';
import { executeStep, executeSteps } from './execute.ts';
import { askOf, installJudgedByDatabase } from './queries.ts';

/**
 * A copy of the installed package version's file in `dir`: the one the package manager kept (apt's cache) or else one
 * downloaded from the repository when it offers it. Only the latest copy is kept; a failed download leaves nothing.
 */
const keepCopy = async (
  { run: { host }, manager, packages, input }: PackageContext,
  dir: string,
  previous: string,
  offered: boolean,
): Promise<string | undefined> => {
  await host.resetDir(dir);
  const find = async () =>
    (await host.listDir(dir, { recursive: true })).find((path) =>
      manager.isPackageFile(path.split('/').at(-1) ?? '', packages.pkg, previous),
    );
  const cached = await manager.cachedFile(askOf(host), packages.pkg, previous);
  if (cached !== undefined) {
    await host.copyFile(cached, `${dir}/${cached.split('/').at(-1)}`);
  } else if (offered) {
    const download = await manager.downloadStep(askOf(host), { pkg: packages.pkg, packageVersion: previous, repo: input.repo }, dir);
    // A download that failed half-way (a full disk) may leave a truncated file under the right name.
    if (!(await executeStep(host, { ...download, mayFail: true })).ok) {
      await host.resetDir(dir);
      return undefined;
    }
  }
  const kept = await find();
  if (kept === undefined) return undefined;
  // The in-flight record will name the copy: it must not be lost, or found empty, after a power cut.
  await host.persist(`${dir}/${kept}`);
  return `${dir}/${kept}`;
};

/**
 * Makes sure the installed package version can be put back without the repository: a copy of its file in the state
 * dir. Without one (no room for it, say), the upgrade goes on with a warning. Returns the copy; without one, whether the
 * repository still offers the version.
 */
export const secureRollback = async (
  pc: PackageContext,
  previous: string,
  available: readonly string[],
): Promise<{ file?: string; possible: boolean }> => {
  const {
    run: { host, options },
    packages,
  } = pc;
  const dir = `${options.stateDir}/rollback`;
  const offered = available.includes(previous);
  const from = offered ? 'a rollback would reinstall it from the repository' : 'the repository no longer offers it either';
  try {
    const file = await keepCopy(pc, dir, previous, offered);
    if (file !== undefined) {
      host.log.info(`kept a copy of ${packages.pkg} ${previous} for a rollback: ${file}`, fields({ package: packages.pkg, path: file }));
      return { file, possible: true };
    }
    if (offered) host.log.warn(`could not keep a copy of ${packages.pkg} ${previous}; ${from}.`, fields({ package: packages.pkg }));
  } catch (error) {
    if (!(error instanceof UnusablePathError)) throw error;
    host.log.warn(
      `could not keep a copy of ${packages.pkg} ${previous} in ${dir}: ${error.reason}; ${from}. The upgrade goes on.`,
      fields({ package: packages.pkg, path: dir }),
    );
    // Whatever part of the copy was written goes.
    await host.resetDir(dir).catch(() => undefined);
  }
  return { possible: offered };
};

/** The previous version back, then a restart (a broken agent is restarted, not reloaded). Throws when it cannot be installed. */
export const rollBack = async ({ run: { host }, manager, packages, input, state }: PackageContext, progress: InProgress): Promise<void> => {
  const { pkg } = packages;
  const versions = fields({ package: pkg, from: progress.to, to: progress.from });
  host.log.error(`rolling back ${pkg} to ${progress.from}.`, versions);
  // The record says whether the package was held: after an interrupted install it may be unheld now.
  const planFrom = (file: string | null) =>
    planRollback(
      manager,
      { pkg, packageVersion: progress.fromExact, semver: progress.from, held: progress.held, repo: input.repo, file },
      progress.agentWasActive && input.agent !== 'no-systemd',
    );
  const plan = planFrom(progress.rollbackFile);
  // Judged by the package database: with the repository unreachable, zypper installs the kept file and exits 106.
  const install = (steps: readonly Step[]) => installJudgedByDatabase(host, manager, pkg, steps, progress.from);
  let installedNow = (await install(plan.install)).now;
  if (installedNow !== progress.from && progress.rollbackFile !== null && input.available.includes(progress.fromExact)) {
    // A copy that cannot be installed (emptied by a power cut, damaged on disk): the repository still offers the version.
    host.log.warn(
      `the kept copy ${progress.rollbackFile} could not be installed; installing ${pkg} ${progress.fromExact} from the repository instead.`,
      versions,
    );
    installedNow = (await install(planFrom(null).install)).now;
  }
  if (installedNow !== progress.from) {
    throw new InstallError(
      `the rollback of ${pkg} to ${progress.from} failed; it is ${installedNow ?? 'not fully installed'}. The package manager's own error lines are above. ` +
        `Install ${pkg} ${progress.from} by hand and check: systemctl status ${AGENT_UNIT}`,
      { ...versions, ...fields({ installed: installedNow }) },
    );
  }
  state.apply({ type: 'rolled-back' });
  host.log.info(`${pkg} ${progress.to} -> ${progress.from} rolled back.`, versions);
  if (!(await executeSteps(host, plan.restart)))
    throw new InstallError(
      `${pkg} ${progress.from} is back, but ${AGENT_UNIT} could not be restarted. Check: systemctl status ${AGENT_UNIT}`,
    );
};
