// One throwaway host for end-to-end runs: an apt root, a version server, config and state dirs, and the CLI wired to them.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptInstall, dpkgStatus, makeAptRoot, type AptRoot } from './apt-root.ts';
import { execa, type ResultPromise } from 'execa';
import { bin, bundleFlags, cleanEnv, runCli, type CliResult } from './cli.ts';
import { buildDebRepo, type FakePackage } from './deb-repo.ts';
import { buildRpmRepo, makeRpmRoot, type FakeRpm, type RpmKind, type RpmRoot } from './rpm-root.ts';
import { makeTestTls, type TestTls } from './tls.ts';
import { cachedFixture, fixtureKey } from './fixture-cache.ts';
import { startVersionServer, type VersionServer } from './version-server.ts';

/** The repository every sandbox shares: two releases, a revisioned one, a pre-release, and the OSS package. */
export const FAKE_PACKAGES: readonly FakePackage[] = [
  { name: 'teleport-ent', version: '1.2.3' },
  { name: 'teleport-ent', version: '1.2.4' },
  { name: 'teleport-ent', version: '1.2.5-1' },
  { name: 'teleport-ent', version: '1.3.0~beta.1' },
  { name: 'teleport-ent', version: '1.2.6', depends: 'teleport-ent-missing-dependency' },
  { name: 'teleport-ent', version: '1.2.7', flakyPostinst: true },
  // 1.2.9 ships a file teleport-tools owns too: dpkg refuses to overwrite it.
  { name: 'teleport-ent', version: '1.2.9', extraFile: 'usr/local/bin/tctl' },
  { name: 'teleport-tools', version: '1.0.0', extraFile: 'usr/local/bin/tctl', notTeleport: true },
  { name: 'teleport', version: '1.2.3' },
  { name: 'teleport', version: '1.2.4' },
];

/** Stand-ins that must come first on PATH: systemctl, and the fcntl lock holder. */
export const FIXTURE_BIN = fileURLToPath(new URL('../fixtures/bin', import.meta.url));

/** The same releases as rpms (`_` for `-` in a pre-release). */
export const FAKE_RPMS: readonly FakeRpm[] = [
  { name: 'teleport-ent', version: '1.2.3' },
  { name: 'teleport-ent', version: '1.2.4' },
  { name: 'teleport-ent', version: '1.2.6', requires: 'teleport-ent-missing-dependency' },
  { name: 'teleport-ent', version: '1.3.0_beta.1' },
  { name: 'teleport-ent', version: '1.2.9', extraFile: '/usr/local/bin/tctl' },
  { name: 'teleport-tools', version: '1.0.0', extraFile: '/usr/local/bin/tctl', notTeleport: true },
  { name: 'teleport-ent', version: '1.2.8', waitingPost: true },
  { name: 'teleport', version: '1.2.3' },
];

export interface Fixtures {
  readonly dir: string;
  readonly repo: string;
  /** The rpm repository, when the fixtures were built with rpms. */
  readonly rpmRepo?: string;
  readonly tls: TestTls;
}

/** Builds the shared repositories and test CA once; remove `dir` when done. */
export const makeFixtures = async (options: { rpm?: boolean } = {}): Promise<Fixtures> => {
  const dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-fixtures-'));
  const [repo, tls, rpmRepo] = await Promise.all([
    buildDebRepo(dir, FAKE_PACKAGES),
    makeTestTls(dir),
    options.rpm ? buildRpmRepo(dir, FAKE_RPMS) : undefined,
  ]);
  return { dir, repo, tls, ...(rpmRepo === undefined ? {} : { rpmRepo }) };
};

const source = (name: string) => new URL(name, import.meta.url);

/**
 * The same fixtures, built once for all the test processes of a run (each test file is one) and only read by the tests:
 * keyed by the packages and the code that builds them; the CA by the day too, as it is valid for two days.
 */
export const sharedFixtures = async (options: { rpm?: boolean }): Promise<Fixtures> => {
  const [debDir, tlsDir, rpmDir] = await Promise.all([
    cachedFixture(fixtureKey('deb', FAKE_PACKAGES, [source('./deb-repo.ts')]), (dir) =>
      buildDebRepo(dir, FAKE_PACKAGES).then(() => undefined),
    ),
    cachedFixture(fixtureKey('tls', new Date().toISOString().slice(0, 10), [source('./tls.ts')]), (dir) =>
      makeTestTls(dir).then(() => undefined),
    ),
    options.rpm
      ? cachedFixture(fixtureKey('rpm', FAKE_RPMS, [source('./rpm-root.ts')]), (dir) => buildRpmRepo(dir, FAKE_RPMS).then(() => undefined))
      : undefined,
  ]);
  const tls: TestTls = {
    caFile: join(tlsDir, 'ca.crt'),
    key: await readFile(join(tlsDir, 'server.key'), 'utf8'),
    cert: await readFile(join(tlsDir, 'server.crt'), 'utf8'),
  };
  return {
    dir: debDir,
    repo: join(debDir, 'teleport-repo'),
    tls,
    ...(rpmDir === undefined ? {} : { rpmRepo: join(rpmDir, 'teleport-rpm-repo') }),
  };
};

export interface Sandbox {
  readonly dir: string;
  readonly apt: AptRoot;
  /** The rpm root, for `packages: 'dnf' | 'zypper'` sandboxes. */
  readonly rpm?: RpmRoot;
  readonly server: VersionServer;
  readonly configDir: string;
  readonly stateDir: string;
  /** Every systemctl call the CLI made, one line each (the stand-in records them). */
  readonly systemctlLog: string;
  /** The environment the CLI runs with: the apt root, the test CA as the OS trust store, a stand-in systemctl, and `extra`. */
  env(extra?: Record<string, string>): Record<string, string>;
  write(name: string, text: string): Promise<void>;
  cli(args: readonly string[], extra?: Record<string, string>): Promise<CliResult>;
  status(pkg?: string): Promise<string>;
  close(): Promise<void>;
}

export const now = (): number => Math.floor(Date.now() / 1000);
/** A schedule whose first window is open now. */
export const openWindow = (): string => `# generated by teleport\n${now() - 60} ${now() + 3600}\n${now() + 86_400} ${now() + 90_000}\n`;
/** A schedule whose windows are all in the future. */
export const laterWindow = (): string => `# generated by teleport\n${now() + 3600} ${now() + 7200}\n`;
/** A schedule whose windows all ended. */
export const staleWindow = (): string => `# generated by teleport\n${now() - 7200} ${now() - 3600}\n`;

export interface SandboxOptions {
  /** `pkg=version` installed before the test; none when omitted. */
  readonly installed?: string;
  /** Which package database the host has: dpkg/apt (default), or rpm with dnf (also as yum) or zypper. */
  readonly packages?: 'apt' | RpmKind;
  /** Files written to the config dir; `endpoint` defaults to the server. */
  readonly config?: Record<string, string>;
}

export const createSandbox = async (fixtures: Fixtures, options: SandboxOptions = {}): Promise<Sandbox> => {
  const dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-sandbox-'));
  const configDir = join(dir, 'etc/teleport-upgrade.d');
  const stateDir = join(dir, 'var/lib/teleport-upgrade');
  const home = join(dir, 'home');
  await Promise.all([mkdir(configDir, { recursive: true }), mkdir(home), mkdir(join(dir, 'no-certs'))]);
  const [apt, server] = await Promise.all([makeAptRoot(join(dir, 'root'), fixtures.repo), startVersionServer(fixtures.tls)]);
  // dpkg run directly (repair, verify) reads ~/.dpkg.cfg: keep its log in the root and run scripts without chroot.
  await writeFile(join(home, '.dpkg.cfg'), `log ${apt.root}/var/log/dpkg.log\nforce-script-chrootless\n`);
  const kind = options.packages ?? 'apt';
  let rpm: RpmRoot | undefined;
  if (kind !== 'apt') {
    if (fixtures.rpmRepo === undefined) throw new Error('rpm sandboxes need makeFixtures({ rpm: true })');
    rpm = await makeRpmRoot(dir, fixtures.rpmRepo, kind);
  }
  if (options.installed !== undefined) {
    const [name, version] = options.installed.split('=') as [string, string];
    if (rpm === undefined) await aptInstall(apt, options.installed);
    else if (kind === 'dnf') await rpm.run('dnf', ['-y', '-q', 'install', `${name}-${version}`]);
    else await rpm.run('zypper', ['--non-interactive', '--quiet', 'install', `${name}=${version}`]);
  }
  const write = (name: string, text: string) => writeFile(join(configDir, name), text);
  await write('endpoint', `${server.endpoint}\n`);
  // No settle period unless a test asks for one: the stand-in systemctl answers at once.
  await write('health-settle', '0\n');
  for (const [name, text] of Object.entries(options.config ?? {})) await write(name, text);
  const systemctlLog = join(dir, 'systemctl.log');
  // An rpm host has no dpkg database of ours: dpkg points at an empty one, so nothing is read from the host's.
  const env = (extra: Record<string, string> = {}) => ({
    ...apt.env,
    ...rpm?.env,
    PATH: `${FIXTURE_BIN}:${rpm?.env.PATH ?? process.env.PATH}`,
    FAKE_SYSTEMCTL_LOG: systemctlLog,
    // The stand-in systemctl describes the agent by the version this fake teleport reports.
    FAKE_AGENT_BIN: join(rpm?.root ?? apt.root, 'usr/local/bin/teleport'),
    HOME: rpm?.env.HOME ?? home,
    SSL_CERT_FILE: fixtures.tls.caFile,
    SSL_CERT_DIR: join(dir, 'no-certs'),
    TELEPORT_UPGRADE_CONFIG_DIR: configDir,
    TELEPORT_UPGRADE_STATE_DIR: stateDir,
    ...extra,
  });
  return {
    dir,
    apt,
    ...(rpm === undefined ? {} : { rpm }),
    server,
    configDir,
    stateDir,
    systemctlLog,
    env,
    write,
    cli: (args, extra) => runCli(args, env(extra)),
    status: (pkg = 'teleport-ent') => (rpm === undefined ? dpkgStatus(apt, pkg) : rpm.status(pkg)),
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
};

/** Registers a before hook for the shared fixtures (never removed: other test processes read them) and returns a runner that gives each test its own sandbox. */
export const sandboxPerTest = (
  hooks: { before: (fn: () => Promise<void>) => void; after: (fn: () => Promise<void>) => void },
  options: { rpm?: boolean } = {},
) => {
  let fixtures: Fixtures | undefined;
  hooks.before(async () => {
    fixtures = await sharedFixtures(options);
  });
  const withSandbox = async (options: SandboxOptions, body: (s: Sandbox) => Promise<void>): Promise<void> => {
    if (!fixtures) throw new Error('fixtures are built in before()');
    const sandbox = await createSandbox(fixtures, options);
    try {
      await body(sandbox);
    } finally {
      await sandbox.close();
    }
  };
  return { withSandbox, fixtures: (): Fixtures => fixtures! };
};

/**
 * Runs the CLI while `holder` holds a lock, and kills the holder as soon as the CLI's log matches `released`
 * (the updater saying it waits, or naming the holder), so lock tests never depend on timing.
 * Returns the CLI's result and whether the log ever matched.
 */
export const runWhileLocked = async (
  s: Sandbox,
  args: readonly string[],
  holder: ResultPromise,
  released: RegExp,
): Promise<CliResult & { released: boolean }> => {
  const cli = execa(process.execPath, [...bundleFlags(), bin(), ...args], {
    env: cleanEnv(s.env()),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
  });
  let matched = false;
  cli.stderr?.on('data', (chunk: Buffer) => {
    if (!matched && released.test(chunk.toString())) {
      matched = true;
      holder.kill();
    }
  });
  const result = await cli;
  holder.kill();
  await holder;
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr), released: matched };
};

/** The updater's state file in the sandbox, parsed. */
export const sandboxState = async (s: Sandbox) =>
  JSON.parse(await readFile(join(s.stateDir, 'state.json'), 'utf8')) as {
    version: number;
    unhealthySince: string | null;
    badTarget: { version: string; reason: string; at: string } | null;
    inProgress: unknown;
  };

/**
 * Starts `run` in a process group of its own and kills the whole group (the package manager included, like a crash or a
 * power cut) as soon as `reached` says the install got where the test wants it; fails after 60 s otherwise.
 */
export const killRunWhen = async (
  s: Sandbox,
  env: Record<string, string>,
  reached: () => Promise<boolean>,
  what: string,
): Promise<void> => {
  const cli = execa(process.execPath, [...bundleFlags(), bin(), 'run'], {
    env: cleanEnv(s.env(env)),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    detached: true,
  });
  const deadline = Date.now() + 60_000;
  while (!(await reached())) {
    if (Date.now() > deadline) {
      cli.kill();
      throw new Error(`the install never reached ${what}`);
    }
    await sleep(100);
  }
  await killTree(cli.pid!);
  await cli;
};

/**
 * Kills `run` like a power cut while dpkg runs the postinst of `target` (1.2.7, whose postinst can be made slow), which
 * leaves the package half-configured at `target`.
 */
export const killAptRunInPostinst = async (s: Sandbox, target: string, env: Record<string, string>): Promise<void> => {
  s.server.answer(`v${target}`);
  const slow = join(s.apt.root, 'slow-postinst');
  await writeFile(slow, '');
  // The version too: dpkg also marks the old version half-configured while its prerm runs, early in the unpack.
  await killRunWhen(s, env, async () => (await s.status()).endsWith(`half-configured\t${target}`), 'its postinst');
  await rm(slow);
};

/** The pids of `pid`'s descendants, at any depth, whatever their process group or session. */
const descendants = async (pid: number): Promise<number[]> => {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    const ppid = Number(stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isInteger(ppid)) parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const visit = (p: number) => {
    for (const child of parents.get(p) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
};

/**
 * A power cut for one process tree: every process is stopped first (so none can react or start another), then killed.
 * Commands the updater runs lead process groups of their own, so killing its group alone would not reach them.
 */
export const killTree = async (pid: number): Promise<void> => {
  const tree = [pid, ...(await descendants(pid))];
  for (const p of tree) {
    try {
      process.kill(p, 'SIGSTOP');
    } catch {
      /* already gone */
    }
  }
  for (const p of [pid, ...(await descendants(pid))]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
};
