// The cluster's version from the proxy's /webapi/ping (hostile network input), and Teleport's version-skew rule.
import semver from 'semver';
import * as z from 'zod/mini';
import { quote } from '../core/text.ts';
import { strictSemver } from './semver.ts';

export type Cluster = { readonly kind: 'version'; readonly version: string } | { readonly kind: 'unknown'; readonly problem: string };

const pingSchema = z.object({ server_version: z.string().check(z.maxLength(100)) });

/** The `server_version` of a /webapi/ping answer, or why there is none. */
export const parsePingBody = (body: string): Cluster => {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return { kind: 'unknown', problem: `the /webapi/ping answer is not JSON: ${quote(body.trim())}` };
  }
  const parsed = pingSchema.safeParse(data);
  if (!parsed.success) return { kind: 'unknown', problem: 'the /webapi/ping answer has no server_version' };
  const version = strictSemver(parsed.data.server_version.trim().replace(/^v/, ''));
  if (version === undefined)
    return { kind: 'unknown', problem: `the cluster's server_version is not a semantic version: ${quote(parsed.data.server_version)}` };
  return { kind: 'version', version };
};

/**
 * Teleport's compatibility rule: an agent may run the cluster's major version or the one before it, never a newer one.
 * Returns the rule a target breaks, or undefined when it is allowed.
 */
export const skewViolation = (target: string, cluster: string): 'ahead-of-cluster' | 'too-far-behind' | undefined => {
  const [t, c] = [semver.major(target), semver.major(cluster)];
  if (t > c) return 'ahead-of-cluster';
  if (t < c - 1) return 'too-far-behind';
  return undefined;
};
