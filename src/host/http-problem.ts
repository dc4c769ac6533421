// HTTP failures in the operator's words: a timeout, an untrusted certificate, a proxy's refusal, a refused connection.
import { STATUS_CODES } from 'node:http';
import { quote, sanitize } from '../core/text.ts';

/** Certificate errors that mean "not signed by a CA we know", which the OS trust store may still know. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

/** A failure already put in the operator's words; `code` keeps undici from treating it as a socket to retry. */
export class FetchProblem extends Error {
  readonly code = 'TELEPORT_UPGRADE_FETCH';
  /** The certificate is signed by a CA the store used does not know. */
  readonly untrusted: boolean;
  constructor(message: string, untrusted = false) {
    super(message);
    this.untrusted = untrusted;
  }
}

export const seconds = (ms: number): string => `${ms / 1000} s`;

/** What an operator of this updater does about a certificate nobody here vouches for (Node's own hint names its flags). */
const untrustedCertificate = (code: string): string =>
  `the server's certificate is not signed by a CA this host trusts (${code}). If it is your own CA, add it to the operating ` +
  "system's trust store (update-ca-certificates on Debian, Ubuntu and SUSE; update-ca-trust on the Red Hat family), or " +
  'point SSL_CERT_FILE at a bundle that holds it; NODE_EXTRA_CA_CERTS adds one as well. TLS is always verified';

/** Any failure of a request, as a FetchProblem; `timeoutMs` is the bound a timeout was. */
export const describeFailure = (error: unknown, timeoutMs: number): FetchProblem => {
  if (error instanceof FetchProblem) return error;
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
    return new FetchProblem(`no complete answer within ${seconds(timeoutMs)}`);
  }
  // Every address of the name failed (Node's happy eyeballs): each one's own failure, as `connect ECONNREFUSED ::1:443`.
  if (error instanceof AggregateError && error.errors.length > 0) {
    const each = error.errors.map((inner: { message?: string }) => inner.message ?? String(inner));
    return new FetchProblem(sanitize(`no address answered: ${each.join('; ')}`, 300));
  }
  const code = e.code ?? e.cause?.code;
  if (code !== undefined && UNTRUSTED.has(code)) return new FetchProblem(untrustedCertificate(code), true);
  const message = sanitize(e.cause?.message ?? e.message ?? String(error), 300);
  return new FetchProblem(code && !message.includes(code) ? `${code}: ${message}` : message);
};

/** A proxy URL without its credentials, for messages. */
export const proxyForMessages = (raw: string): string => {
  try {
    return new URL(raw).origin;
  } catch {
    return quote(raw, 100);
  }
};

/**
 * Connection failures in the operator's words, and never retried by undici: a proxy's own answer to CONNECT is named,
 * and a proxy that closes the connection without answering is not reconnected to forever (undici retries a socket
 * error at connect time without end). Any other failure through a proxy says so. `proxy` is the proxy's URL, if any.
 */
export const connectProblem = (error: Error & { code?: string }, timeoutMs: number, proxy: string | undefined): FetchProblem => {
  if (proxy === undefined) return describeFailure(error, timeoutMs);
  const at = `the proxy at ${proxyForMessages(proxy)}`;
  const answered = /^Proxy response \((\d{3})\)/.exec(error.message);
  if (answered) {
    const status = Number(answered[1]);
    return new FetchProblem(`${at} answered ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd());
  }
  if (error.code === 'UND_ERR_SOCKET' || error.code === 'UND_ERR_ABORTED') {
    return new FetchProblem(`${at} closed the connection without answering the CONNECT request (${sanitize(error.message, 200)})`);
  }
  if (error.code === 'UND_ERR_HEADERS_TIMEOUT')
    return new FetchProblem(`${at} did not answer the CONNECT request within ${seconds(timeoutMs)}`);
  const problem = describeFailure(error, timeoutMs);
  return new FetchProblem(`${problem.message} (through ${at})`, problem.untrusted);
};
