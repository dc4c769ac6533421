// Runs the CLI in a private mount namespace of its own, after mounting what a test needs there (a tiny or read-only
// tmpfs, an empty /etc/hosts): the host's mounts and files never change.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { cleanEnv, type CliResult, cliCommand } from './cli.ts';

/**
 * unshare's arguments that run `script` with `sh -c` (`args` as $1…) in a private mount namespace of its own: what the
 * script mounts is gone when it exits, and the host's mounts never change.
 */
export const privateMounts = (script: string, args: readonly string[]): string[] => [
  '-m',
  '--propagation',
  'private',
  'sh',
  '-c',
  script,
  'sh',
  ...args,
];

/** Why mounts cannot be made here (no root, no unshare, a container without CAP_SYS_ADMIN), or undefined when they can. */
export const mountsMissing = async (): Promise<string | undefined> => {
  const dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-mount-probe-'));
  try {
    const probe = await execa(
      'unshare',
      privateMounts('mount -t tmpfs -o size=16k tmpfs "$1" && mount --bind /dev/null /etc/hostname', [dir]),
      {
        reject: false,
      },
    );
    return probe.exitCode === 0
      ? undefined
      : `mounting in a private mount namespace is impossible here (${String(probe.stderr || probe.message || 'unshare failed').trim()})`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

/**
 * Runs `teleport-upgrade ARGS` with `env` in a new mount namespace: `setup` (shell, `set -e`) runs first, `after` once
 * the CLI has exited (its status is kept). Positional parameters are not available to either; pass paths through env.
 */
export const cliInNamespace = async (
  args: readonly string[],
  env: Record<string, string>,
  setup: string,
  after = '',
): Promise<CliResult> => {
  const script = `set -e\n${setup}\nset +e\n"$@"\nstatus=$?\n${after}\nexit $status`;
  const result = await execa('unshare', privateMounts(script, [...cliCommand(), ...args]), {
    env: cleanEnv(env),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: 120_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
};
