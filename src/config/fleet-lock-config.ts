// Parses `fleetlock` (the FleetLock server's base URL), `fleetlock-group` and `fleetlock-id` into where and as whom this host asks for a slot.
import * as z from 'zod/mini';
import { ConfigError } from '../core/errors.ts';
import { quote } from '../core/text.ts';
import { single } from './config-value.ts';
import { isLoopbackHost } from './endpoint.ts';

export interface FleetLockConfig {
  /** The base URL, without a trailing slash: `/v1/pre-reboot` and `/v1/steady-state` are appended to it. */
  readonly base: string;
  /** The group this host takes slots in (`default` unless `fleetlock-group` says otherwise). */
  readonly group: string;
  /** The id the server knows this host by, when `fleetlock-id` sets it; else derived from /etc/machine-id. */
  readonly id: string | undefined;
}

export const DEFAULT_GROUP = 'default';
const EXAMPLE = 'https://airlock.example.com:3333';

/** The protocol's group label. */
const groupSchema = z.string().check(z.regex(/^[a-zA-Z0-9.-]{1,253}$/));
/** A lock holder's id: what a node name or a UUID is made of. */
const idSchema = z.string().check(z.regex(/^[A-Za-z0-9._:-]{1,128}$/));

/** The base URL, or a sentence saying what is wrong with it. */
const baseUrl = (value: string): string | URL => {
  if (value.length > 2000) return 'it is longer than 2000 characters';
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return `it is not a URL with a scheme; write it as one, e.g. ${EXAMPLE}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `it is not a URL (write it with its scheme, e.g. ${EXAMPLE})`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `its scheme is ${url.protocol.slice(0, -1)}, not https`;
  if (url.username !== '' || url.password !== '') return 'it holds credentials, which FleetLock does not use';
  if (url.search !== '' || url.hash !== '') return 'it holds a query or a fragment; write only the base the /v1/... paths go under';
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return `plain http is only allowed for localhost or a loopback address, not ${url.hostname}; use https`;
  }
  return url;
};

/** Undefined when `fleetlock` is absent: each host then decides alone, as before. */
export const parseFleetLock = (
  dir: string,
  baseText: string | undefined,
  groupText: string | undefined,
  idText: string | undefined,
): FleetLockConfig | undefined => {
  const value = single(dir, 'fleetlock', baseText);
  const group = single(dir, 'fleetlock-group', groupText);
  const id = single(dir, 'fleetlock-id', idText);
  if (value === undefined) {
    const orphan = group !== undefined ? 'fleetlock-group' : id !== undefined ? 'fleetlock-id' : undefined;
    if (orphan !== undefined) {
      throw new ConfigError(
        `${dir}/${orphan} is set but ${dir}/fleetlock is not: without a FleetLock server there is no slot to take. Write the server's base URL to fleetlock, e.g. ${EXAMPLE}, or remove ${orphan}.`,
      );
    }
    return undefined;
  }
  const url = baseUrl(value);
  if (typeof url === 'string') throw new ConfigError(`${dir}/fleetlock holds ${quote(value)}, which cannot be used: ${url}.`);
  if (group !== undefined && !groupSchema.safeParse(group).success) {
    throw new ConfigError(
      `${dir}/fleetlock-group holds ${quote(group)}, which is not a FleetLock group: letters, digits, dots and dashes only. Write the group's name, or remove the file for "${DEFAULT_GROUP}".`,
    );
  }
  if (id !== undefined && !idSchema.safeParse(id).success) {
    throw new ConfigError(
      `${dir}/fleetlock-id holds ${quote(id)}, which is not a lock holder id: up to 128 letters, digits, dots, colons, underscores and dashes. Write one, or remove the file to derive it from /etc/machine-id.`,
    );
  }
  return { base: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, group: group ?? DEFAULT_GROUP, id };
};
