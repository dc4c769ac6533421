// The PackageManager shape: one package manager as one unit (its commands, what it asks the host, its parsers).
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
  /** The same version again, over damaged files (the package manager thinks it is already installed). */
  readonly reinstall?: boolean;
}

/**
 * What a manager may ask of the host to learn about it: run a command, read a file, list a directory. Reads only:
 * dry-run and status ask too. `warn` is for what an operator should know on the way (who holds a lock), `debug` for
 * why an answer could not be had.
 */
export interface Ask {
  run(command: Command): Promise<CommandResult>;
  /** A file's text; undefined when it is absent or cannot be read. */
  readFile(path: string): Promise<string | undefined>;
  /** File names in a directory, sorted; empty when it does not exist. */
  listDir(path: string): Promise<string[]>;
  warn(message: string): void;
  debug(message: string): void;
}

/**
 * One package manager, whole: the commands it runs (pure plans, so dry-run prints exactly what run executes), what it
 * asks the host and how it reads the answers, and how it spells versions. Nothing here touches the host but through
 * `Ask`; nothing outside this folder knows a manager's commands.
 */
export interface PackageManager {
  readonly name: ManagerName;
  /** The executable its commands start with (`apt-get`, `dnf`, `yum`, `zypper`), for messages. */
  readonly tool: string;
  /** The package database it reads. */
  readonly database: 'dpkg' | 'rpm';

  /** The installed packages among `packages`; undefined when the database could not answer. */
  installed(ask: Ask, packages: readonly string[]): Promise<InstalledPackage[] | undefined>;
  /** The Teleport repository (apt: its source file; dnf: repo id; zypper: alias), or undefined when none is configured. */
  teleportRepo(ask: Ask): Promise<string | undefined>;
  /** Exact version strings `pkg` is offered in (only from `repo` when given), newest first; or what the failed query said. */
  available(ask: Ask, pkg: string, repo: string | undefined): Promise<Available>;
  /** Whether the v1 version lock (apt hold, zypper lock, yum exclude) holds the package back. */
  held(ask: Ask, installed: InstalledPackage | undefined, pkg: string, repo: string | undefined): Promise<boolean>;
  /** Installed files of `pkg` that no longer match the package database (every file hashed: the costly check). */
  damaged(ask: Ask, pkg: string): Promise<string[]>;
  /** The paths the package database lists for `pkg` (directories too); undefined when it cannot say. */
  files(ask: Ask, pkg: string): Promise<string[] | undefined>;
  /** A file of that exact package version the manager kept when it installed it (apt's cache), if any. */
  cachedFile(ask: Ask, pkg: string, packageVersion: string): Promise<string | undefined>;
  /** Downloads the package file of an exact version into `dir` (which exists), installing nothing. */
  downloadStep(ask: Ask, input: Pick<InstallInput, 'pkg' | 'packageVersion' | 'repo'>, dir: string): Promise<Step>;

  /** Refreshes the Teleport repository's metadata (all repositories when it was not found). */
  refreshStep(repo: string | undefined): Step;
  /** Installs (or, with `reinstall`, installs again) exactly `packageVersion`, through the v1 version lock and putting it back. */
  installSteps(input: InstallInput): Step[];
  /** Puts the v1 version lock back (idempotent); empty where it is never lifted (yum's exclude). Always runs. */
  holdSteps(pkg: string): Step[];
  /**
   * Completes a transaction an earlier run or another tool left half-way. A package that needs installing again is
   * installed again at its version, from `keptFile` (a copy of exactly that version) when given, else the repository.
   */
  repairSteps(installed: InstalledPackage, keptFile?: string): Step[];

  /** Maps a package version string to the semver the proxy speaks. */
  toSemver(packageVersion: string): string | undefined;
  /** The target in this manager's spelling, for when the repository does not (yet) list it (dry-run before a refresh). */
  fromSemver(semver: string): string;
  /** Whether a file name is the package file of that exact package version. */
  isPackageFile(fileName: string, pkg: string, packageVersion: string): boolean;
}

/** The exact repository version for a semver target: an exact string match first, then one that maps to it. */
export const pickVersion = (manager: PackageManager, target: string, available: readonly string[]): string | undefined =>
  available.find((v) => v === target) ?? available.find((v) => manager.toSemver(v) === target);
