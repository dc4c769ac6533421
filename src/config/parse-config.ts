// Turns the raw texts of the config dir's files into a validated Config, or a ConfigError that names the fix.
import * as z from 'zod/mini';
import { ConfigError } from '../core/errors.ts';
import { quote } from '../core/text.ts';
import { parseFreezeFile, parseWindowFile, type CronRule, type FreezeRule } from '../schedule/local-policy.ts';
import { single } from './config-value.ts';
import { parseFleetLock, type FleetLockConfig } from './fleet-lock-config.ts';
import { parseEndpoint, type Endpoint } from './endpoint.ts';

export const INSTALLERS = ['apt', 'yum', 'zypper', 'nop'] as const;
export type InstallerName = (typeof INSTALLERS)[number];

/** The Teleport packages an agent host can have, in detection order. */
export const TELEPORT_PACKAGES = ['teleport-ent', 'teleport-ent-fips', 'teleport'] as const;

export interface Config {
  readonly endpoint: Endpoint;
  /** Undefined when the `installer` file is absent: detect it from the package databases. */
  readonly installer: InstallerName | undefined;
  /** Undefined when the `package` file is absent: detect which Teleport package is installed. */
  readonly package: string | undefined;
  readonly debug: boolean;
  readonly allowPrerelease: boolean;
  /** How long the agent must stay healthy after an install (`health-settle`), in milliseconds. */
  readonly settleMs: number;
  /** The agent's teleport.yaml, read for its diagnostic address (`teleport-config`). */
  readonly teleportConfig: string;
  /** The node_exporter textfile every run writes its metrics to (`metrics`), when set. */
  readonly metrics: string | undefined;
  /** The site's own maintenance windows (`window`); undefined when the file is absent: no local constraint. */
  readonly localWindows: readonly CronRule[] | undefined;
  /** Change freezes (`freeze`): nothing is installed during one unless forced. */
  readonly freezes: readonly FreezeRule[];
  /** The FleetLock server that caps how many hosts install at once (`fleetlock`, `fleetlock-group`, `fleetlock-id`). */
  readonly fleetLock?: FleetLockConfig;
}

/** Raw file contents by file name; undefined when the file does not exist. */
export const CONFIG_NAMES = [
  'endpoint',
  'insecure',
  'installer',
  'package',
  'debug',
  'allow-prerelease',
  'health-settle',
  'teleport-config',
  'metrics',
] as const;
/** The multi-line policy files: one rule per line. */
export const POLICY_NAMES = ['window', 'freeze'] as const;
/** The FleetLock client's files: the server, the group, the id. */
export const FLEET_LOCK_NAMES = ['fleetlock', 'fleetlock-group', 'fleetlock-id'] as const;
export type ConfigFiles = Readonly<
  Record<(typeof CONFIG_NAMES)[number], string | undefined> &
    Partial<Record<(typeof POLICY_NAMES)[number] | (typeof FLEET_LOCK_NAMES)[number], string>>
>;

const DEFAULT_SETTLE_S = 30;
const MAX_SETTLE_S = 600;
const DEFAULT_TELEPORT_CONFIG = '/etc/teleport.yaml';

/** `45`, `45s` or `2m`, from 0 to 10 minutes. */
const settleSeconds = (dir: string, text: string | undefined): number => {
  const value = single(dir, 'health-settle', text);
  if (value === undefined) return DEFAULT_SETTLE_S;
  const match = /^(\d{1,4})\s*(s|m)?$/.exec(value);
  const seconds = match === null ? NaN : Number(match[1]) * (match[2] === 'm' ? 60 : 1);
  if (!(seconds >= 0 && seconds <= MAX_SETTLE_S)) {
    throw new ConfigError(
      `${dir}/health-settle holds ${quote(value)}, which is not a duration from 0 to ${MAX_SETTLE_S} s. Write e.g. 30s or 2m, or remove the file for ${DEFAULT_SETTLE_S} s.`,
    );
  }
  return seconds;
};

const teleportConfigPath = (dir: string, text: string | undefined): string => {
  const value = single(dir, 'teleport-config', text);
  if (value === undefined) return DEFAULT_TELEPORT_CONFIG;
  if (!/^\/[^\0]{0,4095}$/.test(value)) {
    throw new ConfigError(
      `${dir}/teleport-config holds ${quote(value)}, which is not an absolute path. Write the path of the agent's teleport.yaml, or remove the file for ${DEFAULT_TELEPORT_CONFIG}.`,
    );
  }
  return value;
};

const METRICS_EXAMPLE = '/var/lib/prometheus/node-exporter/teleport-upgrade.prom';

/** An absolute path ending in .prom (node_exporter's textfile collector reads only those). */
const metricsPath = (dir: string, text: string | undefined): string | undefined => {
  const value = single(dir, 'metrics', text);
  if (value === undefined) return undefined;
  if (!/^\/[A-Za-z0-9._@+/-]{0,4000}\.prom$/.test(value) || value.split('/').includes('..')) {
    throw new ConfigError(
      `${dir}/metrics holds ${quote(value)}, which is not an absolute path ending in .prom. Write the path of node_exporter's textfile, e.g. ${METRICS_EXAMPLE}, or remove the file.`,
    );
  }
  return value;
};

const installerSchema = z.enum(INSTALLERS);
/** Debian and rpm package names share this shape. */
const packageSchema = z.string().check(z.regex(/^[a-z0-9][a-z0-9+._-]{0,99}$/));
const yesNoSchema = z.enum(['yes', 'no', 'true', 'false']);

const yesNo = (dir: string, name: string, text: string | undefined): boolean => {
  const value = single(dir, name, text);
  if (value === undefined) return false;
  const parsed = yesNoSchema.safeParse(value.toLowerCase());
  if (!parsed.success) {
    throw new ConfigError(`${dir}/${name} holds ${quote(value)}, which is neither yes nor no. Write yes or no to it, or remove it.`);
  }
  return parsed.data === 'yes' || parsed.data === 'true';
};

/** Absent without a FleetLock server: a configuration without one is what it always was. */
const fleetLockOf = (fleetLock: FleetLockConfig | undefined) => (fleetLock === undefined ? {} : { fleetLock });

/** Validates every config file; throws ConfigError naming the file, the value and the fix. */
export const parseConfig = (dir: string, files: ConfigFiles): Config => {
  const insecure = yesNo(dir, 'insecure', files.insecure);
  const endpointValue = single(dir, 'endpoint', files.endpoint);
  if (endpointValue === undefined) {
    throw new ConfigError(
      `no endpoint is configured: ${dir}/endpoint is ${files.endpoint === undefined ? 'missing' : 'empty'}. ` +
        `Write your proxy's version channel to it without a scheme, e.g. "proxy.example.com:443/v1/webapi/automaticupgrades/channel/default".`,
    );
  }
  const endpoint = parseEndpoint(endpointValue, insecure);
  if (typeof endpoint === 'string') {
    throw new ConfigError(`${dir}/endpoint holds ${quote(endpointValue)}, which cannot be used: ${endpoint}.`);
  }
  const installerValue = single(dir, 'installer', files.installer);
  let installer: InstallerName | undefined;
  if (installerValue !== undefined) {
    const parsed = installerSchema.safeParse(installerValue);
    if (!parsed.success) {
      throw new ConfigError(
        `${dir}/installer holds ${quote(installerValue)}, which is not one of ${INSTALLERS.join(', ')}. Write one of them, or remove the file to detect the installer.`,
      );
    }
    installer = parsed.data;
  }
  const packageValue = single(dir, 'package', files.package);
  if (packageValue !== undefined && !packageSchema.safeParse(packageValue).success) {
    throw new ConfigError(
      `${dir}/package holds ${quote(packageValue)}, which is not a package name. Write ${TELEPORT_PACKAGES.join(', ')} or your Teleport package's name, or remove the file to detect it.`,
    );
  }
  return {
    endpoint,
    installer,
    package: packageValue,
    debug: yesNo(dir, 'debug', files.debug),
    allowPrerelease: yesNo(dir, 'allow-prerelease', files['allow-prerelease']),
    settleMs: settleSeconds(dir, files['health-settle']) * 1000,
    teleportConfig: teleportConfigPath(dir, files['teleport-config']),
    metrics: metricsPath(dir, files.metrics),
    localWindows: parseWindowFile(`${dir}/window`, files.window),
    freezes: parseFreezeFile(`${dir}/freeze`, files.freeze),
    ...fleetLockOf(parseFleetLock(dir, files.fleetlock, files['fleetlock-group'], files['fleetlock-id'])),
  };
};
