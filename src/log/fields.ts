// The constant keys of structured log fields: `--log-format json` carries them beside each sentence.
import type { Fields } from './log.ts';

export const FIELD_KEYS = {
  package: 'package',
  installer: 'installer',
  installed: 'installed_version',
  target: 'target_version',
  from: 'from_version',
  to: 'to_version',
  cluster: 'cluster_version',
  reason: 'reason',
  command: 'command',
  exitCode: 'exit_code',
  durationMs: 'duration_ms',
  path: 'path',
  pid: 'pid',
  url: 'url',
  group: 'fleet_lock_group',
  holder: 'fleet_lock_id',
} as const;

export type FieldName = keyof typeof FIELD_KEYS;

/** Fields under their constant keys: `fields({ target: '1.2.4' })` is `{ target_version: '1.2.4' }`. Undefined values are left out. */
export const fields = (values: Partial<Record<FieldName, unknown>>): Fields =>
  Object.fromEntries(
    Object.entries(values)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [FIELD_KEYS[k as FieldName], v]),
  );
