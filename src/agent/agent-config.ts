// Where the agent serves /readyz: `teleport.diag_addr` in its teleport.yaml (written by root, still parsed with care).
import { parse } from 'yaml';
import * as z from 'zod/mini';

const configSchema = z.object({ teleport: z.optional(z.object({ diag_addr: z.optional(z.string().check(z.maxLength(300))) })) });

/** `host:port`: a name or IPv4, or a bracketed IPv6 literal. */
const ADDR = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/**
 * The /readyz URL when the config sets a diagnostic address, else undefined. A wildcard listen address is asked on
 * loopback. An unparsable file gives a reason instead (the health check then relies on systemd alone).
 */
export const readyzUrl = (text: string | undefined): { url?: string; problem?: string } => {
  if (text === undefined) return {};
  let data: unknown;
  try {
    data = parse(text, { maxAliasCount: 100 });
  } catch (error) {
    return { problem: `it is not valid YAML (${(error as Error).message.split('\n')[0]})` };
  }
  const parsed = configSchema.safeParse(data ?? {});
  const addr = parsed.success ? parsed.data.teleport?.diag_addr?.trim() : undefined;
  if (addr === undefined || addr === '') return {};
  const match = ADDR.exec(addr);
  if (match === null || Number(match[2]) > 65_535) return { problem: `teleport.diag_addr ${JSON.stringify(addr)} is not host:port` };
  const host = match[1] === '0.0.0.0' ? '127.0.0.1' : match[1] === '[::]' ? '[::1]' : match[1];
  return { url: `http://${host}:${match[2]}/readyz` };
};
