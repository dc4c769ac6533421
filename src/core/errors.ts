// The updater's closed error taxonomy; each class carries the process exit status it maps to.
import type { Fields } from '../log/log.ts';

/** Exit statuses, documented in README.md. */
export const ExitStatus = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitStatus = (typeof ExitStatus)[keyof typeof ExitStatus];

/** An error the operator can act on: the message says what failed, the specifics and what to do. */
export abstract class UpdaterError extends Error {
  abstract readonly exitStatus: ExitStatus;
  /** Structured log fields (versions, package, reason, path) for the line that reports it. */
  readonly fields: Fields;
  constructor(message: string, fields: Fields = {}) {
    super(message);
    this.fields = fields;
  }
}

/** A file in the config dir is missing, empty where it must not be, or holds an invalid value. */
export class ConfigError extends UpdaterError {
  readonly exitStatus = ExitStatus.usage;
  override name = 'ConfigError';
}

/** The target version could not be fetched from the proxy, or its answer is not a version. */
export class TargetError extends UpdaterError {
  readonly exitStatus = ExitStatus.failed;
  override name = 'TargetError';
}

/** A package-manager step failed; carries the command and the tail of its output. */
export class InstallError extends UpdaterError {
  readonly exitStatus = ExitStatus.failed;
  override name = 'InstallError';
}

/** A file or directory the updater keeps its own data in (state dir, lock) cannot be used: not a directory, read-only, full. */
export class UnusablePathError extends UpdaterError {
  readonly exitStatus = ExitStatus.usage;
  override name = 'UnusablePathError';
  /** What is wrong, without the remedy: "no space is left on its file system (ENOSPC)". */
  readonly reason: string;
  constructor(message: string, reason: string, fields: Fields = {}) {
    super(message, fields);
    this.reason = reason;
  }
}

/** The decision itself is a refusal (a pre-release target without allow-prerelease). */
export class RefusedError extends UpdaterError {
  readonly exitStatus = ExitStatus.failed;
  override name = 'RefusedError';
}

/**
 * Characters that must never reach a terminal or the journal raw: C0 and C1 controls, DEL, line and paragraph
 * separators, and the bidirectional overrides that can make a line read differently from what it holds.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

const escapeChar = (c: string): string => {
  const code = c.charCodeAt(0);
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

const cut = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/** Escapes what is unsafe, keeping everything else as it is. */
export const escapeUnsafe = (text: string): string => text.replace(UNSAFE, escapeChar);

/**
 * One line of JSON in which nothing unsafe appears raw: JSON.stringify escapes C0 controls, and the rest of what is
 * unsafe (DEL, C1, separators, bidi overrides) becomes \\uXXXX too, which any JSON reader reads back unchanged.
 */
export const safeJson = (value: unknown): string =>
  JSON.stringify(value).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Truncates untrusted text (tool output, headers) and escapes what is unsafe, for a log line, unquoted. */
export const sanitize = (text: string, max = 500): string => escapeUnsafe(cut(text, max));

/** Truncates, escapes and quotes untrusted text (network bodies, headers, agent-written files) before it reaches a log line. */
export const quote = (text: string, max = 80): string => `"${cut(text, max).replace(/["\\]/g, (c) => `\\${c}`).replace(UNSAFE, escapeChar)}"`;
