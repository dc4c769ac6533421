// The channel's questions: its /version and /critical and the proxy's /webapi/ping, asked together, with the OS trust store when Node's does not know the CA.
import { getPipelined, proxiesOf, type ClientOptions, type Fetched, type Limits, type Transport, type Wanted } from './http-transport.ts';
import { hostHasOwnTrust, withTrustStores } from './trust.ts';

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

/** Asks the channel and the proxy over one connection, with the trust stores withTrustStores picks. */
export const fetchChannel = ({ userAgent, limits = DEFAULT_LIMITS, env, ca, ownTrust = hostHasOwnTrust }: ClientOptions): FetchChannel => {
  const proxies = proxiesOf(env);
  return async (base, ping) => {
    const wanted: Wanted[] = [
      { url: `${base}/version`, maxBytes: limits.maxBytes },
      { url: `${base}/critical`, maxBytes: limits.maxBytes },
      { url: ping, maxBytes: Math.max(limits.maxBytes, MAX_PING_BYTES) },
    ];
    const transport: Transport = { userAgent, limits, proxies };
    const answers = await withTrustStores(
      base.startsWith('https:'),
      ca,
      ownTrust,
      (stores) => getPipelined(wanted, stores === undefined ? transport : { ...transport, ca: stores }),
      // The version and critical answers decide; the ping is the proxy's too.
      (got) => got[0]!.untrusted || got[1]!.untrusted,
    );
    const [version, critical, cluster] = answers.map((a) => a.fetched);
    return { version: version!, critical: critical!, ping: cluster! };
  };
};
