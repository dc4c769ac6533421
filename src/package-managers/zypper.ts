// zypper as data: commands scoped to the Teleport repository and pure parsers of its XML output.
import { isRpmFile, rpmInstalledQuery, parseRpmInstalled, rpmRepairSteps } from './rpm.ts';
import { rpmToSemver, semverToRpm } from '../version/package-version.ts';
import { queryProblem, type Available } from './query-problem.ts';
import type { InstallInput, PackageManager } from './types.ts';
import { MINUTE, type CommandResult, type Step } from '../core/command.ts';

const QUERY_TIMEOUT = 2 * MINUTE;
/** How long zypper waits for another process's zypp lock (ZYPP_LOCK_TIMEOUT, seconds; documented in README). */
export const ZYPP_LOCK_TIMEOUT_S = 120;
export const ZYPPER_TIMEOUT_MS = ZYPP_LOCK_TIMEOUT_S * 1000 + 15 * MINUTE;

const attribute = (tag: string, name: string): string | undefined => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

/** `<repo alias=… name=…><url>…</url>` of `zypper --xmlout repos`: alias `teleport`, else the first mentioning Teleport. */
export const parseRepoAliases = (xml: string): string | undefined => {
  const repos = [...xml.matchAll(/<repo\s[^>]*>[\s\S]*?<\/repo>/g)].map((m) => m[0]);
  const alias = (repo: string) => attribute(repo, 'alias');
  return repos.map(alias).find((a) => a === 'teleport') ?? repos.filter((r) => /teleport/i.test(r)).map(alias).find(Boolean);
};

/** Package names locked in `zypper --xmlout locks`. */
export const parseLocks = (xml: string): string[] => [...xml.matchAll(/<name>([^<]+)<\/name>/g)].map((m) => m[1]!);

/** Editions of `pkg` in `zypper --xmlout search --details`, as zypper orders them (newest first). */
export const parseSolvables = (xml: string, pkg: string, repo: string | undefined): string[] =>
  [...new Set([...xml.matchAll(/<solvable\s[^>]*\/>/g)].map((m) => m[0])
    .filter((s) => attribute(s, 'name') === pkg && attribute(s, 'kind') !== 'srcpackage' && (repo === undefined || attribute(s, 'repository') === repo))
    .map((s) => attribute(s, 'edition')!.replace(/^\d+:/, '')))];

/** zypper's exit status when a search found nothing, which is an answer. */
const ZYPPER_EXIT_NOT_FOUND = 104;

const unescapeXml = (text: string): string =>
  text.replace(/&(lt|gt|quot|apos|amp);/g, (_, name: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[name]!);

/** With --xmlout, zypper's errors are `<message type="error|warning">` elements on stdout. */
const xmlMessages = (xml: string): string[] =>
  [...xml.matchAll(/<message type="(?:error|warning)">([\s\S]*?)<\/message>/g)].map((m) => unescapeXml(m[1]!).replace(/\s+/g, ' '));

/** A search that failed (106: a repository was skipped, which reads as "not offered") is shown with zypper's messages. */
export const parseAvailable = (result: CommandResult, pkg: string): Available => {
  if (result.exitCode === 0) return { ok: true, versions: parseSolvables(result.stdout, pkg, undefined) };
  if (result.exitCode === ZYPPER_EXIT_NOT_FOUND) return { ok: true, versions: [] };
  return { ok: false, problem: queryProblem(result, [...xmlMessages(result.stdout), ...result.stderr.split('\n')]) };
};

const zypper = (...args: string[]) => ['zypper', '--non-interactive', ...args];
const lockEnv = { ZYPP_LOCK_TIMEOUT: String(ZYPP_LOCK_TIMEOUT_S) };
/** zypper's exit status when another process holds the zypp lock. */
const ZYPPER_EXIT_LOCKED = 7;

/**
 * zypper waits for its lock silently and names the holder only when it gives up. So the first step that takes the
 * lock asks once without waiting (zypper's answer, logged, names the holder), and only then waits the bounded time.
 */
const namingTheHolder = (step: Step): Step => ({ ...step, env: { ZYPP_LOCK_TIMEOUT: '0' }, fallback: step, fallbackOn: [ZYPPER_EXIT_LOCKED] });

export const zypperManager: PackageManager = {
  // --pkg-cache-dir: into a directory of our own (under it, zypper adds the repository alias and the arch).
  downloadStep: ({ pkg, packageVersion }, dir) => ({
    argv: zypper('--pkg-cache-dir', dir, 'download', `${pkg}=${packageVersion}`), env: lockEnv, timeoutMs: ZYPPER_TIMEOUT_MS,
    purpose: `keep a copy of ${pkg} ${packageVersion} for a rollback`,
  }),
  isPackageFile: isRpmFile,
  name: 'zypper',
  tool: 'zypper',
  installedQuery: rpmInstalledQuery,
  parseInstalled: parseRpmInstalled,
  repoQuery: { argv: zypper('--xmlout', 'repos'), timeoutMs: QUERY_TIMEOUT, env: lockEnv },
  repoReads: () => ({ files: [], dirs: [] }),
  findRepo: (result) => parseRepoAliases(result.stdout),
  lockProbe: (pkg) => ({ argv: zypper('search', '--match-exact', '--type', 'package', pkg), env: { ZYPP_LOCK_TIMEOUT: '0' }, timeoutMs: QUERY_TIMEOUT }),
  heldQuery: () => ({ argv: zypper('--xmlout', 'locks'), timeoutMs: QUERY_TIMEOUT, env: lockEnv }),
  parseHeld: (result, pkg) => parseLocks(result.stdout).includes(pkg),
  refreshStep: (repo) => ({
    argv: repo === undefined ? zypper('refresh') : zypper('refresh', repo),
    env: lockEnv,
    timeoutMs: ZYPPER_TIMEOUT_MS,
    purpose: repo === undefined ? 'refresh all repositories' : `refresh the Teleport repository (${repo})`,
    mayFail: true,
  }),
  availableQuery: (pkg) => ({ argv: zypper('--xmlout', 'search', '--details', '--match-exact', '--type', 'package', pkg), timeoutMs: QUERY_TIMEOUT, env: lockEnv }),
  parseAvailable,
  toSemver: rpmToSemver,
  fromSemver: semverToRpm,
  installSteps: (input) => installSteps(input, false),
  reinstallSteps: (input) => installSteps(input, true),
  holdSteps,
  verifyQuery: (pkg) => ({ argv: ['rpm', '-V', pkg], timeoutMs: 5 * MINUTE }),
  repairSteps: rpmRepairSteps,
};

function installSteps(input: InstallInput, force: boolean): Step[] {
  const [first, ...rest] = steps(input, force);
  return first === undefined ? [] : [namingTheHolder(first), ...rest];
}

function steps({ pkg, packageVersion, held, repo, file }: InstallInput, force: boolean): Step[] {
  return [
    // The v1 version lock is a zypper lock: lift it for this install only.
    ...(held ? [{ argv: zypper('removelock', pkg), env: lockEnv, timeoutMs: QUERY_TIMEOUT, purpose: `lift the lock on ${pkg}` }] : []),
    {
      // --oldpackage: without it a downgrade prints "Nothing to do" and exits 0.
      // --force: the same version again, over damaged files.
      // A kept package file is named by its path, outside any repository. --download-in-advance: zypper checks file
      // conflicts only for packages already downloaded; without it a conflicting file is silently overwritten.
      // A kept file was downloaded through the (signature-checked) repository into the root-only state dir; zypper's
      // command-line repository would still refuse it when the repository's packages are unsigned.
      argv: zypper('install', '--oldpackage', '--download-in-advance', ...(force ? ['--force'] : []), ...(file === undefined ? [] : ['--allow-unsigned-rpm']), ...(repo === undefined || file !== undefined ? [] : ['--repo', repo]), file ?? `${pkg}=${packageVersion}`),
      env: lockEnv,
      timeoutMs: ZYPPER_TIMEOUT_MS,
      purpose: `${force ? 'reinstall' : 'install'} ${pkg}=${packageVersion}`,
    },
    ...(held ? holdSteps(pkg) : []),
  ];
}

/** Puts the v1 version lock back: runs even after a failed install, and again after an interrupted one. */
function holdSteps(pkg: string): Step[] {
  return [{ argv: zypper('addlock', pkg), env: lockEnv, timeoutMs: QUERY_TIMEOUT, purpose: `put the lock on ${pkg} back`, always: true }];
}
