// Runs the real CLI as a process, with a controlled environment.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { BUNDLE, bundleIsFresh } from '../../bin/teleport-upgrade.ts';

/** The CLI from its TypeScript sources. */
export const SOURCE_BIN = fileURLToPath(new URL('../../src/bin.ts', import.meta.url));

let checked = false;

/**
 * The CLI as it ships: the esbuild bundle of the sources, which starts in half the time (a test suite runs it hundreds
 * of times). `npm test` builds it first; a bundle older than any source is refused rather than tested.
 */
export const bin = (): string => {
  if (!checked && !bundleIsFresh())
    throw new Error(`${BUNDLE} is missing or older than the sources or the lockfile: run npm run build (npm test builds it first).`);
  checked = true;
  return BUNDLE;
};

let flags: string[] | undefined;

/**
 * The Node flags the bundle's shebang (`#!/usr/bin/env -S node <flags>`) starts it with: the tests run the CLI exactly
 * as an installed bundle runs.
 */
export const bundleFlags = (): string[] => {
  if (flags === undefined) {
    const shebang = readFileSync(bin(), 'utf8').split('\n', 1)[0] ?? '';
    const parsed = /^#!\/usr\/bin\/env (?:-S )?node((?: --[a-z-]+)*)$/.exec(shebang);
    if (parsed === null) throw new Error(`${BUNDLE} does not start with a node shebang: ${JSON.stringify(shebang)}`);
    flags = parsed[1]!.split(' ').filter((flag) => flag !== '');
  }
  return flags;
};

/** Node, the bundle's flags and the bundle: the argv that runs the CLI as its shebang would. */
export const cliCommand = (): string[] => [process.execPath, ...bundleFlags(), bin()];

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Variables from the developer's or CI's environment that would change what the CLI does. */
const SCRUBBED = [
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'NO_PROXY',
  'no_proxy',
  'JOURNAL_STREAM',
  'TELEPORT_UPGRADE_CONFIG_DIR',
  'TELEPORT_UPGRADE_STATE_DIR',
  'APT_CONFIG',
  'DPKG_ROOT',
  'DPKG_ADMINDIR',
];

/** Node's compile cache for the CLI's sources, shared by every run of it in the tests: it halves each one's start-up. */
const COMPILE_CACHE = join(tmpdir(), 'teleport-upgrade-test-compile-cache');

export const cleanEnv = (env: Readonly<Record<string, string>> = {}): Record<string, string> => {
  const base: Record<string, string> = { NODE_COMPILE_CACHE: COMPILE_CACHE };
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !SCRUBBED.includes(key)) base[key] = value;
  return { ...base, ...env };
};

/** Runs the CLI; callers that reach the package databases must pass a test HOME (Debian's rpm keeps its database under $HOME). */
export const runCli = async (args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<CliResult> => {
  const [node, ...argv] = cliCommand();
  const result = await execa(node!, [...argv, ...args], {
    env: cleanEnv(env),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: 120_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
};
