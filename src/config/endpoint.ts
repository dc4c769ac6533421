// Parses the `endpoint` file (host[:port]/path, no scheme) into the base URL of the version channel.
import * as z from 'zod/mini';

export interface Endpoint {
  /** Base URL without trailing slash; `/version` and `/critical` are appended to it. */
  readonly base: string;
  /** The proxy's /webapi/ping, which names the cluster's version (same scheme, host and port). */
  readonly ping: string;
  readonly host: string;
  readonly insecure: boolean;
}

const EXAMPLE = 'proxy.example.com:443/v1/webapi/automaticupgrades/channel/default';

/** Only characters that can appear in host[:port]/path; rules out whitespace, userinfo, query and fragment. */
const endpointText = z.string().check(z.regex(/^[A-Za-z0-9.\-_~:/%[\]]+$/));

/**
 * Whether a host is this host's loopback: `localhost` and names under it (RFC 6761, any case, a trailing dot allowed),
 * 127.0.0.0/8 and ::1 (bracketed as in a URL, or bare). Plain http is allowed only for these, no proxy is ever used
 * for them, and the names resolve without the resolver.
 */
export const isLoopbackHost = (host: string): boolean => {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(name) || name === '[::1]' || name === '::1';
};

/** Returns the endpoint, or a sentence saying what is wrong and how to write it. */
export const parseEndpoint = (value: string, insecure: boolean): Endpoint | string => {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    return `it starts with a scheme; write it without one, as host[:port]/path (e.g. ${EXAMPLE})`;
  }
  if (!endpointText.safeParse(value).success) {
    return `it holds characters that cannot appear in host[:port]/path (e.g. ${EXAMPLE})`;
  }
  const scheme = insecure ? 'http' : 'https';
  let url: URL;
  try {
    // Parsed with its real scheme, so only that scheme's own default port is dropped.
    url = new URL(`${scheme}://${value}`);
  } catch {
    return `it is not a valid host[:port]/path (e.g. ${EXAMPLE})`;
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (/\/(version|critical)$/.test(path)) {
    return 'it ends in /version or /critical; write only the channel base (the updater appends those)';
  }
  if (insecure && !isLoopbackHost(url.hostname)) {
    return `insecure mode (plain http) is only allowed for localhost or a loopback address, not ${url.hostname}; remove the insecure file to use https`;
  }
  return { base: `${scheme}://${url.host}${path}`, ping: `${scheme}://${url.host}/webapi/ping`, host: url.hostname, insecure };
};
