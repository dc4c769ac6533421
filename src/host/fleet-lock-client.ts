// The FleetLock requests' HTTP: a POST with the protocol's header, bounded, proxied and verified as the channel's questions are.
import type { Posted } from '../core/fleet-lock.ts';
import { FETCH_DEADLINE_MS, REQUEST_TIMEOUT_MS } from './channel-fetch.ts';
import { postJson, proxiesOf, type ClientOptions, type Limits } from './http-transport.ts';
import { hostHasOwnTrust, withTrustStores } from './trust.ts';

/** An answer within 10 s, all within 30 s; an error body of a few hundred bytes is all a server has to say. */
export const FLEET_LOCK_LIMITS: Limits = { timeoutMs: REQUEST_TIMEOUT_MS, maxBytes: 4096, deadlineMs: FETCH_DEADLINE_MS };

/** POSTs `body` to a FleetLock endpoint; never throws. */
export type PostFleetLock = (url: string, body: string) => Promise<Posted>;

/** The header that tells the server the request was meant for it, not a redirect's leftover (the protocol's). */
const PROTOCOL_HEADER = { 'fleet-lock-protocol': 'true' } as const;

export const fleetLockClient = ({
  userAgent,
  limits = FLEET_LOCK_LIMITS,
  env,
  ca,
  ownTrust = hostHasOwnTrust,
}: ClientOptions): PostFleetLock => {
  const proxies = proxiesOf(env);
  return async (url, body) => {
    const { posted } = await withTrustStores(
      url.startsWith('https:'),
      ca,
      ownTrust,
      (stores) => postJson(url, body, PROTOCOL_HEADER, { userAgent, limits, proxies, ...(stores === undefined ? {} : { ca: stores }) }),
      (result) => result.untrusted,
    );
    return posted;
  };
};
