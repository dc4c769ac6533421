// A package's own version string (Debian's, rpm's) and the semver the proxy speaks, each way.
import { strictSemver } from './semver.ts';

/**
 * `1:17.4.8-1` → `17.4.8`; `17.0.0~beta.1` → `17.0.0-beta.1`; `17.0.0-beta.1` → `17.0.0-beta.1`.
 * A suffix after the last `-` that starts with a digit is a Debian revision, not a pre-release.
 */
export const debToSemver = (debVersion: string): string | undefined => {
  let upstream = debVersion.replace(/^\d+:/, '');
  const revision = upstream.lastIndexOf('-');
  if (revision > 0 && /^\d[0-9A-Za-z.+~]*$/.test(upstream.slice(revision + 1))) upstream = upstream.slice(0, revision);
  return strictSemver(upstream.replace('~', '-'));
};

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

/** A semver target in rpm's spelling (`-` in a pre-release becomes `_`). */
export const semverToRpm = (semver: string): string => semver.replace('-', '_');
