// The updater's own state (unhealthy mark, a bad target, an install in flight, the last run, counters, the files' last full check), versioned and validated on read.
import * as z from 'zod/mini';
import { filesRecordSchema } from './files-check.ts';
import { OUTCOMES } from './run-outcome.ts';

export const STATE_FILE = 'state.json';

const semverText = z.string().check(z.maxLength(100));

const badTargetSchema = z.object({
  version: semverText,
  reason: z.string().check(z.maxLength(2000)),
  at: z.iso.datetime(),
});

/** Written before an install starts and removed once it is over, so a run killed half-way is finished by the next. */
const inProgressSchema = z.object({
  /** An upgrade (judged, and rolled back when unhealthy), or the same version again over damaged files. */
  purpose: z.enum(['upgrade', 'reinstall']),
  /** The version installed before (semver), and in the package database's spelling, to roll back to. */
  from: semverText,
  fromExact: z.string().check(z.maxLength(200)),
  to: semverText,
  /** Whether teleport.service was active before: only then is its health judged. */
  agentWasActive: z.boolean(),
  /**
   * The v1 version lock was on before (an apt hold or a zypper lock, which the install lifts and which must be back on
   * afterwards, even when the run was killed half-way; or a yum exclude, which is never lifted).
   */
  held: z.boolean(),
  /** A copy of the previous package kept in the state dir, when the repository could not be relied on for it. */
  rollbackFile: z.nullable(z.string().check(z.maxLength(4096))),
  at: z.iso.datetime(),
});

/** What the last run (or force) that held the lock did, for `status` and the metrics. */
const lastRunSchema = z.object({
  at: z.iso.datetime(),
  command: z.enum(['run', 'force']),
  outcome: z.enum(OUTCOMES),
  exitStatus: z.number().check(z.int(), z.gte(0), z.lte(255)),
  /** The decision's reason, when it got that far. */
  reason: z.nullable(z.string().check(z.maxLength(100))),
  durationSeconds: z.number().check(z.gte(0)),
  from: z.nullable(semverText),
  to: z.nullable(semverText),
});

/**
 * A FleetLock slot this host holds, or may hold: recorded before it is asked for (a run killed before the answer
 * leaves the record, so the slot is never forgotten) and removed once given back.
 */
const fleetLockSlotSchema = z.object({
  server: z.string().check(z.maxLength(2048)),
  group: z.string().check(z.maxLength(253)),
  id: z.string().check(z.maxLength(128)),
  since: z.iso.datetime(),
  /** The server granted it; false while no answer has said so. */
  confirmed: z.boolean(),
});

/** The FleetLock server's last answer, for `status`. */
const fleetLockAnswerSchema = z.object({
  at: z.iso.datetime(),
  request: z.enum(['pre-reboot', 'steady-state']),
  server: z.string().check(z.maxLength(2048)),
  granted: z.boolean(),
  said: z.string().check(z.maxLength(2000)),
});

const countersSchema = z.object({
  upgrades: z.number().check(z.int(), z.gte(0)),
  rollbacks: z.number().check(z.int(), z.gte(0)),
});

const stateSchema = z.object({
  version: z.literal(5),
  kind: z.literal('teleport-upgrade-state'),
  /** When a run first found the agent's schedule unusable and marked it; null when not marked. */
  unhealthySince: z.nullable(z.iso.datetime()),
  /** A target whose install failed the health check and was rolled back; not installed again while the channel serves it. */
  badTarget: z.nullable(badTargetSchema),
  inProgress: z.nullable(inProgressSchema),
  lastRun: z.nullable(lastRunSchema),
  /** When a run last ended with exit status 0. */
  lastSuccessAt: z.nullable(z.iso.datetime()),
  /** Upgrades installed and rollbacks done on this host, ever (Prometheus counters). */
  counters: countersSchema,
  /** The last full check of the installed files that found them intact, and what they looked like then (see filesCheck). */
  verified: z.nullable(filesRecordSchema),
  /** Absent unless a FleetLock server was ever asked: a slot held (or maybe held), and its last answer. */
  fleetLock: z.optional(fleetLockSlotSchema),
  fleetLockAnswer: z.optional(fleetLockAnswerSchema),
});

/** Version 4 had no record of the files' last full check. */
const stateV4Schema = z.extend(z.omit(stateSchema, { verified: true }), { version: z.literal(4) });

/** Version 3 had neither the last run nor counters. */
const stateV3Schema = z.extend(z.omit(stateV4Schema, { lastRun: true, lastSuccessAt: true, counters: true }), { version: z.literal(3) });

/** Version 2's in-flight record had no purpose (always an upgrade) and did not say whether the package was held. */
const stateV2Schema = z.object({
  version: z.literal(2),
  kind: z.literal('teleport-upgrade-state'),
  unhealthySince: z.nullable(z.iso.datetime()),
  badTarget: z.nullable(badTargetSchema),
  inProgress: z.nullable(z.omit(inProgressSchema, { purpose: true, held: true })),
});

/** Version 1 held only the unhealthy mark; it is read and upgraded. */
const stateV1Schema = z.object({
  version: z.literal(1),
  kind: z.literal('teleport-upgrade-state'),
  unhealthySince: z.nullable(z.iso.datetime()),
});

export type State = z.infer<typeof stateSchema>;
export type BadTarget = z.infer<typeof badTargetSchema>;
export type InProgress = z.infer<typeof inProgressSchema>;
export type LastRun = z.infer<typeof lastRunSchema>;
export type FleetLockSlot = z.infer<typeof fleetLockSlotSchema>;
export type FleetLockAnswer = z.infer<typeof fleetLockAnswerSchema>;

export const emptyState: State = {
  version: 5,
  kind: 'teleport-upgrade-state',
  unhealthySince: null,
  badTarget: null,
  inProgress: null,
  lastRun: null,
  lastSuccessAt: null,
  counters: { upgrades: 0, rollbacks: 0 },
  verified: null,
};

/** Parses the state file; a missing file is the empty state, an unreadable one is reported to the caller. */
export const parseState = (text: string | undefined): State | string => {
  if (text === undefined) return emptyState;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return 'it is not JSON';
  }
  const parsed = stateSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  // Older versions are read and upgraded; what they did not record starts empty (a full check of the files, say).
  const older = stateV4Schema.safeParse(data);
  if (older.success) return { ...emptyState, ...older.data, version: 5 };
  const v3 = stateV3Schema.safeParse(data);
  if (v3.success) return { ...emptyState, ...v3.data, version: 5 };
  const v2 = stateV2Schema.safeParse(data);
  if (v2.success) {
    const { inProgress } = v2.data;
    return {
      ...emptyState,
      ...v2.data,
      version: 5,
      inProgress: inProgress === null ? null : { ...inProgress, purpose: 'upgrade', held: false },
    };
  }
  const v1 = stateV1Schema.safeParse(data);
  if (v1.success) return { ...emptyState, unhealthySince: v1.data.unhealthySince };
  return 'it does not match the state schema (version 5)';
};

export const serializeState = (state: State): string => `${JSON.stringify(state, null, 2)}\n`;
