// Parses the proxy's `/version` and `/critical` bodies (hostile network input).
import { quote } from '../core/text.ts';
import { strictSemver } from './semver.ts';

export type Target = { readonly kind: 'none' } | { readonly kind: 'version'; readonly version: string };

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
