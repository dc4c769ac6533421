// Fetches the channel's /version and /critical and the proxy's /webapi/ping over one connection, bounded in time and size, TLS always verified.
import { getCACertificates } from 'node:tls';
// Only the parts used: undici's index also loads fetch, WebSocket, mocks and caches, doubling start-up time.
// The index's one side effect that matters is replayed below: the request/connect API on every dispatcher.
import api from 'undici/lib/api/index.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import EnvHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';

Object.assign(Dispatcher.prototype, api);

/** Each request, connection and body read included, must finish within this. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** A version answer is a few bytes; anything beyond this is not one. */
export const MAX_BODY_BYTES = 4096;
/** /webapi/ping also describes the cluster's authentication settings: a few KiB. */
export const MAX_PING_BYTES = 64 * 1024;

export type Fetched = { readonly ok: true; readonly body: string } | { readonly ok: false; readonly problem: string };

export interface ChannelAnswers {
  readonly version: Fetched;
  readonly critical: Fetched;
  /** The proxy's /webapi/ping, which names the cluster's version. */
  readonly ping: Fetched;
}

/** `base` is the channel (…/version and …/critical are appended); `ping` the proxy's /webapi/ping URL. */
export type FetchChannel = (base: string, ping: string) => Promise<ChannelAnswers>;

export interface Limits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

export const DEFAULT_LIMITS: Limits = { timeoutMs: REQUEST_TIMEOUT_MS, maxBytes: MAX_BODY_BYTES };

/** Certificate errors that mean "not signed by a CA we know", which the OS trust store may still know. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

class FetchProblem extends Error {
  readonly untrusted: boolean;
  constructor(message: string, untrusted = false) {
    super(message);
    this.untrusted = untrusted;
  }
}

const describe = (error: unknown, limits: Limits): FetchProblem => {
  if (error instanceof FetchProblem) return error;
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
    return new FetchProblem(`no complete answer within ${limits.timeoutMs / 1000} s`);
  }
  const code = e.code ?? e.cause?.code;
  const message = e.cause?.message ?? e.message ?? String(error);
  return new FetchProblem(code && !message.includes(code) ? `${code}: ${message}` : message, code !== undefined && UNTRUSTED.has(code));
};

const readCapped = async (body: AsyncIterable<Buffer> & { destroy(): unknown }, maxBytes: number): Promise<string> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy();
      throw new FetchProblem(`the answer is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
};

const get = async (dispatcher: Dispatcher, url: string, userAgent: string, limits: Limits): Promise<string> => {
  const { origin, pathname, search } = new URL(url);
  const response = await dispatcher.request({
    origin,
    path: `${pathname}${search}`,
    method: 'GET',
    headers: { 'user-agent': userAgent, accept: '*/*' },
    signal: AbortSignal.timeout(limits.timeoutMs),
  });
  // Discards an unwanted body (at most the cap), which also releases the connection cleanly.
  const discard = () => response.body.dump({ limit: limits.maxBytes }).catch(() => undefined);
  if (response.statusCode !== 200) {
    await discard();
    const location = response.headers.location;
    const redirect = location === undefined ? '' : ` redirecting to ${String(location)} (redirects are not followed)`;
    throw new FetchProblem(`HTTP ${response.statusCode}${redirect}`);
  }
  const declared = Number(response.headers['content-length'] ?? 0);
  if (declared > limits.maxBytes) {
    await discard();
    throw new FetchProblem(`the answer is ${declared} bytes, larger than ${limits.maxBytes}`);
  }
  return readCapped(response.body, limits.maxBytes);
};

/** One connection, the three requests pipelined on it; proxies from HTTPS_PROXY/HTTP_PROXY/NO_PROXY. */
const dispatcherWith = (ca: string[] | undefined, { timeoutMs }: Limits): Dispatcher => {
  const tls = ca === undefined ? {} : { ca };
  return new EnvHttpProxyAgent({
    connections: 1,
    pipelining: 3,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: timeoutMs, ...tls },
    requestTls: { timeout: timeoutMs, ...tls },
  });
};

/** Node's CAs (bundled and NODE_EXTRA_CA_CERTS) plus the operating system's, e.g. a private CA installed on the host. */
const nodeAndSystemCAs = (): string[] => [...new Set([...getCACertificates('default'), ...getCACertificates('system')])];

const settle = async (dispatcher: Dispatcher, base: string, ping: string, userAgent: string, limits: Limits) => {
  const [version, critical, cluster] = await Promise.allSettled([
    get(dispatcher, `${base}/version`, userAgent, limits),
    get(dispatcher, `${base}/critical`, userAgent, limits),
    get(dispatcher, ping, userAgent, { ...limits, maxBytes: Math.max(limits.maxBytes, MAX_PING_BYTES) }),
  ]);
  return { version, critical, ping: cluster };
};

/**
 * Verifies against Node's CA store first; a certificate that store does not know is checked again with the
 * operating system's store added (loading that store costs tens of milliseconds, so only when needed).
 */
export const fetchChannel = (userAgent: string, limits: Limits = DEFAULT_LIMITS): FetchChannel => async (base, ping) => {
  const toFetched = (result: PromiseSettledResult<string>): Fetched =>
    result.status === 'fulfilled' ? { ok: true, body: result.value } : { ok: false, problem: describe(result.reason, limits).message };
  const untrusted = (result: PromiseSettledResult<string>): boolean => result.status === 'rejected' && describe(result.reason, limits).untrusted;
  const first = dispatcherWith(undefined, limits);
  let answers = await settle(first, base, ping, userAgent, limits);
  // Closing is best effort: the answers are already read.
  first.destroy().catch(() => undefined);
  if (base.startsWith('https:') && (untrusted(answers.version) || untrusted(answers.critical))) {
    const second = dispatcherWith(nodeAndSystemCAs(), limits);
    answers = await settle(second, base, ping, userAgent, limits);
    second.destroy().catch(() => undefined);
  }
  return { version: toFetched(answers.version), critical: toFetched(answers.critical), ping: toFetched(answers.ping) };
};

export type ProbeStatus = (url: string, timeoutMs: number) => Promise<string>;

/**
 * The agent's local /readyz: `HTTP <status>`, or what went wrong. Never through a proxy (the address is the agent's own),
 * bounded in time, the body discarded.
 */
export const probeStatus: ProbeStatus = async (url, timeoutMs) => {
  const agent = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  try {
    const { origin, pathname } = new URL(url);
    const response = await agent.request({ origin, path: pathname, method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
    await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    return `HTTP ${response.statusCode}`;
  } catch (error) {
    return describe(error, { timeoutMs, maxBytes: 0 }).message;
  } finally {
    agent.destroy().catch(() => undefined);
  }
};
