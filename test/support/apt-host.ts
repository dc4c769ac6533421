// An apt host for the fake-host tables: the commands the updater runs there, by the manager's own builders, and what
// dpkg and systemd answer, so a table row says only what differs.
import { agentShowQuery, type AgentSample } from '../../src/agent/agent-health.ts';
import { agentStateQuery, type AgentState } from '../../src/agent/agent-service.ts';
import { parseConfig, type Config } from '../../src/config/parse-config.ts';
import type { CommandResult } from '../../src/core/command.ts';
import type { PackageFacts } from '../../src/core/package-facts.ts';
import type { PlanInput } from '../../src/core/plan.ts';
import { aptManager, availableQuery, installedQuery, sourcesQuery } from '../../src/package-managers/apt.ts';
import type { RunContext, RunOptions } from '../../src/run/context.ts';
import { key, type Canned, type FakeHost } from './fake-host.ts';

export const PKG = 'teleport-ent';
export const REPO = 'sources.list.d/teleport.list';
export const CONFIG_DIR = '/etc/teleport-upgrade.d';
export const STATE_DIR = '/var/lib/teleport-upgrade';
export const STATE_FILE = `${STATE_DIR}/state.json`;
export const CACHE = '/var/cache/apt/archives/';
/** Where the copy of the previous version is kept for a rollback. */
export const KEPT = `${STATE_DIR}/rollback/${PKG}_1.2.3_amd64.deb`;

export const config = (
  files: Partial<
    Record<'health-settle' | 'installer' | 'window' | 'freeze' | 'fleetlock' | 'fleetlock-group' | 'fleetlock-id', string>
  > = {},
): Config =>
  parseConfig(CONFIG_DIR, {
    endpoint: 'proxy.example.com/v1/webapi/automaticupgrades/channel/default',
    insecure: undefined,
    installer: files.installer,
    package: PKG,
    debug: undefined,
    'allow-prerelease': undefined,
    'health-settle': files['health-settle'] ?? '2s',
    'teleport-config': undefined,
    metrics: undefined,
    ...(files.window === undefined ? {} : { window: files.window }),
    ...(files.freeze === undefined ? {} : { freeze: files.freeze }),
    ...(files.fleetlock === undefined ? {} : { fleetlock: files.fleetlock }),
    ...(files['fleetlock-group'] === undefined ? {} : { 'fleetlock-group': files['fleetlock-group'] }),
    ...(files['fleetlock-id'] === undefined ? {} : { 'fleetlock-id': files['fleetlock-id'] }),
  });

export const runContext = (host: FakeHost, mode: RunOptions['mode'] = 'run', files: Parameters<typeof config>[0] = {}): RunContext => ({
  options: { mode, configDir: CONFIG_DIR, stateDir: STATE_DIR, json: false, lockPath: '/run/teleport-upgrade/lock' },
  host,
  config: config(files),
});

/** What dpkg-query says of the package: installed and configured (or half-configured, or half-installed), held or not. */
export const dpkg = (packageVersion: string, { held = false, configured = true, reinstreq = false } = {}): Canned => ({
  stdout: `${PKG}\t${held ? 'hold' : 'install'} ${reinstreq ? 'reinstreq half-installed' : `ok ${configured ? 'installed' : 'half-configured'}`}\t${packageVersion}\n`,
});

/** What `systemctl show teleport.service` says: running, or crash-looping. */
export const agent = (sample: Partial<AgentSample> = {}): Canned => {
  const s = { activeState: 'active', subState: 'running', mainPid: 4242, restarts: 0, ...sample };
  return { stdout: `ActiveState=${s.activeState}\nSubState=${s.subState}\nMainPID=${s.mainPid}\nNRestarts=${s.restarts}\n` };
};
export const CRASH_LOOPING: Canned = agent({ activeState: 'activating', subState: 'auto-restart', mainPid: 0, restarts: 3 });

export const fail = (exitCode: number, stderr: string): Canned => ({ exitCode, stderr });

/** The argv, as the manager builds them. */
export const ARGV = {
  dpkgQuery: key(installedQuery([PKG])),
  sources: key(sourcesQuery),
  madison: key(availableQuery(PKG)),
  refresh: key(aptManager.refreshStep(REPO)),
  cache: 'apt-config shell CACHE Dir::Cache::archives/d',
  install: (packageVersion: string, held = false) =>
    key(aptManager.installSteps({ pkg: PKG, packageVersion, held, downgrade: false, repo: REPO })[0]!),
  rollback: (held = false) =>
    key(aptManager.installSteps({ pkg: PKG, packageVersion: '1.2.3', held, downgrade: true, repo: REPO, file: KEPT })[0]!),
  repair: key(aptManager.repairSteps({ name: PKG, packageVersion: '1.2.4', semver: '1.2.4', held: false, configured: false })[0]!),
  /** Installing a half-installed 1.2.3 again: from the kept copy, else from the repository. */
  reinstallKept: key(
    aptManager.installSteps({
      pkg: PKG,
      packageVersion: '1.2.3',
      held: false,
      downgrade: false,
      repo: REPO,
      file: KEPT,
      reinstall: true,
    })[0]!,
  ),
  reinstall: (packageVersion: string) =>
    key(aptManager.installSteps({ pkg: PKG, packageVersion, held: false, downgrade: false, repo: REPO, reinstall: true })[0]!),
  hold: `apt-mark hold ${PKG}`,
  /** The package's file list, taken with a full check of its files. */
  files: `dpkg-query -L ${PKG}`,
  verify: `dpkg --verify ${PKG}`,
  show: key(agentShowQuery),
  isActive: key(agentStateQuery),
  daemonReload: 'systemctl daemon-reload',
  reload: 'systemctl reload teleport.service',
  tryRestart: 'systemctl try-restart teleport.service',
  restart: 'systemctl restart teleport.service',
};

/** The commands that change something, in the order they ran (queries left out). */
export const acting = (commands: readonly string[]): string[] =>
  commands.filter((c) =>
    /^(apt-get (update|install)|apt-mark |dpkg .*--configure|systemctl (daemon-reload|reload|try-restart|restart) ?)/.test(c),
  );

/** Teleport 1.2.3 installed with apt, optionally held. */
export const packagesAt = (packageVersion = '1.2.3', held = false): PackageFacts => ({
  installer: 'apt',
  manager: aptManager,
  pkg: PKG,
  semver: packageVersion,
  installed: { name: PKG, packageVersion, semver: packageVersion, held, configured: true },
});

export const planInput = (over: Partial<PlanInput> = {}): PlanInput => ({
  pkg: PKG,
  target: '1.2.4',
  downgrade: false,
  available: ['1.2.4', '1.2.3'],
  repo: REPO,
  held: false,
  agent: 'active' satisfies AgentState,
  ...over,
});

/** The canned answers of an apt host on which upgrading 1.2.3 to 1.2.4 (and rolling back) goes well, the previous package in apt's cache. */
export const healthyUpgrade = (held = false): Record<string, Canned | readonly Canned[]> => ({
  [ARGV.refresh]: {},
  [ARGV.madison]: { stdout: `${PKG} | 1.2.4 | file:/repo ./ Packages\n${PKG} | 1.2.3 | file:/repo ./ Packages\n` },
  [ARGV.cache]: { stdout: `CACHE='${CACHE}'\n` },
  [ARGV.install('1.2.4', held)]: {},
  [ARGV.rollback(held)]: {},
  [ARGV.restart]: {},
  [ARGV.hold]: {},
  [ARGV.dpkgQuery]: dpkg('1.2.4', { held }),
  [ARGV.files]: { stdout: '/.\n/usr\n/usr/local\n/usr/local/bin\n/usr/local/bin/teleport\n' },
  [ARGV.verify]: {},
  [ARGV.show]: agent(),
  [ARGV.daemonReload]: {},
  [ARGV.reload]: {},
});

export type Answers = Record<string, Canned | readonly Canned[]>;
export type { CommandResult };
