// zypper as one unit: commands scoped to the Teleport repository, what it is asked, and pure parsers of its XML output.
import { sanitize } from '../core/text.ts';
import { isRpmFile, rpmDatabase } from './rpm.ts';
import { rpmToSemver, semverToRpm } from '../version/package-version.ts';
import { queryProblem, type Available } from './query-problem.ts';
import type { Ask, InstallInput, PackageManager } from './types.ts';
import { MINUTE, type Command, type CommandResult, type Step } from '../core/command.ts';

const QUERY_TIMEOUT = 2 * MINUTE;
/** How long zypper waits for another process's zypp lock (ZYPP_LOCK_TIMEOUT, seconds; documented in README). */
export const ZYPP_LOCK_TIMEOUT_S = 120;
export const ZYPPER_TIMEOUT_MS = ZYPP_LOCK_TIMEOUT_S * 1000 + 15 * MINUTE;

const attribute = (tag: string, name: string): string | undefined => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

/** `<repo alias=… name=…><url>…</url>` of `zypper --xmlout repos`: alias `teleport`, else the first mentioning Teleport. */
export const parseRepoAliases = (xml: string): string | undefined => {
  const repos = [...xml.matchAll(/<repo\s[^>]*>[\s\S]*?<\/repo>/g)].map((m) => m[0]);
  const alias = (repo: string) => attribute(repo, 'alias');
  return (
    repos.map(alias).find((a) => a === 'teleport') ??
    repos
      .filter((r) => /teleport/i.test(r))
      .map(alias)
      .find(Boolean)
  );
};

/** Package names locked in `zypper --xmlout locks`. */
export const parseLocks = (xml: string): string[] => [...xml.matchAll(/<name>([^<]+)<\/name>/g)].map((m) => m[1]!);

/** Editions of `pkg` in `zypper --xmlout search --details`, as zypper orders them (newest first). */
export const parseSolvables = (xml: string, pkg: string, repo: string | undefined): string[] => [
  ...new Set(
    [...xml.matchAll(/<solvable\s[^>]*\/>/g)]
      .map((m) => m[0])
      .filter(
        (s) =>
          attribute(s, 'name') === pkg &&
          attribute(s, 'kind') !== 'srcpackage' &&
          (repo === undefined || attribute(s, 'repository') === repo),
      )
      .map((s) => attribute(s, 'edition')!.replace(/^\d+:/, '')),
  ),
];

/** zypper's exit status when a search found nothing, which is an answer. */
const ZYPPER_EXIT_NOT_FOUND = 104;

const unescapeXml = (text: string): string =>
  text.replace(/&(lt|gt|quot|apos|amp);/g, (_, name: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[name]!);

/** With --xmlout, zypper's errors are `<message type="error|warning">` elements on stdout. */
const xmlMessages = (xml: string): string[] =>
  [...xml.matchAll(/<message type="(?:error|warning)">([\s\S]*?)<\/message>/g)].map((m) => unescapeXml(m[1]!).replace(/\s+/g, ' '));

/** A search that failed (106: a repository was skipped, which reads as "not offered") is shown with zypper's messages. */
export const parseAvailable = (command: Command, result: CommandResult, pkg: string): Available => {
  if (result.exitCode === 0) return { ok: true, versions: parseSolvables(result.stdout, pkg, undefined) };
  if (result.exitCode === ZYPPER_EXIT_NOT_FOUND) return { ok: true, versions: [] };
  return { ok: false, problem: queryProblem(command, result, [...xmlMessages(result.stdout), ...result.stderr.split('\n')]) };
};

const zypper = (...args: string[]) => ['zypper', '--non-interactive', ...args];
const lockEnv = { ZYPP_LOCK_TIMEOUT: String(ZYPP_LOCK_TIMEOUT_S) };
/** zypper's exit status when another process holds the zypp lock. */
const ZYPPER_EXIT_LOCKED = 7;

/**
 * zypper waits for its lock silently and names the holder only when it gives up. So the first step that takes the
 * lock asks once without waiting (zypper's answer, logged, names the holder), and only then waits the bounded time.
 */
const namingTheHolder = (step: Step): Step => ({
  ...step,
  env: { ZYPP_LOCK_TIMEOUT: '0' },
  fallback: step,
  fallbackOn: [ZYPPER_EXIT_LOCKED],
});

/**
 * A query that takes the zypp lock, which zypper waits for silently: asked once without waiting, so that when the lock
 * is held zypper's answer names the holder (for the log), then again within the bound.
 */
const query = async (ask: Ask, argv: string[]): Promise<{ command: Command; result: CommandResult }> => {
  const first = await ask.run({ argv, env: { ZYPP_LOCK_TIMEOUT: '0' }, timeoutMs: QUERY_TIMEOUT });
  if (first.exitCode !== ZYPPER_EXIT_LOCKED) return { command: { argv, timeoutMs: QUERY_TIMEOUT }, result: first };
  const holder = [...xmlMessages(first.stdout), ...first.stderr.split('\n')].map((line) => line.trim()).find(Boolean);
  ask.warn(`zypper: ${sanitize(holder ?? 'the zypp lock is held')} Waiting for it, within the bounds.`);
  const command: Command = { argv, env: lockEnv, timeoutMs: ZYPPER_TIMEOUT_MS };
  return { command, result: await ask.run(command) };
};

export const zypperManager: PackageManager = {
  name: 'zypper',
  tool: 'zypper',
  ...rpmDatabase,
  teleportRepo: async (ask) => parseRepoAliases((await query(ask, zypper('--xmlout', 'repos'))).result.stdout),
  available: async (ask, pkg) => {
    const { command, result } = await query(ask, zypper('--xmlout', 'search', '--details', '--match-exact', '--type', 'package', pkg));
    return parseAvailable(command, result, pkg);
  },
  held: async (ask, _installed, pkg) => parseLocks((await query(ask, zypper('--xmlout', 'locks'))).result.stdout).includes(pkg),
  cachedFile: async () => undefined,
  // --pkg-cache-dir: into a directory of our own (under it, zypper adds the repository alias and the arch).
  downloadStep: async (_ask, { pkg, packageVersion }, dir) => ({
    argv: zypper('--pkg-cache-dir', dir, 'download', `${pkg}=${packageVersion}`),
    env: lockEnv,
    timeoutMs: ZYPPER_TIMEOUT_MS,
    purpose: `keep a copy of ${pkg} ${packageVersion} for a rollback`,
  }),
  refreshStep: (repo) => ({
    argv: repo === undefined ? zypper('refresh') : zypper('refresh', repo),
    env: lockEnv,
    timeoutMs: ZYPPER_TIMEOUT_MS,
    purpose: repo === undefined ? 'refresh all repositories' : `refresh the Teleport repository (${repo})`,
    mayFail: true,
  }),
  installSteps,
  holdSteps,
  toSemver: rpmToSemver,
  fromSemver: semverToRpm,
  isPackageFile: isRpmFile,
};

function installSteps(input: InstallInput): Step[] {
  const [first, ...rest] = steps(input);
  return first === undefined ? [] : [namingTheHolder(first), ...rest];
}

function steps({ pkg, packageVersion, held, repo, file, reinstall: force = false }: InstallInput): Step[] {
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
      argv: zypper(
        'install',
        '--oldpackage',
        '--download-in-advance',
        ...(force ? ['--force'] : []),
        ...(file === undefined ? [] : ['--allow-unsigned-rpm']),
        ...(repo === undefined || file !== undefined ? [] : ['--repo', repo]),
        file ?? `${pkg}=${packageVersion}`,
      ),
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
