// A minimal Debian booted under systemd-nspawn, for the end-to-end test: built once with debootstrap, copied per run.
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { privateMounts } from './mount-namespace.ts';
import { sh } from './tools.ts';

const SUITE = 'bookworm';
const INCLUDE = ['systemd', 'systemd-sysv', 'dbus'];
/** Inside the container: nsenter keeps the caller's environment, which must not leak in. */
const CONTAINER_ENV = [
  'env',
  '-i',
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'LANG=C.UTF-8',
  'DEBIAN_FRONTEND=noninteractive',
];

/**
 * The debootstrapped base tree under `cache`, built when missing (about 40 s). The key names the suite and the packages,
 * so a change to either builds a new one; it is built beside and renamed, so an interrupted build is never used.
 */
export const baseRoot = async (cache: string, mirror: string): Promise<string> => {
  const tree = join(cache, `${SUITE}-minbase-${INCLUDE.join('-')}`);
  if (existsSync(join(tree, 'etc/os-release'))) return tree;
  const partial = `${tree}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(cache, { recursive: true });
  await sh('debootstrap', ['--variant=minbase', `--include=${INCLUDE.join(',')}`, SUITE, partial, mirror]);
  await rename(partial, tree);
  return tree;
};

export interface Container {
  /** Runs a command inside the booted container, with a clean environment; rejects on a non-zero exit. */
  exec(args: readonly string[], options?: { reject?: boolean }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Powers the container off and waits for nspawn to exit; kills it if it does not within 20 s. Safe to call twice. */
  stop(): Promise<void>;
  /** What nspawn printed (the container's console). */
  console(): string;
}

/**
 * Boots `root` with systemd-nspawn (the field report's flags: no machined registration, no host bus, a private network),
 * inside a private mount namespace with a tmpfs on /run/systemd, so nothing is left under the host's /run.
 */
export const bootContainer = async (root: string, name: string): Promise<Container> => {
  const script = 'mount -t tmpfs tmpfs /run/systemd && exec systemd-nspawn "$@"';
  const nspawn: ResultPromise = execa(
    'unshare',
    privateMounts(script, ['-D', root, '-b', '--register=no', '--keep-unit', '-M', name, '--private-network', '--console=pipe']),
    { reject: false, stdin: 'ignore', all: true, buffer: true },
  );
  let output = '';
  nspawn.all?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  let exited = false;
  void nspawn.then(() => {
    exited = true;
  });

  const deadline = Date.now() + 30_000;
  let init: string | undefined;
  while (init === undefined) {
    if (exited || Date.now() > deadline) throw new Error(`systemd-nspawn did not boot ${root}: ${output.slice(-2000)}`);
    const found = await execa('pgrep', ['-P', String(nspawn.pid), '-x', 'systemd'], { reject: false });
    if (found.exitCode === 0) init = found.stdout.trim().split('\n')[0];
    else await sleep(100);
  }
  const exec: Container['exec'] = async (args, options = {}) => {
    const result = await execa('nsenter', ['-t', init, '-a', ...CONTAINER_ENV, ...args], {
      reject: false,
      stdin: 'ignore',
      timeout: 300_000,
    });
    const out = { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
    if (out.exitCode !== 0 && options.reject !== false)
      throw new Error(`in the container, ${args.join(' ')} exited ${out.exitCode}: ${out.stderr}${out.stdout}`);
    return out;
  };
  // Until systemd has its private socket, systemctl cannot connect: retry. "degraded" is fine (units a container cannot
  // run); what matters is that boot finished.
  for (;;) {
    const state = (await exec(['systemctl', 'is-system-running', '--wait'], { reject: false })).stdout.trim();
    if (state === 'running' || state === 'degraded') break;
    if (exited || Date.now() > deadline)
      throw new Error(`the container did not finish booting (${state || 'no answer'}): ${output.slice(-2000)}`);
    await sleep(100);
  }
  const stop = async () => {
    if (exited) return;
    await exec(['systemctl', 'poweroff'], { reject: false }).catch(() => undefined);
    const killAt = Date.now() + 20_000;
    while (!exited && Date.now() < killAt) await sleep(100);
    if (!exited) nspawn.kill('SIGKILL');
    await nspawn;
  };
  return { exec, stop, console: () => output };
};
