// yum, dnf 4 and dnf5 as one unit: commands scoped to the Teleport repository that all of them understand, what they are
// asked, and pure parsers of their answers. dnf5 differs in one command (the rollback copy's download), asked of the host.
import { isRpmFile, rpmDatabase } from './rpm.ts';
import { rpmToSemver, semverToRpm } from '../version/package-version.ts';
import { queryProblem, type Available } from './query-problem.ts';
import type { PackageManager } from './types.ts';
import { MINUTE, type Command, type CommandResult } from '../core/command.ts';

const QUERY_TIMEOUT = 2 * MINUTE;
/** How long a whole dnf/yum transaction may take, waiting for another one's rpm lock included (documented in README). */
export const YUM_TIMEOUT_MS = 15 * MINUTE;

/** `repo id   repo name   status` rows of `repolist --all`: the id `teleport`, else the first id or name mentioning Teleport. */
export const parseRepoIds = (stdout: string): string | undefined => {
  const rows = stdout
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[0]);
  return rows.find((cols) => cols[0] === 'teleport')?.[0] ?? rows.find((cols) => /teleport/i.test(cols.join(' ')))?.[0];
};

/** `name.arch  [epoch:]version-release  repo` rows of `list --showduplicates` (oldest first as yum and dnf print them), newest first. */
export const parseListed = (result: CommandResult, pkg: string): string[] => {
  const versions = result.stdout.split('\n').flatMap((line) => {
    const [nameArch, evr] = line.trim().split(/\s+/);
    return nameArch !== undefined && evr !== undefined && nameArch.replace(/\.[^.]+$/, '') === pkg ? [evr.replace(/^\d+:/, '')] : [];
  });
  return [...new Set(versions)].reverse();
};

/**
 * Only the Teleport repository, through the v1 version lock (a repo `exclude=`), which stays in place. dnf5 dropped
 * --disableexcludes; the disable_excludes setting is understood by dnf 4 and dnf5 alike.
 */
const scoped = (repo: string | undefined): string[] =>
  repo === undefined ? [] : ['--disablerepo=*', `--enablerepo=${repo}`, `--setopt=disable_excludes=${repo}`];

/** The label of the exclude list in `repoinfo`: `Repo-exclude` (dnf 4), `Exclude packages` (dnf5). */
const EXCLUDE = /^(Repo-exclude|Exclude packages)\s*:/;

/** The patterns of `Repo-exclude : a, b*` in `repoinfo`, with the indented lines dnf continues a long list on. */
export const repoExcludes = (stdout: string): string[] => {
  const lines = stdout.split('\n');
  const first = lines.findIndex((line) => EXCLUDE.test(line));
  if (first < 0) return [];
  const rest = lines.slice(first + 1);
  const continued = rest.slice(
    0,
    Math.max(
      0,
      rest.findIndex((line) => !/^\s+:/.test(line)),
    ),
  );
  return [lines[first]!.replace(EXCLUDE, ''), ...continued.map((line) => line.replace(/^\s*:?/, ''))]
    .join(' ')
    .split(/[\s,]+/)
    .filter(Boolean);
};

/** yum's exclude patterns are shell globs. */
const globMatches = (pattern: string, name: string): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(name);

/** A repository whose metadata cannot be had is an error, not silently skipped (which reads as "no such version"). */
const STRICT = '--setopt=skip_if_unavailable=0';

/** What dnf 4 (`Error: No matching Packages to list`) and dnf5 (`No matches found.`, or nothing with -q) say for "none". */
const NOTHING_MATCHES = /^(Error: )?No match(es found|ing packages to list)\.?$/i;

/**
 * `list` exits 1 both when nothing matches and when it failed: it is "not offered" only when all it said, if anything,
 * is that nothing matches (a repository that cannot be read says so, and is a failure).
 */
export const parseAvailable = (command: Command, result: CommandResult, pkg: string): Available => {
  if (result.exitCode === 0) return { ok: true, versions: parseListed(result, pkg) };
  const said = result.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (result.exitCode === 1 && said.every((line) => NOTHING_MATCHES.test(line))) return { ok: true, versions: [] };
  return { ok: false, problem: queryProblem(command, result) };
};

/** Which dnf the host's `dnf` is, asked of it: dnf5 prints "dnf5 version 5.x", dnf 4 its bare version. */
export const isDnf5 = (result: CommandResult): boolean => result.exitCode === 0 && /^dnf5 version /m.test(result.stdout);

/** yum/dnf; `tool` is dnf when the host has it, else yum. */
export const yumManager = (tool: 'dnf' | 'yum'): PackageManager => ({
  name: 'yum',
  tool,
  ...rpmDatabase,
  teleportRepo: async (ask) => parseRepoIds((await ask.run({ argv: [tool, '-q', 'repolist', '--all'], timeoutMs: QUERY_TIMEOUT })).stdout),
  available: async (ask, pkg, repo) => {
    const query: Command = {
      argv: [tool, '-q', STRICT, ...scoped(repo), 'list', '--showduplicates', '--available', pkg],
      timeoutMs: QUERY_TIMEOUT,
    };
    return parseAvailable(query, await ask.run(query), pkg);
  },
  // The v1 version lock is a repo exclude, which every command bypasses (disable_excludes) and never lifts.
  held: async (ask, _installed, pkg, repo) => {
    if (repo === undefined) return false;
    const result = await ask.run({ argv: [tool, '-q', 'repoinfo', repo], timeoutMs: QUERY_TIMEOUT });
    return result.exitCode === 0 && repoExcludes(result.stdout).some((pattern) => globMatches(pattern, pkg));
  },
  cachedFile: async () => undefined,
  // The installed version again, downloaded only: dnf5's download command, or dnf 4's and yum's reinstall
  // --downloadonly (dnf 4's download is a plugin a host may lack; dnf5 has no --downloaddir).
  downloadStep: async (ask, { pkg, packageVersion, repo }, dir) => {
    const dnf5 = tool === 'dnf' && isDnf5(await ask.run({ argv: ['dnf', '--version'], timeoutMs: QUERY_TIMEOUT }));
    return {
      argv: [
        tool,
        '-y',
        ...scoped(repo),
        ...(dnf5 ? ['download', `--destdir=${dir}`] : ['reinstall', '--downloadonly', `--downloaddir=${dir}`]),
        `${pkg}-${packageVersion}`,
      ],
      timeoutMs: YUM_TIMEOUT_MS,
      purpose: `keep a copy of ${pkg}-${packageVersion} for a rollback`,
    };
  },
  refreshStep: (repo) => ({
    argv: [tool, '-y', STRICT, ...scoped(repo), 'makecache'],
    timeoutMs: QUERY_TIMEOUT,
    purpose: repo === undefined ? 'refresh all repositories' : `refresh the Teleport repository (${repo})`,
    // Whether the exact version is then offered decides, not makecache's status.
    mayFail: true,
  }),
  installSteps: ({ pkg, packageVersion, downgrade, repo, file, reinstall }) => {
    // Real yum 3 does not downgrade through install; dnf accepts both. A kept package file is named by its path.
    const verb = reinstall ? 'reinstall' : downgrade ? 'downgrade' : 'install';
    return [
      {
        argv: [tool, '-y', ...scoped(repo), verb, file ?? `${pkg}-${packageVersion}`],
        timeoutMs: YUM_TIMEOUT_MS,
        purpose: `${verb} ${pkg}-${packageVersion}`,
      },
    ];
  },
  holdSteps: () => [],
  toSemver: rpmToSemver,
  fromSemver: semverToRpm,
  isPackageFile: isRpmFile,
});
