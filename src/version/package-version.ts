// Maps Debian package versions to the semver the proxy speaks.
import { strictSemver } from './target.ts';

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
