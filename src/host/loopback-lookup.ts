// Name resolution for sockets the updater opens: `localhost` is loopback without asking the resolver (RFC 6761).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { isLoopbackHost } from '../config/endpoint.ts';

/** IPv4 first, as curl tries it; ::1 where IPv4 loopback refuses. */
const LOOPBACK: readonly LookupAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

/**
 * A `lookup` for net/tls connect options: localhost goes to 127.0.0.1 and ::1 directly, so a host or image without
 * /etc/hosts (debootstrap's minbase, many container images) still reaches its own loopback. Other names go to the resolver.
 */
export const loopbackLookup: LookupFunction = (hostname, options, callback) => {
  // An address is its own answer (and 127.0.0.2 is not 127.0.0.1): only loopback names are answered here.
  if (isIP(hostname) !== 0 || !isLoopbackHost(hostname)) {
    dnsLookup(hostname, options, callback);
    return;
  }
  const addresses = LOOPBACK.filter((a) => !options.family || options.family === a.family || options.family === `IPv${a.family}`);
  if (options.all) {
    (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
    return;
  }
  const first = addresses[0] ?? LOOPBACK[0]!;
  callback(null, first.address, first.family);
};
