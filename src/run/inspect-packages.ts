// Finds the installer, the Teleport package and its installed version from the package databases.
import { TELEPORT_PACKAGES, type Config } from '../config/parse-config.ts';
import type { PackageFacts } from '../core/package-facts.ts';
import { ConfigError } from '../core/errors.ts';
import { quote } from '../core/text.ts';
import type { Host } from '../host/host.ts';
import { aptManager } from '../package-managers/apt.ts';
import { chooseRpmManager } from '../package-managers/choose-rpm-manager.ts';
import { managerFor } from '../package-managers/index.ts';
import { yumManager } from '../package-managers/yum.ts';
import { zypperManager } from '../package-managers/zypper.ts';
import { askOf } from './queries.ts';
import type { InstalledPackage, PackageManager } from '../package-managers/types.ts';
import { SECOND } from '../core/command.ts';
import { fields } from '../log/fields.ts';
import { strictSemver } from '../version/semver.ts';

/** The first installed candidate according to the manager's database: undefined when none is installed, null when the database cannot answer. */
const query = async (host: Host, manager: PackageManager, candidates: readonly string[]): Promise<InstalledPackage | undefined | null> => {
  const installed = await manager.installed(askOf(host), candidates);
  if (installed === undefined) return null;
  return candidates.map((name) => installed.find((p) => p.name === name)).find((p) => p !== undefined);
};

/**
 * The manager of an rpm host, by the rules of chooseRpmManager. Only a host with both yum/dnf and zypper needs their
 * repositories and /etc/os-release asked; it is told at info level which rule decided.
 */
const rpmManager = async (host: Host): Promise<{ manager: PackageManager; knownRepo?: { name: string | undefined } }> => {
  const [zypper, dnf, yum] = await Promise.all([host.hasExecutable('zypper'), host.hasExecutable('dnf'), host.hasExecutable('yum')]);
  const yumLike = yumManager(dnf ? 'dnf' : 'yum');
  const both = zypper && (dnf || yum);
  const [repoYum, repoZypper, osRelease] = both
    ? await Promise.all([
        yumLike.teleportRepo(askOf(host)),
        zypperManager.teleportRepo(askOf(host)),
        host.readFile('/etc/os-release').catch(() => undefined),
      ])
    : [];
  const choice = chooseRpmManager({ has: { dnf, yum, zypper }, repo: { yum: repoYum, zypper: repoZypper }, osRelease });
  const manager = choice.installer === 'zypper' ? zypperManager : yumLike;
  (both ? host.log.info : host.log.debug)(`detected installer ${manager.tool}: ${choice.rule}.`, fields({ installer: manager.name }));
  return both ? { manager, knownRepo: { name: choice.installer === 'zypper' ? repoZypper : repoYum } } : { manager };
};

/** Detection: the first database (dpkg, then rpm) that has one of the candidates; on rpm, then the manager. */
const detect = async (host: Host, candidates: readonly string[]) => {
  const dpkg = await query(host, aptManager, candidates);
  if (dpkg) return { manager: aptManager, found: dpkg };
  // yum/dnf and zypper read the same rpm database.
  const found = await query(host, yumManager('yum'), candidates);
  return found ? { ...(await rpmManager(host)), found } : undefined;
};

/** `teleport version --raw`, used only when the package database cannot say. */
const binaryVersion = async (host: Host): Promise<string | undefined> => {
  const result = await host.run({ argv: ['teleport', 'version', '--raw'], timeoutMs: 10 * SECOND });
  return result.exitCode === 0 ? strictSemver(result.stdout.trim().replace(/^v/, '')) : undefined;
};

export const inspectPackages = async (config: Config, configDir: string, host: Host): Promise<PackageFacts> => {
  const candidates = config.package === undefined ? TELEPORT_PACKAGES : [config.package];
  let manager: PackageManager | undefined;
  let found: InstalledPackage | undefined;
  let knownRepo: PackageFacts['knownRepo'];
  if (config.installer !== undefined && config.installer !== 'nop') {
    manager = managerFor(config.installer, await host.hasExecutable('dnf'));
    const answer = await query(host, manager, candidates);
    if (answer === null) {
      throw new ConfigError(
        `${configDir}/installer says ${config.installer}, but the ${manager.database} database on this host cannot be read. Check that ${manager.database} works, or correct ${configDir}/installer.`,
      );
    }
    found = answer;
  } else {
    ({ manager, found, knownRepo } = (await detect(host, candidates)) ?? {});
  }
  const installer = config.installer ?? manager?.name;
  if (installer === undefined) {
    throw new ConfigError(
      `cannot detect the installer: none of ${candidates.join(', ')} is installed according to the dpkg or rpm database. ` +
        `Install your Teleport package with the package manager first, or write apt, yum, zypper or nop to ${configDir}/installer.`,
    );
  }
  const pkg = config.package ?? found?.name;
  if (pkg === undefined) {
    throw new ConfigError(
      `cannot detect the Teleport package: none of ${TELEPORT_PACKAGES.join(', ')} is installed. Write your package's name to ${configDir}/package.`,
    );
  }
  let semver = found?.semver ?? null;
  if (found !== undefined && semver === null)
    host.log.warn(`${pkg}'s package version ${quote(found.packageVersion)} does not map to a semantic version.`, fields({ package: pkg }));
  if (found === undefined) {
    semver = (await binaryVersion(host)) ?? null;
    if (semver !== null)
      host.log.warn(
        `${pkg} is not in the package database; the teleport binary says it is ${semver}.`,
        fields({ package: pkg, installed: semver }),
      );
  }
  return { installer, manager, pkg, installed: found, semver, ...(knownRepo === undefined ? {} : { knownRepo }) };
};
