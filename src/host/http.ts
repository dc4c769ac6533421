// Fetches the channel's /version and /critical and the proxy's /webapi/ping over one connection, bounded in time, size and attempts, TLS always verified.
import { STATUS_CODES } from 'node:http';
import { quote, sanitize } from '../core/text.ts';
import { isLoopbackHost } from '../config/endpoint.ts';
// Only the parts used: undici's index also loads fetch, WebSocket, mocks and caches, doubling start-up time.
// The index's one side effect that matters is replayed below: the request/connect API on every dispatcher.
import api from 'undici/lib/api/index.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import Client from 'undici/lib/dispatcher/client.js';
import EnvHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';
import buildConnector from 'undici/lib/core/connect.js';
import { loopbackLookup } from './loopback-lookup.ts';
import { hostHasOwnTrust, nodeAndSystemCAs } from './trust.ts';

Object.assign(Dispatcher.prototype, api);

/** Each answer must be complete within this, counted from when the connection is ready for it. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** All three answers together, connecting included, must be complete within this. */
export const FETCH_DEADLINE_MS = 30_000;
/** Connection attempts one fetch may make (a pipelined request whose connection broke is sent again on a new one). */
export const MAX_CONNECTIONS = 3;
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
  /** Each answer's bound. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** The bound of all answers of one fetch together. */
  readonly deadlineMs: number;
}

export const DEFAULT_LIMITS: Limits = { timeoutMs: REQUEST_TIMEOUT_MS, maxBytes: MAX_BODY_BYTES, deadlineMs: FETCH_DEADLINE_MS };

/** Certificate errors that mean "not signed by a CA we know", which the OS trust store may still know. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

/** A failure already put in the operator's words; `code` keeps undici from treating it as a socket to retry. */
class FetchProblem extends Error {
  readonly code = 'TELEPORT_UPGRADE_FETCH';
  readonly untrusted: boolean;
  constructor(message: string, untrusted = false) {
    super(message);
    this.untrusted = untrusted;
  }
}

const seconds = (ms: number): string => `${ms / 1000} s`;

const describe = (error: unknown, limits: Limits): FetchProblem => {
  if (error instanceof FetchProblem) return error;
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
    return new FetchProblem(`no complete answer within ${seconds(limits.timeoutMs)}`);
  }
  const code = e.code ?? e.cause?.code;
  if (code !== undefined && UNTRUSTED.has(code)) return new FetchProblem(untrustedCertificate(code), true);
  const message = sanitize(e.cause?.message ?? e.message ?? String(error), 300);
  return new FetchProblem(code && !message.includes(code) ? `${code}: ${message}` : message);
};

/** What an operator of this updater does about a certificate nobody here vouches for (Node's own hint names its flags). */
const untrustedCertificate = (code: string): string =>
  `the server's certificate is not signed by a CA this host trusts (${code}). If it is your own CA, add it to the operating ` +
  "system's trust store (update-ca-certificates on Debian, Ubuntu and SUSE; update-ca-trust on the Red Hat family), or " +
  'point SSL_CERT_FILE at a bundle that holds it; NODE_EXTRA_CA_CERTS adds one as well. TLS is always verified';

/** The proxy HTTPS requests go through, as undici's EnvHttpProxyAgent picks it, without credentials (for messages). */
const proxyInUse = (): string => {
  const raw = process.env.https_proxy ?? process.env.HTTPS_PROXY ?? process.env.http_proxy ?? process.env.HTTP_PROXY ?? '';
  try {
    return new URL(raw).origin;
  } catch {
    return quote(raw, 100);
  }
};

/**
 * Connection failures in the operator's words, and never retried by undici: a proxy's own answer to CONNECT is named,
 * and a proxy that closes the connection without answering is not reconnected to forever (undici retries a socket
 * error at connect time without end). Any other failure through a proxy says so.
 */
const connectProblem = (error: Error & { code?: string }, limits: Limits, viaProxy: boolean): FetchProblem => {
  if (!viaProxy) return describe(error, limits);
  const answered = /^Proxy response \((\d{3})\)/.exec(error.message);
  if (answered) {
    const status = Number(answered[1]);
    return new FetchProblem(`the proxy at ${proxyInUse()} answered ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd());
  }
  if (error.code === 'UND_ERR_SOCKET' || error.code === 'UND_ERR_ABORTED') {
    return new FetchProblem(`the proxy at ${proxyInUse()} closed the connection without answering the CONNECT request (${sanitize(error.message, 200)})`);
  }
  if (error.code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new FetchProblem(`the proxy at ${proxyInUse()} did not answer the CONNECT request within ${seconds(limits.timeoutMs)}`);
  }
  const problem = describe(error, limits);
  return new FetchProblem(`${problem.message} (through the proxy at ${proxyInUse()})`, problem.untrusted);
};

type Connector = buildConnector.connector;

/**
 * undici builds one client per origin with this: its connector counts attempts and stops at MAX_CONNECTIONS, and turns
 * connection failures into FetchProblems, which fail the queued requests at once. A connector that undici hands over
 * as a function is ProxyAgent's tunnel; options are a direct connection's.
 */
const boundedClients = (limits: Limits, onConnected?: () => void) => (origin: string | URL, { clientFactory: _, ...options }: { connect?: buildConnector.BuildOptions | Connector; clientFactory?: unknown }) => {
  const viaProxy = typeof options.connect === 'function';
  const inner: Connector = typeof options.connect === 'function' ? options.connect : buildConnector({ ...options.connect });
  let attempts = 0;
  const connect: Connector = (params, callback) => {
    attempts += 1;
    if (attempts > MAX_CONNECTIONS) {
      callback(new FetchProblem(`gave up after ${MAX_CONNECTIONS} connection attempts`), null);
      return;
    }
    inner(params, (...args) => {
      if (args[0] === null) callback(...args);
      else callback(connectProblem(args[0], limits, viaProxy), null);
    });
  };
  const client = new Client(origin, { ...options, connect });
  if (onConnected !== undefined) client.on('connect', onConnected);
  return client;
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

const get = async (dispatcher: Dispatcher, url: string, userAgent: string, maxBytes: number, signal: AbortSignal): Promise<string> => {
  const { origin, pathname, search } = new URL(url);
  const response = await dispatcher.request({
    origin,
    path: `${pathname}${search}`,
    method: 'GET',
    headers: { 'user-agent': userAgent, accept: '*/*' },
    // undici holds the next request back until this one's headers are in unless told otherwise: all three go out at once.
    blocking: false,
    signal,
  });
  // Discards an unwanted body (at most the cap), which also releases the connection cleanly.
  const discard = () => response.body.dump({ limit: maxBytes }).catch(() => undefined);
  if (response.statusCode !== 200) {
    await discard();
    const location = response.headers.location;
    const redirect = location === undefined ? '' : ` redirecting to ${quote(String(location), 200)} (redirects are not followed)`;
    throw new FetchProblem(`HTTP ${response.statusCode}${redirect}`);
  }
  const declared = Number(response.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    await discard();
    throw new FetchProblem(`the answer is ${declared} bytes, larger than ${maxBytes}`);
  }
  return readCapped(response.body, maxBytes);
};

/**
 * One connection, the requests pipelined on it. Plain http (insecure mode) and loopback hosts never go through a proxy:
 * the request is for this host, which a proxy cannot reach. Others honour HTTPS_PROXY/HTTP_PROXY and NO_PROXY.
 * `localhost` is loopback without the resolver.
 */
const dispatcherFor = (url: URL, ca: string[] | undefined, limits: Limits, onConnected: () => void): Dispatcher => {
  // Verified whatever the environment says: NODE_TLS_REJECT_UNAUTHORIZED=0 only changes Node's default, and this is explicit.
  const tls = { rejectUnauthorized: true, ...(ca === undefined ? {} : { ca }) };
  const common = { connections: 1, pipelining: 3, headersTimeout: limits.timeoutMs, bodyTimeout: limits.timeoutMs, factory: boundedClients(limits, onConnected) };
  const connect = { timeout: limits.timeoutMs, lookup: loopbackLookup, ...tls };
  if (url.protocol === 'http:' || isLoopbackHost(url.hostname)) return new Agent({ ...common, connect });
  // The proxy's answer to CONNECT gets the same bound as any answer (undici's default is 300 s).
  const clientFactory = (proxy: URL, options: object) => new Client(proxy, { ...options, headersTimeout: limits.timeoutMs, bodyTimeout: limits.timeoutMs });
  return new EnvHttpProxyAgent({ ...common, connect, requestTls: { timeout: limits.timeoutMs, ...tls }, proxyTls: { rejectUnauthorized: true }, clientFactory });
};

interface Wanted {
  readonly url: string;
  readonly maxBytes: number;
}

/**
 * GETs the URLs, pipelined on one connection. Each answer gets its own bound, started when the connection is ready for
 * it: the first once connected (connecting, a proxy's CONNECT and TLS have bounds of their own), each later one once
 * the answer before it is complete, so a server that answers one request at a time does not starve the last ones. The
 * whole fetch has a deadline, after which the dispatcher is destroyed and everything still open fails.
 */
const getAll = async (wanted: readonly Wanted[], ca: string[] | undefined, userAgent: string, limits: Limits): Promise<Array<{ fetched: Fetched; untrusted: boolean }>> => {
  let connected!: () => void;
  let ready = new Promise<unknown>((resolve) => {
    connected = () => resolve(undefined);
  });
  const dispatcher = dispatcherFor(new URL(wanted[0]!.url), ca, limits, () => connected());
  const deadline = new AbortController();
  const deadlineTimer = setTimeout(() => {
    deadline.abort(new FetchProblem(`no complete answers within ${seconds(limits.deadlineMs)} in all`));
    dispatcher.destroy().catch(() => undefined);
  }, limits.deadlineMs);
  const answers = wanted.map(({ url, maxBytes }) => {
    const own = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    void ready.then(() => {
      // The answer may be complete before the one ahead of it is seen settled: then there is nothing left to bound.
      if (!done) timer = setTimeout(() => own.abort(new FetchProblem(`no complete answer within ${seconds(limits.timeoutMs)}`)), limits.timeoutMs);
    });
    const signal = AbortSignal.any([own.signal, deadline.signal]);
    // undici holds an aborted request that is not sent yet until its connection is made: the bound does not wait.
    const bounded = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    const answer = Promise.race([get(dispatcher, url, userAgent, maxBytes, signal), bounded])
      .catch((error: unknown) => {
        throw signal.aborted ? signal.reason : error;
      })
      .finally(() => {
        done = true;
        clearTimeout(timer);
      });
    ready = answer.catch(() => undefined);
    return answer;
  });
  const settled = await Promise.allSettled(answers);
  clearTimeout(deadlineTimer);
  // Closing is best effort: the answers are already read.
  dispatcher.destroy().catch(() => undefined);
  return settled.map((result) => {
    if (result.status === 'fulfilled') return { fetched: { ok: true, body: result.value }, untrusted: false };
    const problem = describe(result.reason, limits);
    return { fetched: { ok: false, problem: problem.message }, untrusted: problem.untrusted };
  });
};

/**
 * Verifies against Node's CA store; a certificate that store does not know is checked again with the operating
 * system's store added. A host with CAs of its own (see hostHasOwnTrust) gets both stores from the start, so a private
 * CA costs no second connection. `ca`, when given, replaces both.
 */
export const fetchChannel = (userAgent: string, limits: Limits = DEFAULT_LIMITS, ca?: string[], ownTrust: () => boolean = hostHasOwnTrust): FetchChannel => async (base, ping) => {
  const wanted: Wanted[] = [
    { url: `${base}/version`, maxBytes: limits.maxBytes },
    { url: `${base}/critical`, maxBytes: limits.maxBytes },
    { url: ping, maxBytes: Math.max(limits.maxBytes, MAX_PING_BYTES) },
  ];
  const verified = ca === undefined && base.startsWith('https:');
  const systemFirst = verified && ownTrust();
  let answers = await getAll(wanted, systemFirst ? nodeAndSystemCAs() : ca, userAgent, limits);
  if (verified && !systemFirst && (answers[0]!.untrusted || answers[1]!.untrusted)) {
    answers = await getAll(wanted, nodeAndSystemCAs(), userAgent, limits);
  }
  const [version, critical, cluster] = answers.map((a) => a.fetched);
  return { version: version!, critical: critical!, ping: cluster! };
};

export type ProbeStatus = (url: string, timeoutMs: number) => Promise<string>;

/**
 * The agent's local /readyz: `HTTP <status>`, or what went wrong. Never through a proxy (the address is the agent's own),
 * bounded in time and attempts, the body discarded.
 */
export const probeStatus: ProbeStatus = async (url, timeoutMs) => {
  const limits: Limits = { timeoutMs, maxBytes: 0, deadlineMs: timeoutMs };
  const agent = new Agent({ connect: { timeout: timeoutMs, lookup: loopbackLookup }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, factory: boundedClients(limits) });
  try {
    const { origin, pathname } = new URL(url);
    const response = await agent.request({ origin, path: pathname, method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
    await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    return `HTTP ${response.statusCode}`;
  } catch (error) {
    return describe(error, limits).message;
  } finally {
    agent.destroy().catch(() => undefined);
  }
};
