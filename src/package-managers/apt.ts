// apt and dpkg as one unit: the exact commands the updater runs, what it asks the host, and pure parsers of the answers.
import { debToSemver } from '../version/package-version.ts';
import { queryProblem } from './query-problem.ts';
import type { Ask, InstallInput, InstalledPackage, PackageManager, SourceFile } from './types.ts';
import { listedPaths, parseVerify } from './verify.ts';
import { MINUTE, SECOND, type Command, type CommandResult, type Step } from '../core/command.ts';

/** How long apt-get install waits for another apt/dpkg to release the dpkg lock (documented in README). */
export const DPKG_LOCK_TIMEOUT_S = 120;
const QUERY_TIMEOUT = 30 * SECOND;

const STATUS_FORMAT = '${Package}\\t${Status}\\t${Version}\\n';

/** dpkg-query over the given packages; exits 1 when some are unknown, which is not an error. */
export const installedQuery = (packages: readonly string[]): Command => ({
  argv: ['dpkg-query', '-W', '-f', STATUS_FORMAT, ...packages],
  timeoutMs: QUERY_TIMEOUT,
});

/** Parses `Package\tWant Flag Status\tVersion` lines; packages that are not (half-)installed are left out. */
export const parseInstalled = (stdout: string): InstalledPackage[] =>
  stdout.split('\n').flatMap((line) => {
    const [name, status, version] = line.split('\t');
    if (name === undefined || status === undefined || version === undefined || version === '') return [];
    const [want, flag, state] = status.split(' ');
    if (state === undefined || state === 'not-installed' || state === 'config-files') return [];
    const needsReinstall = state === 'half-installed' || flag === 'reinstreq' || flag === 'hold-reinstreq';
    return [
      {
        name,
        packageVersion: version,
        semver: debToSemver(version),
        held: want === 'hold',
        configured: state === 'installed' && !needsReinstall,
        ...(needsReinstall ? { needsReinstall } : {}),
      },
    ];
  });

/** dpkg-query answers 0 (all found) or 1 (some not found); anything else means the database cannot say. */
export const databaseAnswered = (result: CommandResult): boolean => result.exitCode === 0 || result.exitCode === 1;

/** Where apt reads its sources from, resolved against its configured Dir (so test roots work). */
export const sourcesQuery: Command = {
  argv: ['apt-config', 'shell', 'ETC', 'Dir::Etc/d', 'LIST', 'Dir::Etc::sourcelist/f', 'PARTS', 'Dir::Etc::sourceparts/d'],
  timeoutMs: QUERY_TIMEOUT,
};

export interface SourceLocations {
  readonly etc: string;
  readonly list: string;
  readonly parts: string;
}

/** `NAME='value'` lines as printed by apt-config shell. */
const parseConfigShell = (stdout: string): Map<string, string> => {
  const values = new Map<string, string>();
  for (const match of stdout.matchAll(/^([A-Z]+)='((?:[^']|'\\'')*)'$/gm)) {
    values.set(match[1]!, match[2]!.replaceAll("'\\''", "'"));
  }
  return values;
};

export const parseSourceLocations = (stdout: string): SourceLocations | undefined => {
  const values = parseConfigShell(stdout);
  const etc = values.get('ETC');
  const list = values.get('LIST');
  const parts = values.get('PARTS');
  return etc && list && parts ? { etc, list, parts } : undefined;
};

const TELEPORT_URI = /teleport/i;

/** The enabled sources' URIs in a one-line-style (`.list`) or deb822 (`.sources`) file. */
export const sourceUris = (file: SourceFile): string[] => {
  if (file.path.endsWith('.sources')) {
    return file.text
      .split(/\n\s*\n/)
      .filter((stanza) => !/^Enabled:\s*no\s*$/im.test(stanza))
      .flatMap((stanza) => (/^URIs:(.*)$/im.exec(stanza)?.[1] ?? '').trim().split(/\s+/).filter(Boolean));
  }
  return file.text.split('\n').flatMap((line) => {
    const source = line.replace(/#.*/, '').trim();
    if (!/^deb(-src)?\s/.test(source)) return [];
    return [source.replace(/^deb(-src)?\s+(\[[^\]]*\]\s+)?/, '').split(/\s+/)[0] ?? ''];
  });
};

/**
 * The source file to refresh, relative to Dir::Etc when it lies below it (as apt resolves it):
 * `teleport.list`/`teleport.sources` when it holds a source, else the first file with a source whose URI mentions Teleport.
 */
export const findTeleportSource = (locations: SourceLocations, files: readonly SourceFile[]): string | undefined => {
  const withSources = files.filter((f) => sourceUris(f).length > 0);
  const found =
    withSources.find((f) => /\/teleport\.(list|sources)$/.test(f.path)) ??
    withSources.find((f) => sourceUris(f).some((uri) => TELEPORT_URI.test(uri)));
  if (found === undefined) return undefined;
  return found.path.startsWith(locations.etc) ? found.path.slice(locations.etc.length) : found.path;
};

/** Refreshes only the Teleport source, keeping other sources' lists; a full update when it was not found. */
export const refreshStep = (source: string | undefined): Step => ({
  argv:
    source === undefined
      ? ['apt-get', 'update']
      : ['apt-get', 'update', '-o', `Dir::Etc::sourcelist=${source}`, '-o', 'Dir::Etc::sourceparts=-', '-o', 'APT::Get::List-Cleanup=0'],
  timeoutMs: 5 * MINUTE,
  purpose: source === undefined ? 'refresh all package sources' : `refresh the Teleport package source (${source})`,
  // apt-get update's status is not trusted either way: resolving the exact version afterwards decides.
  mayFail: true,
});

export const availableQuery = (pkg: string): Command => ({ argv: ['apt-cache', 'madison', pkg], timeoutMs: QUERY_TIMEOUT });

/** Versions in apt's preference order, from `pkg | version | source` lines. */
export const parseAvailable = (stdout: string): string[] => [
  ...new Set(
    stdout
      .split('\n')
      .map((line) => line.split('|')[1]?.trim())
      .filter((v): v is string => !!v),
  ),
];

/** Installs the exact version non-interactively, through a hold if there is one, and puts the hold back. */
export const installSteps = ({
  pkg,
  packageVersion,
  held,
  file,
  reinstall = false,
}: Pick<InstallInput, 'pkg' | 'packageVersion' | 'held' | 'file' | 'reinstall'>): Step[] => [
  {
    argv: [
      'apt-get',
      'install',
      '-y',
      // Same version over damaged files: apt would otherwise say it is already the newest version.
      ...(reinstall ? ['--reinstall'] : []),
      // The cluster's version is the truth, older or newer.
      '--allow-downgrades',
      // The v1 version lock (apt-mark hold) must not stop the updater itself; the hold is restored below.
      ...(held ? ['--allow-change-held-packages'] : []),
      // Wait for another apt or dpkg to finish rather than failing at once.
      '-o',
      `DPkg::Lock::Timeout=${DPKG_LOCK_TIMEOUT_S}`,
      // Keep locally modified config files and take defaults for new ones: never prompt.
      '-o',
      'Dpkg::Options::=--force-confdef',
      '-o',
      'Dpkg::Options::=--force-confold',
      // apt 3 reads a local package file as its sandbox user, who cannot enter the root-only state dir.
      ...(file === undefined ? [] : ['-o', 'APT::Sandbox::User=root']),
      // A kept package file is named by its absolute path, which apt installs as a local package.
      file ?? `${pkg}=${packageVersion}`,
    ],
    env: { DEBIAN_FRONTEND: 'noninteractive' },
    timeoutMs: DPKG_LOCK_TIMEOUT_S * SECOND + 10 * MINUTE,
    purpose: `${reinstall ? 'reinstall' : 'install'} ${pkg}=${packageVersion}`,
  },
  ...(held ? holdSteps(pkg) : []),
];

/** pkg_version_arch.deb, with the epoch's colon escaped as apt stores it. */
export const isPackageFile = (name: string, pkg: string, packageVersion: string): boolean =>
  name.startsWith(`${pkg}_${packageVersion.replace(':', '%3a')}_`) && name.endsWith('.deb');

/** Puts the v1 version lock (apt-mark hold) back: runs even after a failed install, and again after an interrupted one. */
export const holdSteps = (pkg: string): Step[] => [
  { argv: ['apt-mark', 'hold', pkg], timeoutMs: QUERY_TIMEOUT, purpose: `put the hold on ${pkg} back`, always: true },
];

const cacheQuery: Command = { argv: ['apt-config', 'shell', 'CACHE', 'Dir::Cache::archives/d'], timeoutMs: QUERY_TIMEOUT };

/** The Teleport source: apt-config says where the sources are, and their files say which is Teleport's. */
const teleportRepo = async (ask: Ask): Promise<string | undefined> => {
  const locations = parseSourceLocations((await ask.run(sourcesQuery)).stdout);
  if (locations === undefined) return undefined;
  const parts = (await ask.listDir(locations.parts))
    .filter((name) => name.endsWith('.list') || name.endsWith('.sources'))
    .map((name) => `${locations.parts}${name}`);
  const files = await Promise.all([locations.list, ...parts].map(async (path) => ({ path, text: await ask.readFile(path) })));
  return findTeleportSource(
    locations,
    files.filter((f): f is SourceFile => f.text !== undefined),
  );
};

/** apt and dpkg as a PackageManager. */
export const aptManager: PackageManager = {
  name: 'apt',
  tool: 'apt-get',
  database: 'dpkg',
  installed: async (ask, packages) => {
    const result = await ask.run(installedQuery(packages));
    if (databaseAnswered(result)) return parseInstalled(result.stdout);
    ask.debug(`the dpkg database could not answer: ${queryProblem(installedQuery(packages), result)}.`);
    return undefined;
  },
  teleportRepo,
  // madison answers 0 with nothing for a package no source offers; anything else is a failure (lists that cannot be parsed).
  available: async (ask, pkg) => {
    const query = availableQuery(pkg);
    const result = await ask.run(query);
    return result.exitCode === 0
      ? { ok: true, versions: parseAvailable(result.stdout) }
      : { ok: false, problem: queryProblem(query, result) };
  },
  // dpkg itself knows a hold: dpkg-query said it.
  held: async (_ask, installed) => installed?.held === true,
  damaged: async (ask, pkg) => parseVerify((await ask.run({ argv: ['dpkg', '--verify', pkg], timeoutMs: 5 * MINUTE })).stdout),
  // dpkg-query -L also prints diversion notes, which are not paths.
  files: async (ask, pkg) => {
    const result = await ask.run({ argv: ['dpkg-query', '-L', pkg], timeoutMs: QUERY_TIMEOUT });
    return result.exitCode === 0 ? listedPaths(result.stdout) : undefined;
  },
  // apt keeps the package files it installed in its cache (pkg_version_arch.deb, the epoch's colon escaped).
  cachedFile: async (ask, pkg, packageVersion) => {
    const dir = parseConfigShell((await ask.run(cacheQuery)).stdout).get('CACHE');
    if (dir === undefined) return undefined;
    const found = (await ask.listDir(dir)).find((name) => isPackageFile(name, pkg, packageVersion));
    return found === undefined ? undefined : `${dir.replace(/\/?$/, '/')}${found}`;
  },
  // apt-get download saves into the working directory, the root-only state dir: its unprivileged _apt user could not
  // write there, and apt would fall back to root with a warning; say so up front.
  downloadStep: async (_ask, { pkg, packageVersion }, dir) => ({
    argv: ['apt-get', 'download', '-o', 'APT::Sandbox::User=root', `${pkg}=${packageVersion}`],
    cwd: dir,
    timeoutMs: 5 * MINUTE,
    purpose: `keep a copy of ${pkg} ${packageVersion} for a rollback`,
  }),
  refreshStep,
  installSteps,
  holdSteps,
  // dpkg's journal first (apt refuses to start while it holds entries), then what it cannot finish by itself.
  repairSteps: (installed, keptFile) => [CONFIGURE_ALL, ...(installed.needsReinstall ? reinstallHalfInstalled(installed, keptFile) : [])],
  toSemver: debToSemver,
  fromSemver: (semver) => semver,
  isPackageFile,
};

/** Finishes configuring what an interrupted dpkg run left unpacked or half-configured, keeping local config files. */
const CONFIGURE_ALL: Step = {
  argv: ['dpkg', '--force-confdef', '--force-confold', '--configure', '-a'],
  env: { DEBIAN_FRONTEND: 'noninteractive' },
  timeoutMs: 10 * MINUTE,
  purpose: 'finish the interrupted dpkg transaction',
};

/**
 * dpkg --configure -a cannot finish a half-installed package (a power cut in the new version's preinst or unpack):
 * only installing its version again does. From the kept copy of that version when there is one (no network needed),
 * falling back to the repository.
 */
const reinstallHalfInstalled = ({ name, packageVersion, held }: InstalledPackage, keptFile: string | undefined): Step[] => {
  const fromRepository = installSteps({ pkg: name, packageVersion, held, reinstall: true });
  if (keptFile === undefined) return fromRepository;
  const [fromFile, ...rest] = installSteps({ pkg: name, packageVersion, held, file: keptFile, reinstall: true });
  return fromFile === undefined ? fromRepository : [{ ...fromFile, fallback: fromRepository[0] }, ...rest];
};
