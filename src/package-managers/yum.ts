// yum/dnf as data: commands scoped to the Teleport repository and pure parsers of their output.
import { isRpmFile, rpmInstalledQuery, parseRpmInstalled, rpmRepairSteps } from './rpm.ts';
import { rpmToSemver, semverToRpm } from '../version/package-version.ts';
import { queryProblem, type Available } from './query-problem.ts';
import type { PackageManager } from './types.ts';
import { MINUTE, SECOND, type CommandResult } from '../core/command.ts';

const QUERY_TIMEOUT = 2 * MINUTE;
/** How long a whole dnf/yum transaction may take, waiting for another one's rpm lock included (documented in README). */
export const YUM_TIMEOUT_MS = 15 * MINUTE;

/** `repo id   repo name   status` rows of `repolist --all`: the id `teleport`, else the first id or name mentioning Teleport. */
export const parseRepoIds = (stdout: string): string | undefined => {
  const rows = stdout.split('\n').slice(1).map((line) => line.trim().split(/\s+/)).filter((cols) => cols[0]);
  return rows.find((cols) => cols[0] === 'teleport')?.[0] ?? rows.find((cols) => /teleport/i.test(cols.join(' ')))?.[0];
};

/** `name.arch  [epoch:]version-release  repo` rows of `list --showduplicates`, newest last as yum prints them. */
export const parseListed = (result: CommandResult, pkg: string): string[] => {
  const versions = result.stdout.split('\n').flatMap((line) => {
    const [nameArch, evr] = line.trim().split(/\s+/);
    return nameArch !== undefined && evr !== undefined && nameArch.replace(/\.[^.]+$/, '') === pkg ? [evr.replace(/^\d+:/, '')] : [];
  });
  return [...new Set(versions)].reverse();
};

/** Only the Teleport repository, through the v1 version lock (a repo `exclude=`), which stays in place. */
const scoped = (repo: string | undefined): string[] =>
  repo === undefined ? [] : ['--disablerepo=*', `--enablerepo=${repo}`, `--disableexcludes=${repo}`];

/** The patterns of `Repo-exclude : a, b*` in `repoinfo`, with the indented lines dnf continues a long list on. */
export const repoExcludes = (stdout: string): string[] => {
  const lines = stdout.split('\n');
  const first = lines.findIndex((line) => /^Repo-exclude\s*:/.test(line));
  if (first < 0) return [];
  const rest = lines.slice(first + 1);
  const continued = rest.slice(0, Math.max(0, rest.findIndex((line) => !/^\s/.test(line))));
  return [lines[first]!.replace(/^Repo-exclude\s*:/, ''), ...continued.map((line) => line.replace(/^\s*:?/, ''))].join(' ').split(/[\s,]+/).filter(Boolean);
};

/** yum's exclude patterns are shell globs. */
const globMatches = (pattern: string, name: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(name);

/** A repository whose metadata cannot be had is an error, not silently skipped (which reads as "no such version"). */
const STRICT = '--setopt=skip_if_unavailable=0';

/**
 * `list available` exits 1 both when nothing matches and when it failed: only an "Error:" other than "No matching
 * Packages to list" is a failure.
 */
export const parseAvailable = (result: CommandResult, pkg: string): Available => {
  if (result.exitCode === 0) return { ok: true, versions: parseListed(result, pkg) };
  const errors = result.stderr.split('\n').filter((line) => /^Error:/.test(line.trim()));
  if (result.exitCode === 1 && errors.length > 0 && errors.every((line) => /No matching Packages to list/i.test(line))) return { ok: true, versions: [] };
  return { ok: false, problem: queryProblem(result) };
};

/** yum/dnf; `tool` is dnf when the host has it, else yum. */
export const yumManager = (tool: 'dnf' | 'yum'): PackageManager => ({
  name: 'yum',
  tool,
  installedQuery: rpmInstalledQuery,
  parseInstalled: parseRpmInstalled,
  repoQuery: { argv: [tool, '-q', 'repolist', 'all'], timeoutMs: QUERY_TIMEOUT },
  repoReads: () => ({ files: [], dirs: [] }),
  findRepo: (result) => parseRepoIds(result.stdout),
  refreshStep: (repo) => ({
    argv: [tool, '-y', STRICT, ...scoped(repo), 'makecache'],
    timeoutMs: QUERY_TIMEOUT,
    purpose: repo === undefined ? 'refresh all repositories' : `refresh the Teleport repository (${repo})`,
    // Whether the exact version is then offered decides, not makecache's status.
    mayFail: true,
  }),
  availableQuery: (pkg, repo) => ({ argv: [tool, '-q', STRICT, ...scoped(repo), '--showduplicates', 'list', 'available', pkg], timeoutMs: QUERY_TIMEOUT }),
  parseAvailable,
  toSemver: rpmToSemver,
  fromSemver: semverToRpm,
  reinstallSteps: ({ pkg, packageVersion, repo }) => [{
    argv: [tool, '-y', ...scoped(repo), 'reinstall', `${pkg}-${packageVersion}`],
    timeoutMs: YUM_TIMEOUT_MS,
    purpose: `reinstall ${pkg}-${packageVersion}`,
  }],
  // The v1 version lock is a repo exclude, which every command bypasses (--disableexcludes) and never lifts.
  heldQuery: (_pkg, repo) => (repo === undefined ? undefined : { argv: [tool, '-q', 'repoinfo', repo], timeoutMs: QUERY_TIMEOUT }),
  parseHeld: (result, pkg) => result.exitCode === 0 && repoExcludes(result.stdout).some((pattern) => globMatches(pattern, pkg)),
  holdSteps: () => [],
  verifyQuery: (pkg) => ({ argv: ['rpm', '-V', pkg], timeoutMs: 5 * MINUTE }),
  // The installed version again, downloaded only (yum 3 needs its downloadonly plugin).
  downloadStep: ({ pkg, packageVersion, repo }, dir) => ({
    argv: [tool, '-y', ...scoped(repo), 'reinstall', '--downloadonly', `--downloaddir=${dir}`, `${pkg}-${packageVersion}`],
    timeoutMs: YUM_TIMEOUT_MS,
    purpose: `keep a copy of ${pkg}-${packageVersion} for a rollback`,
  }),
  isPackageFile: isRpmFile,
  repairSteps: rpmRepairSteps,
  installSteps: ({ pkg, packageVersion, downgrade, repo, file }) => [{
    // Real yum 3 does not downgrade through install; dnf accepts both. A kept package file is named by its path.
    argv: [tool, '-y', ...scoped(repo), downgrade ? 'downgrade' : 'install', file ?? `${pkg}-${packageVersion}`],
    timeoutMs: YUM_TIMEOUT_MS,
    purpose: `${downgrade ? 'downgrade' : 'install'} ${pkg}-${packageVersion}`,
  }],
});
