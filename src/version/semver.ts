// Semantic versions as the proxy speaks them: strict parsing, equality and direction.
import semver from 'semver';

/** A strict semver (no leading `v`, no loose forms), or undefined. */
export const strictSemver = (text: string): string | undefined => {
  const valid = semver.valid(text);
  return valid !== null && valid === text ? valid : undefined;
};

/** Compares two semvers for the log: the cluster's version is the truth either way. */
export const direction = (installed: string | null, target: string): 'upgrade' | 'downgrade' | 'install' => {
  if (installed === null) return 'install';
  return semver.lt(target, installed) ? 'downgrade' : 'upgrade';
};

export const isPrerelease = (version: string): boolean => semver.prerelease(version) !== null;

export const sameVersion = (a: string, b: string): boolean => semver.eq(a, b);
