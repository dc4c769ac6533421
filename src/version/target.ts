// Parses the proxy's `/version` and `/critical` bodies (hostile network input).
import semver from 'semver';
import { quote } from '../errors.ts';

export type Target = { readonly kind: 'none' } | { readonly kind: 'version'; readonly version: string };

/** A strict semver (no leading `v`, no loose forms), or undefined. */
export const strictSemver = (text: string): string | undefined => {
  const valid = semver.valid(text);
  return valid !== null && valid === text ? valid : undefined;
};

/** `v1.2.3`, `1.2.3\n` and `none` are accepted; anything else is an error message quoting the body. */
export const parseTargetBody = (body: string): Target | string => {
  const text = body.trim();
  if (text === 'none') return { kind: 'none' };
  const version = strictSemver(text.replace(/^v/, ''));
  if (version === undefined) {
    return `the proxy's /version answer is not a semantic version: ${quote(text)}`;
  }
  return { kind: 'version', version };
};

/** `yes` or `true` in any case is critical; anything else is not. */
export const parseCriticalBody = (body: string): boolean => /^(yes|true)$/i.test(body.trim());

/** Compares two semvers for the log: the cluster's version is the truth either way. */
export const direction = (installed: string | null, target: string): 'upgrade' | 'downgrade' | 'install' => {
  if (installed === null) return 'install';
  return semver.lt(target, installed) ? 'downgrade' : 'upgrade';
};

export const isPrerelease = (version: string): boolean => semver.prerelease(version) !== null;

export const sameVersion = (a: string, b: string): boolean => semver.eq(a, b);
