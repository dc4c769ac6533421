// The PackageManager shape: one package manager as commands and pure parsers of their output, no processes here.
import type { Command, CommandResult, Step } from '../core/command.ts';
import type { Available } from './query-problem.ts';

export interface InstalledPackage {
  readonly name: string;
  /** The package database's own version string, e.g. `1:17.4.8-1`. */
  readonly packageVersion: string;
  /** The version as semver, when it maps to one. */
  readonly semver: string | undefined;
  /** The package is held back from upgrades (apt-mark hold, a zypper lock, a yum exclude). */
  readonly held: boolean;
  /** Fully installed and configured, or left half-way by an interrupted transaction. */
  readonly configured: boolean;
  /**
   * Left so far from installed that only installing it again repairs it (dpkg's reinstreq flag, or half-installed:
   * a power cut while the new version was unpacked); apt refuses all other work until then.
   */
  readonly needsReinstall?: boolean;
  /** Older versions the database still lists beside this one (an rpm upgrade interrupted before its erase step). */
  readonly stale?: readonly string[];
}

export type ManagerName = 'apt' | 'yum' | 'zypper';

/** A file whose text a repository lookup needs (apt's source lists). */
export interface SourceFile {
  readonly path: string;
  readonly text: string;
}

export interface InstallInput {
  readonly pkg: string;
  /** Exact repository version string (`1.2.5-1`, `1.3.0~beta.1`, `1.3.0_beta.1-1`). */
  readonly packageVersion: string;
  /** Held back by the v1 version lock (apt hold, zypper lock); the install goes through it and restores it. */
  readonly held: boolean;
  /** The target is older than what is installed. */
  readonly downgrade: boolean;
  /** Repository id/alias/source file of Teleport, when found. */
  readonly repo: string | undefined;
  /** Install this package file instead of fetching `packageVersion` (a rollback to a copy kept in the state dir). */
  readonly file?: string;
}

/**
 * One package manager as data: the commands the updater runs and pure parsers of their output.
 * Nothing here spawns a process or reads a file; the shell in src/upgrade.ts does, through the Host.
 */
export interface PackageManager {
  readonly name: ManagerName;
  /** The executable the commands start with (`apt-get`, `dnf`, `yum`, `zypper`). */
  readonly tool: string;
  installedQuery(packages: readonly string[]): Command;
  /** The installed packages among those queried; undefined when the database could not answer. */
  parseInstalled(result: CommandResult): InstalledPackage[] | undefined;
  /** Where the Teleport repository is configured. */
  readonly repoQuery: Command;
  /**
   * Where the manager keeps the package files it downloaded, when it keeps them by default (apt does; dnf and zypper
   * do not): the previous version's file is copied from there before an upgrade, for a rollback.
   */
  readonly packageCache?: {
    readonly query: Command;
    dir(result: CommandResult): string | undefined;
  };
  /** Downloads the package file of an exact version from the repository into `dir` (which exists), installing nothing. */
  downloadStep(input: Pick<InstallInput, 'pkg' | 'packageVersion' | 'repo'>, dir: string): Step;
  /** Whether a file name is the package file of that exact package version. */
  isPackageFile(fileName: string, pkg: string, packageVersion: string): boolean;
  /** Files and directories (with the name endings to read) the repository lookup needs besides the query. */
  repoReads(result: CommandResult): { files: string[]; dirs: Array<{ path: string; endings: string[] }> };
  /** The Teleport repository (apt: source file; dnf: repo id; zypper: alias), or undefined when not found. */
  findRepo(result: CommandResult, files: readonly SourceFile[]): string | undefined;
  /**
   * A query telling whether the v1 version lock holds the package back (a zypper lock; a yum repo exclude, which needs
   * the repository); apt reads holds from the installed query. Undefined when it cannot be asked.
   */
  heldQuery?(pkg: string, repo: string | undefined): Command | undefined;
  parseHeld?(result: CommandResult, pkg: string): boolean;
  /**
   * A command that fails at once, naming the holder, when another process holds the manager's lock (zypper, which
   * otherwise waits silently); run before the queries that take the lock.
   */
  lockProbe?(pkg: string): Command;
  refreshStep(repo: string | undefined): Step;
  availableQuery(pkg: string, repo: string | undefined): Command;
  /** Exact version strings offered, in the manager's preference order; or, when the query failed, what it said. */
  parseAvailable(result: CommandResult, pkg: string): Available;
  /** Maps a package version string to the semver the proxy speaks. */
  toSemver(packageVersion: string): string | undefined;
  /** The target in this manager's spelling, for when the repository does not (yet) list it (dry-run before a refresh). */
  fromSemver(semver: string): string;
  installSteps(input: InstallInput): Step[];
  /** Installs the same version again over damaged files (the package manager thinks it is already installed). */
  reinstallSteps(input: InstallInput): Step[];
  /**
   * Puts the v1 version lock back on (apt hold, zypper lock; idempotent). installSteps end with these when the package
   * was held; a run interrupted before they ran leaves that to the next run. Empty for yum, whose exclude is never lifted.
   */
  holdSteps(pkg: string): Step[];
  /** Checks the installed files against the package database; parse with parseVerify. */
  verifyQuery(pkg: string): Command;
  /**
   * Completes a transaction an earlier run or another tool left half-way. A package that needs installing again is
   * installed again at its version, from `keptFile` (a copy of exactly that version) when given, else the repository.
   */
  repairSteps(installed: InstalledPackage, keptFile?: string): Step[];
}

/** The exact repository version for a semver target: an exact string match first, then one that maps to it. */
export const pickVersion = (manager: PackageManager, target: string, available: readonly string[]): string | undefined =>
  available.find((v) => v === target) ?? available.find((v) => manager.toSemver(v) === target);
