// HTTP GETs over undici, every one bounded in time, size and connection attempts, TLS always verified, proxies as the environment says.
// Only undici's parts in use are loaded: its index also loads fetch, WebSocket, mocks and caches, doubling start-up time.
// Its request and connect APIs are called on our dispatchers directly, so no undici prototype is patched.
import type { Dispatcher as DispatcherType } from 'undici';
import apiConnect from 'undici/lib/api/api-connect.js';
import apiRequest from 'undici/lib/api/api-request.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import Client from 'undici/lib/dispatcher/client.js';
import EnvHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';
import buildConnector from 'undici/lib/core/connect.js';
import { isLoopbackHost } from '../config/endpoint.ts';
import type { Posted } from '../core/fleet-lock.ts';
import { quote } from '../core/text.ts';
import { connectProblem, describeFailure, FetchProblem, seconds } from './http-problem.ts';
import { loopbackLookup } from './loopback-lookup.ts';

/** Connection attempts one fetch may make (a pipelined request whose connection broke is sent again on a new one). */
export const MAX_CONNECTIONS = 3;

export interface Limits {
  /** Each answer's bound. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** The bound of all answers of one fetch together. */
  readonly deadlineMs: number;
}

/** The proxies, as curl and undici read them from the environment: read once, passed in. */
export interface Proxies {
  /** For https URLs; empty for none (then `http` is used, if set). */
  readonly https: string;
  /** For http URLs; empty for none. */
  readonly http: string;
  /** Hosts (and their subdomains) never sent through a proxy, comma or space separated; `*` for all. */
  readonly noProxy: string;
}

export const proxiesOf = (env: NodeJS.ProcessEnv): Proxies => ({
  https: env.https_proxy ?? env.HTTPS_PROXY ?? '',
  http: env.http_proxy ?? env.HTTP_PROXY ?? '',
  noProxy: env.no_proxy ?? env.NO_PROXY ?? '',
});

export type Fetched = { readonly ok: true; readonly body: string } | { readonly ok: false; readonly problem: string };

export interface Wanted {
  readonly url: string;
  readonly maxBytes: number;
}

export interface Transport {
  readonly userAgent: string;
  readonly limits: Limits;
  readonly proxies: Proxies;
  /** CA certificates that replace Node's store; undefined for Node's own. */
  readonly ca?: string[];
}

/** What a client of the transport is made with. */
export interface ClientOptions {
  readonly userAgent: string;
  readonly limits?: Limits;
  /** The environment the proxies are read from. */
  readonly env: NodeJS.ProcessEnv;
  /** CA certificates that replace both stores (tests). */
  readonly ca?: string[];
  /** Whether the host has CAs of its own (see hostHasOwnTrust). */
  readonly ownTrust?: () => boolean;
}

type Connector = buildConnector.connector;

const request = (dispatcher: DispatcherType, options: DispatcherType.RequestOptions): Promise<DispatcherType.ResponseData> =>
  apiRequest.call(dispatcher, options);

/** The client a proxy's CONNECT goes through: undici's ProxyAgent asks it for `connect`, which the API module provides. */
class TunnelClient extends Client {
  override connect(options: DispatcherType.ConnectOptions): Promise<DispatcherType.ConnectData>;
  override connect(options: DispatcherType.ConnectOptions, callback: (err: Error | null, data: DispatcherType.ConnectData) => void): void;
  override connect(
    options: DispatcherType.ConnectOptions,
    callback?: (err: Error | null, data: DispatcherType.ConnectData) => void,
  ): Promise<DispatcherType.ConnectData> | undefined {
    return apiConnect.call(this, options, callback);
  }
}

/**
 * undici builds one client per origin with this: its connector counts attempts and stops at MAX_CONNECTIONS, and turns
 * connection failures into FetchProblems, which fail the queued requests at once. A connector that undici hands over
 * as a function is ProxyAgent's tunnel through `proxy`; options are a direct connection's.
 */
const boundedClients =
  (timeoutMs: number, proxy: string | undefined, onConnected?: () => void) =>
  (
    origin: string | URL,
    { clientFactory: _, ...options }: { connect?: buildConnector.BuildOptions | Connector; clientFactory?: unknown },
  ) => {
    const tunnel = typeof options.connect === 'function' ? options.connect : undefined;
    const inner: Connector = tunnel ?? buildConnector({ ...(options.connect as buildConnector.BuildOptions) });
    let attempts = 0;
    const connect: Connector = (params, callback) => {
      attempts += 1;
      if (attempts > MAX_CONNECTIONS) {
        callback(new FetchProblem(`gave up after ${MAX_CONNECTIONS} connection attempts`), null);
        return;
      }
      inner(params, (...args) => {
        if (args[0] === null) callback(...args);
        else callback(connectProblem(args[0], timeoutMs, tunnel === undefined ? undefined : proxy), null);
      });
    };
    const client = new Client(origin, { ...options, connect });
    if (onConnected !== undefined) client.on('connect', onConnected);
    return client;
  };

/**
 * Loopback answers or refuses at once, so `localhost`'s two addresses are tried one after the other with the whole
 * connect bound each, not raced on Node's 250 ms timer: a host whose CPU is busy for a quarter of a second would
 * otherwise give up on 127.0.0.1 before it had a chance to accept.
 */
const LOOPBACK_ATTEMPTS = (timeoutMs: number) => ({ autoSelectFamilyAttemptTimeout: timeoutMs });

/**
 * One connection, the requests pipelined on it. Plain http (insecure mode) and loopback hosts never go through a proxy:
 * the request is for this host, which a proxy cannot reach. Others go through the proxy the environment names, unless
 * NO_PROXY exempts them. `localhost` is loopback without the resolver.
 */
const dispatcherFor = (url: URL, { limits, proxies, ca }: Transport, onConnected: () => void): DispatcherType => {
  const { timeoutMs } = limits;
  // Verified whatever the environment says: NODE_TLS_REJECT_UNAUTHORIZED=0 only changes Node's default, and this is explicit.
  const tls = { rejectUnauthorized: true, ...(ca === undefined ? {} : { ca }) };
  const bounds = { connections: 1, pipelining: 3, headersTimeout: timeoutMs, bodyTimeout: timeoutMs };
  const connect = { timeout: timeoutMs, lookup: loopbackLookup, ...tls };
  if (url.protocol === 'http:' || isLoopbackHost(url.hostname))
    return new Agent({
      ...bounds,
      connect: { ...connect, ...LOOPBACK_ATTEMPTS(timeoutMs) },
      factory: boundedClients(timeoutMs, undefined, onConnected),
    });
  const proxy = proxies.https || proxies.http || undefined;
  // The proxy's answer to CONNECT gets the same bound as any answer (undici's default is 300 s).
  const clientFactory = (origin: URL, options: object) =>
    new TunnelClient(origin, { ...options, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return new EnvHttpProxyAgent({
    ...bounds,
    connect,
    factory: boundedClients(timeoutMs, proxy, onConnected),
    clientFactory,
    httpsProxy: proxies.https,
    httpProxy: proxies.http,
    noProxy: proxies.noProxy,
    requestTls: { timeout: timeoutMs, ...tls },
    proxyTls: { rejectUnauthorized: true },
  });
};

/** Reads at most `maxBytes` of a body and drops the rest (the connection with it). */
const readUpTo = async (body: AsyncIterable<Buffer> & { destroy(): unknown }, maxBytes: number): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk.subarray(0, maxBytes - size));
    size += Math.min(chunk.length, maxBytes - size);
    if (size >= maxBytes) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks);
};

/** A body of at most `maxBytes`; a larger one is a FetchProblem, found once one byte more has come. */
const readCapped = async (body: AsyncIterable<Buffer> & { destroy(): unknown }, maxBytes: number): Promise<string> => {
  const bytes = await readUpTo(body, maxBytes + 1);
  if (bytes.length > maxBytes) throw new FetchProblem(`the answer is larger than ${maxBytes} bytes`);
  return bytes.toString('utf8');
};

/** One GET: the body of a 200 answer no larger than `maxBytes`; anything else is a FetchProblem. */
const get = async (dispatcher: DispatcherType, { url, maxBytes }: Wanted, userAgent: string, signal: AbortSignal): Promise<string> => {
  const { origin, pathname, search } = new URL(url);
  const response = await request(dispatcher, {
    origin,
    path: `${pathname}${search}`,
    method: 'GET',
    headers: { 'user-agent': userAgent, accept: '*/*' },
    // undici holds the next request back until this one's headers are in unless told otherwise: all go out at once.
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

/** One answer's own time limit: started when the connection is ready for that answer, stopped once it is complete. */
const answerBound = (timeoutMs: number) => {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let over = false;
  return {
    signal: controller.signal,
    start: () => {
      if (!over && timer === undefined)
        timer = setTimeout(() => controller.abort(new FetchProblem(`no complete answer within ${seconds(timeoutMs)}`)), timeoutMs);
    },
    stop: () => {
      over = true;
      clearTimeout(timer);
    },
  };
};

/**
 * The whole exchange's deadline: at `ms` it aborts with a FetchProblem saying `what` and destroys the dispatcher, so
 * whatever is still open fails.
 */
const deadlineOf = (ms: number, dispatcher: DispatcherType, what: string) => {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new FetchProblem(`${what} within ${seconds(ms)} in all`));
    dispatcher.destroy().catch(() => undefined);
  }, ms);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
};

/** Rejects with the signal's reason once it aborts: undici holds an aborted request that is not sent yet until it has a connection. */
const abortion = (signal: AbortSignal): Promise<never> =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

/**
 * GETs the URLs, pipelined on one connection. Each answer has its own bound, started when the connection is ready for
 * it: the first's once connected (connecting, a proxy's CONNECT and TLS have bounds of their own), each later one's
 * once the answer ahead of it is complete, so that a server answering one request at a time does not starve the last.
 * The whole fetch has a deadline, at which the dispatcher is destroyed and whatever is still open fails.
 */
export const getPipelined = async (
  wanted: readonly Wanted[],
  transport: Transport,
): Promise<Array<{ fetched: Fetched; untrusted: boolean }>> => {
  const { limits, userAgent } = transport;
  const bounds = wanted.map(() => answerBound(limits.timeoutMs));
  const dispatcher = dispatcherFor(new URL(wanted[0]!.url), transport, () => bounds[0]!.start());
  const deadline = deadlineOf(limits.deadlineMs, dispatcher, 'no complete answers');
  const answers = wanted.map(async (one, i) => {
    const signal = AbortSignal.any([bounds[i]!.signal, deadline.signal]);
    try {
      return await Promise.race([get(dispatcher, one, userAgent, signal), abortion(signal)]);
    } catch (error) {
      throw signal.aborted ? signal.reason : error;
    } finally {
      bounds[i]!.stop();
      bounds[i + 1]?.start();
    }
  });
  const results = await Promise.allSettled(answers);
  deadline.clear();
  // Closing is best effort: the answers are already read.
  dispatcher.destroy().catch(() => undefined);
  return results.map((result) => {
    if (result.status === 'fulfilled') return { fetched: { ok: true, body: result.value }, untrusted: false };
    const problem = describeFailure(result.reason, limits.timeoutMs);
    return { fetched: { ok: false, problem: problem.message }, untrusted: problem.untrusted };
  });
};

/**
 * One POST of a JSON body: the status and the first `maxBytes` of the answer, whatever the status, or what went wrong.
 * Bounded like a GET: the answer within `timeoutMs` once connected, everything within `deadlineMs`, at most
 * MAX_CONNECTIONS connection attempts. Redirects are not followed.
 */
export const postJson = async (
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  transport: Transport,
): Promise<{ posted: Posted; untrusted: boolean }> => {
  const { limits, userAgent } = transport;
  const bound = answerBound(limits.timeoutMs);
  const dispatcher = dispatcherFor(new URL(url), transport, () => bound.start());
  const deadline = deadlineOf(limits.deadlineMs, dispatcher, 'no complete answer');
  const signal = AbortSignal.any([bound.signal, deadline.signal]);
  try {
    const { origin, pathname, search } = new URL(url);
    const answer = async (): Promise<Posted> => {
      const response = await request(dispatcher, {
        origin,
        path: `${pathname}${search}`,
        method: 'POST',
        headers: { ...headers, 'user-agent': userAgent, accept: 'application/json', 'content-type': 'application/json' },
        body,
        signal,
      });
      // An error's words are worth keeping even when its body runs on: the first `maxBytes` of it.
      return { ok: true, status: response.statusCode, body: (await readUpTo(response.body, limits.maxBytes)).toString('utf8') };
    };
    return { posted: await Promise.race([answer(), abortion(signal)]), untrusted: false };
  } catch (error) {
    const problem = describeFailure(signal.aborted ? signal.reason : error, limits.timeoutMs);
    return { posted: { ok: false, problem: problem.message }, untrusted: problem.untrusted };
  } finally {
    bound.stop();
    deadline.clear();
    dispatcher.destroy().catch(() => undefined);
  }
};

export type ProbeStatus = (url: string, timeoutMs: number) => Promise<string>;

/**
 * The agent's local /readyz: `HTTP <status>`, or what went wrong. Never through a proxy (the address is the agent's own),
 * bounded in time and attempts, the body discarded.
 */
export const probeStatus: ProbeStatus = async (url, timeoutMs) => {
  const agent = new Agent({
    connect: { timeout: timeoutMs, lookup: loopbackLookup, ...LOOPBACK_ATTEMPTS(timeoutMs) },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    factory: boundedClients(timeoutMs, undefined),
  });
  try {
    const { origin, pathname } = new URL(url);
    const response = await request(agent, { origin, path: pathname, method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
    await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    return `HTTP ${response.statusCode}`;
  } catch (error) {
    return describeFailure(error, timeoutMs).message;
  } finally {
    agent.destroy().catch(() => undefined);
  }
};
