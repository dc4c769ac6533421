// Which CA store verifies the proxy: Node's alone, or Node's and the operating system's together.
import { readdirSync } from 'node:fs';
import { getCACertificates } from 'node:tls';

/** Where the distributions keep CAs an administrator added: Debian and Ubuntu, the Red Hat family, SUSE. */
export const LOCAL_ANCHOR_DIRS = [
  '/usr/local/share/ca-certificates',
  '/etc/pki/ca-trust/source/anchors',
  '/etc/pki/trust/anchors',
] as const;

/**
 * Whether this host trusts CAs of its own: OpenSSL pointed at another store (SSL_CERT_FILE, SSL_CERT_DIR), or a CA
 * installed as a local anchor. Then the operating system's store is loaded up front (tens of milliseconds) instead of
 * after a first connection that Node's store alone could not verify.
 */
export const hostHasOwnTrust = (env: NodeJS.ProcessEnv = process.env, anchorDirs: readonly string[] = LOCAL_ANCHOR_DIRS): boolean =>
  Boolean(env.SSL_CERT_FILE || env.SSL_CERT_DIR) ||
  anchorDirs.some((dir) => {
    try {
      return readdirSync(dir).length > 0;
    } catch {
      return false;
    }
  });

/** Node's CAs (bundled and NODE_EXTRA_CA_CERTS) plus the operating system's, e.g. a private CA installed on the host. */
export const nodeAndSystemCAs = (): string[] => [...new Set([...getCACertificates('default'), ...getCACertificates('system')])];

/**
 * Runs `attempt` verifying against Node's CA store, and once more with the operating system's store added when the
 * certificate was one Node's store does not know: a private CA installed on the host. A host with CAs of its own
 * (see hostHasOwnTrust) gets both stores from the start, so a private CA costs no second connection. `ca`, when given,
 * replaces both; plain http needs neither.
 */
export const withTrustStores = async <T>(
  https: boolean,
  ca: string[] | undefined,
  ownTrust: () => boolean,
  attempt: (ca: string[] | undefined) => Promise<T>,
  untrusted: (result: T) => boolean,
): Promise<T> => {
  const verified = ca === undefined && https;
  const systemFirst = verified && ownTrust();
  const first = await attempt(systemFirst ? nodeAndSystemCAs() : ca);
  return verified && !systemFirst && untrusted(first) ? attempt(nodeAndSystemCAs()) : first;
};
