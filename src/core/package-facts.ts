// What the package databases say about Teleport on this host: the installer, the package and its installed version.
import type { InstallerName } from '../config/parse-config.ts';
import type { InstalledPackage, PackageManager } from '../package-managers/types.ts';

export interface PackageFacts {
  /** The installer to act with (`nop` acts with nothing). */
  readonly installer: InstallerName;
  /** The package manager whose commands are planned (for `nop`, the one detected, if any). */
  readonly manager: PackageManager | undefined;
  readonly pkg: string;
  /** The package as the database knows it, if installed. */
  readonly installed: InstalledPackage | undefined;
  /** The installed Teleport version as semver (from the database, else `teleport version --raw`), or null when nothing can tell. */
  readonly semver: string | null;
  /** The Teleport repository, when detection already asked the manager for it (`name` undefined: it has none). */
  readonly knownRepo?: { readonly name: string | undefined };
}

/** The manager that acts on this host: none for the `nop` installer, which only says what it would run. */
export const actingManager = (facts: PackageFacts): PackageManager | undefined => (facts.installer === 'nop' ? undefined : facts.manager);
