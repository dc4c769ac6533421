// The channel's questions: its /version and /critical and the proxy's /webapi/ping, asked together, with the OS trust store when Node's does not know the CA.
import { getPipelined, proxiesOf, type Fetched, type Limits, type Transport, type Wanted } from './http-transport.ts';
import { hostHasOwnTrust, nodeAndSystemCAs } from './trust.ts';

/** Each answer must be complete within this, counted from when the connection is ready for it. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** All three answers together, connecting included, must be complete within this. */
export const FETCH_DEADLINE_MS = 30_000;
/** A version answer is a few bytes; anything beyond this is not one. */
export const MAX_BODY_BYTES = 4096;
/** /webapi/ping also describes the cluster's authentication settings: a few KiB. */
export const MAX_PING_BYTES = 64 * 1024;

export const DEFAULT_LIMITS: Limits = { timeoutMs: REQUEST_TIMEOUT_MS, maxBytes: MAX_BODY_BYTES, deadlineMs: FETCH_DEADLINE_MS };

export type { Fetched } from './http-transport.ts';

export interface ChannelAnswers {
  readonly version: Fetched;
  readonly critical: Fetched;
  /** The proxy's /webapi/ping, which names the cluster's version. */
  readonly ping: Fetched;
}

/** `base` is the channel (…/version and …/critical are appended); `ping` the proxy's /webapi/ping URL. */
export type FetchChannel = (base: string, ping: string) => Promise<ChannelAnswers>;

export interface ChannelClient {
  readonly userAgent: string;
  readonly limits?: Limits;
  /** The environment the proxies are read from. */
  readonly env: NodeJS.ProcessEnv;
  /** CA certificates that replace both stores (tests). */
  readonly ca?: string[];
  /** Whether the host has CAs of its own (see hostHasOwnTrust). */
  readonly ownTrust?: () => boolean;
}

/**
 * Asks the channel and the proxy over one connection. Verifies against Node's CA store; a certificate that store does
 * not know is checked again with the operating system's store added. A host with CAs of its own gets both stores from
 * the start, so a private CA costs no second connection. `ca`, when given, replaces both.
 */
export const fetchChannel = ({ userAgent, limits = DEFAULT_LIMITS, env, ca, ownTrust = hostHasOwnTrust }: ChannelClient): FetchChannel => {
  const proxies = proxiesOf(env);
  return async (base, ping) => {
    const wanted: Wanted[] = [
      { url: `${base}/version`, maxBytes: limits.maxBytes },
      { url: `${base}/critical`, maxBytes: limits.maxBytes },
      { url: ping, maxBytes: Math.max(limits.maxBytes, MAX_PING_BYTES) },
    ];
    const transport: Transport = { userAgent, limits, proxies, ...(ca === undefined ? {} : { ca }) };
    const verified = ca === undefined && base.startsWith('https:');
    const systemFirst = verified && ownTrust();
    let answers = await getPipelined(wanted, systemFirst ? { ...transport, ca: nodeAndSystemCAs() } : transport);
    if (verified && !systemFirst && (answers[0]!.untrusted || answers[1]!.untrusted)) {
      answers = await getPipelined(wanted, { ...transport, ca: nodeAndSystemCAs() });
    }
    const [version, critical, cluster] = answers.map((a) => a.fetched);
    return { version: version!, critical: critical!, ping: cluster! };
  };
};
