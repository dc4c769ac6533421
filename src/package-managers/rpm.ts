// The rpm database, shared by yum/dnf and zypper hosts: installed versions and rpm version strings.
import { rpmToSemver } from '../version/package-version.ts';
import semver from 'semver';
import { queryProblem } from './query-problem.ts';
import type { InstalledPackage, PackageManager } from './types.ts';
import { listedPaths, parseVerify } from './verify.ts';
import { SECOND, type Command, type CommandResult, type Step } from '../core/command.ts';

export const rpmInstalledQuery = (packages: readonly string[]): Command => ({
  argv: ['rpm', '-q', '--qf', '%{NAME}\\t%{EPOCH}:%{VERSION}-%{RELEASE}\\n', ...packages],
  timeoutMs: 30 * SECOND,
});

/**
 * rpm -q exits with the number of packages not installed and says so on stdout; errors go to stderr.
 * A name listed twice is an upgrade interrupted before the old version's erase: the newest entry is the package,
 * not configured, and the others are `stale`.
 */
export const parseRpmInstalled = (result: CommandResult): InstalledPackage[] | undefined => {
  if (result.exitCode === null || /^error:/m.test(result.stderr)) return undefined;
  const byName = new Map<string, string[]>();
  for (const line of result.stdout.split('\n')) {
    const [name, evr] = line.split('\t');
    if (name === undefined || evr === undefined || evr === '') continue;
    byName.set(name, [...(byName.get(name) ?? []), evr.replace(/^\(none\):/, '')]);
  }
  return [...byName].map(([name, versions]) => {
    const newest = versions.reduce((a, b) => (semverOrder(b, a) > 0 ? b : a));
    const stale = versions.filter((v) => v !== newest);
    return {
      name,
      packageVersion: newest,
      semver: rpmToSemver(newest),
      held: false,
      configured: stale.length === 0,
      ...(stale.length > 0 ? { stale } : {}),
    };
  });
};

const semverOrder = (a: string, b: string): number => {
  const [x, y] = [rpmToSemver(a), rpmToSemver(b)];
  return x === undefined || y === undefined ? a.localeCompare(b) : semver.compare(x, y);
};

/** Drops only the stale database entries; the files belong to the newer package, which rpm -V then checks. */
export const rpmRepairSteps = (installed: InstalledPackage): Step[] =>
  (installed.stale ?? []).map((version) => ({
    argv: ['rpm', '-e', '--justdb', '--nodeps', `${installed.name}-${version.replace(/^\d+:/, '')}`],
    timeoutMs: 2 * 60 * SECOND,
    purpose: `drop the stale rpm database entry ${installed.name}-${version} left by an interrupted upgrade`,
  }));

/** What yum/dnf and zypper hosts share: the rpm database, its file check, and its repair. */
export const rpmDatabase: Pick<PackageManager, 'database' | 'installed' | 'damaged' | 'files' | 'repairSteps'> = {
  database: 'rpm',
  installed: async (ask, packages) => {
    const query = rpmInstalledQuery(packages);
    const result = await ask.run(query);
    const installed = parseRpmInstalled(result);
    if (installed === undefined) ask.debug(`the rpm database could not answer: ${queryProblem(query, result)}.`);
    return installed;
  },
  damaged: async (ask, pkg) => parseVerify((await ask.run({ argv: ['rpm', '-V', pkg], timeoutMs: 5 * 60 * SECOND })).stdout),
  files: async (ask, pkg) => {
    const result = await ask.run({ argv: ['rpm', '-ql', pkg], timeoutMs: 30 * SECOND });
    return result.exitCode === 0 ? listedPaths(result.stdout) : undefined;
  },
  repairSteps: (installed) => rpmRepairSteps(installed),
};

/** `name-version-release.arch.rpm`: the epoch, if any, is not part of file names. */
export const isRpmFile = (fileName: string, pkg: string, packageVersion: string): boolean =>
  fileName.startsWith(`${pkg}-${packageVersion.replace(/^\d+:/, '')}.`) && fileName.endsWith('.rpm');
