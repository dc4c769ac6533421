// The rpm database, shared by yum/dnf and zypper hosts: installed versions and rpm version strings.
import { strictSemver } from '../version/target.ts';
import { SECOND, type Command, type CommandResult, type InstalledPackage } from './types.ts';

export const rpmInstalledQuery = (packages: readonly string[]): Command => ({
  argv: ['rpm', '-q', '--qf', '%{NAME}\\t%{EPOCH}:%{VERSION}-%{RELEASE}\\n', ...packages],
  timeoutMs: 30 * SECOND,
});

/**
 * `1.3.0_beta.1-1` → `1.3.0-beta.1`: the release after the last `-` and an epoch are dropped, and `_` (rpm's
 * stand-in for `-` in a pre-release) becomes `-` again.
 */
export const rpmToSemver = (version: string): string | undefined => {
  const withoutEpoch = version.replace(/^\d+:/, '');
  const release = withoutEpoch.lastIndexOf('-');
  const upstream = release > 0 ? withoutEpoch.slice(0, release) : withoutEpoch;
  return strictSemver(upstream.replaceAll('_', '-'));
};

/** rpm -q exits with the number of packages not installed and says so on stdout; errors go to stderr. */
export const parseRpmInstalled = (result: CommandResult): InstalledPackage[] | undefined => {
  if (result.exitCode === null || /^error:/m.test(result.stderr)) return undefined;
  return result.stdout.split('\n').flatMap((line) => {
    const [name, evr] = line.split('\t');
    if (name === undefined || evr === undefined || evr === '') return [];
    const version = evr.replace(/^\(none\):/, '');
    return [{ name, version, semver: rpmToSemver(version), held: false, configured: true }];
  });
};

/** The rpm version-release for a semver target when a repository cannot be asked (dry-run before a refresh). */
export const semverToRpm = (semver: string): string => semver.replace('-', '_');
