// Finds the installer, the Teleport package and its installed version from the package databases.
import { TELEPORT_PACKAGES, type Config, type InstallerName } from './config/parse-config.ts';
import { ConfigError } from './errors.ts';
import type { Host } from './host/host.ts';
import * as apt from './package-managers/apt.ts';
import { SECOND, type InstalledPackage } from './package-managers/types.ts';
import { strictSemver } from './version/target.ts';

export interface PackageFacts {
  /** The installer to act with (`nop` acts with nothing). */
  readonly installer: InstallerName;
  /** The package manager whose commands are planned (for `nop`, the one detected, if any). */
  readonly manager: 'apt' | undefined;
  readonly pkg: string;
  /** The package as the database knows it, if installed. */
  readonly installed: InstalledPackage | undefined;
  /** The installed Teleport version as semver, or null when nothing can tell. */
  readonly version: string | null;
}

const queryDpkg = async (host: Host, packages: readonly string[]): Promise<InstalledPackage[] | undefined> => {
  const result = await host.run(apt.installedQuery(packages));
  if (!apt.databaseAnswered(result)) {
    host.log.debug(`dpkg-query could not answer (${result.failure ?? `exit ${result.exitCode}`}).`);
    return undefined;
  }
  return apt.parseInstalled(result.stdout);
};

/** `teleport version --raw`, used only when the package database cannot say. */
const binaryVersion = async (host: Host): Promise<string | undefined> => {
  const result = await host.run({ argv: ['teleport', 'version', '--raw'], timeoutMs: 10 * SECOND });
  return result.exitCode === 0 ? strictSemver(result.stdout.trim().replace(/^v/, '')) : undefined;
};

/** Refuses installers this build cannot drive yet rather than pretending to. */
const unsupported = (installer: InstallerName, dir: string): never => {
  throw new ConfigError(`${dir}/installer says ${installer}, which this version of teleport-upgrade does not support yet; it supports apt and nop. Use the original updater on this host for now.`);
};

export const inspectPackages = async (config: Config, configDir: string, host: Host): Promise<PackageFacts> => {
  if (config.installer === 'yum' || config.installer === 'zypper') unsupported(config.installer, configDir);
  const candidates = config.package === undefined ? TELEPORT_PACKAGES : [config.package];
  const dpkg = await queryDpkg(host, candidates);
  const found = candidates.map((name) => dpkg?.find((p) => p.name === name)).find((p) => p !== undefined);

  let manager: 'apt' | undefined = dpkg !== undefined && (found !== undefined || config.installer === 'apt') ? 'apt' : undefined;
  if (config.installer === 'apt' && manager === undefined) {
    throw new ConfigError(`${configDir}/installer says apt, but dpkg-query cannot read the dpkg database on this host. Check that dpkg is installed and works, or correct ${configDir}/installer.`);
  }
  const installer = config.installer ?? manager;
  if (installer === undefined) {
    throw new ConfigError(
      `cannot detect the installer: none of ${candidates.join(', ')} is installed according to the dpkg database. ` +
        `Install your Teleport package with the package manager first, or write apt or nop to ${configDir}/installer.`,
    );
  }
  if (installer === 'nop' && found === undefined) manager = undefined;
  const pkg = config.package ?? found?.name;
  if (pkg === undefined) {
    throw new ConfigError(`cannot detect the Teleport package: none of ${TELEPORT_PACKAGES.join(', ')} is installed. Write your package's name to ${configDir}/package.`);
  }
  if (found !== undefined && !found.configured) {
    host.log.warn(`${pkg} ${found.version} is only partly installed (an earlier package transaction was interrupted); the install will complete it.`);
  }
  let version = found?.semver ?? null;
  if (found !== undefined && version === null) host.log.warn(`${pkg}'s package version ${found.version} does not map to a semantic version.`);
  if (found === undefined) {
    version = (await binaryVersion(host)) ?? null;
    if (version !== null) host.log.warn(`${pkg} is not in the package database; the teleport binary says it is ${version}.`);
  }
  return { installer, manager, pkg, installed: found, version };
};
