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
