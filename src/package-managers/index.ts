// The package managers by installer name.
import type { InstallerName } from '../config/parse-config.ts';
import { aptManager } from './apt.ts';
import type { PackageManager } from './types.ts';
import { yumManager } from './yum.ts';
import { zypperManager } from './zypper.ts';

/** The manager for an installer; yum means dnf where the host has dnf. */
export const managerFor = (installer: Exclude<InstallerName, 'nop'>, hasDnf: boolean): PackageManager => {
  switch (installer) {
    case 'apt':
      return aptManager;
    case 'yum':
      return yumManager(hasDnf ? 'dnf' : 'yum');
    case 'zypper':
      return zypperManager;
  }
};
