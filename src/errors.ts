// The updater's closed error taxonomy; each class carries the process exit status it maps to.

/** Exit statuses, documented in README.md. */
export const ExitStatus = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitStatus = (typeof ExitStatus)[keyof typeof ExitStatus];

/** An error the operator can act on: the message says what failed, the specifics and what to do. */
export abstract class UpdaterError extends Error {
  abstract readonly exitStatus: ExitStatus;
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

/** The decision itself is a refusal (a pre-release target without allow-prerelease). */
export class RefusedError extends UpdaterError {
  readonly exitStatus = ExitStatus.failed;
  override name = 'RefusedError';
}

/** Escapes and truncates untrusted text (network bodies, agent-written files) before it reaches a log line. */
export const quote = (text: string, max = 80): string => {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
};
