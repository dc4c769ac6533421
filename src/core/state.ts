// The updater's own state (unhealthy mark, a target that failed its health check, an upgrade in flight), versioned and validated on read.
import * as z from 'zod/mini';

export const STATE_FILE = 'state.json';

const semverText = z.string().check(z.maxLength(100));

const badTargetSchema = z.object({
  version: semverText,
  reason: z.string().check(z.maxLength(2000)),
  at: z.iso.datetime(),
});

/** Written before an install starts and removed once it is settled, so a run killed half-way is finished by the next. */
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
   * The v1 version lock (apt hold, zypper lock) was on before: the install lifts it, and it must be back on afterwards,
   * even when the run was killed half-way. (yum's exclude is never lifted.)
   */
  held: z.boolean(),
  /** A copy of the previous package kept in the state dir, when the repository could not be relied on for it. */
  rollbackFile: z.nullable(z.string().check(z.maxLength(4096))),
  at: z.iso.datetime(),
});

const stateSchema = z.object({
  version: z.literal(3),
  kind: z.literal('teleport-upgrade-state'),
  /** When a run first found the agent's schedule unusable and marked it; null when not marked. */
  unhealthySince: z.nullable(z.iso.datetime()),
  /** A target whose install failed the health check and was rolled back; not installed again while the channel serves it. */
  badTarget: z.nullable(badTargetSchema),
  inProgress: z.nullable(inProgressSchema),
});

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

export const emptyState: State = { version: 3, kind: 'teleport-upgrade-state', unhealthySince: null, badTarget: null, inProgress: null };

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
  const v2 = stateV2Schema.safeParse(data);
  if (v2.success) {
    const { inProgress } = v2.data;
    return { ...v2.data, version: 3, inProgress: inProgress === null ? null : { ...inProgress, purpose: 'upgrade', held: false } };
  }
  const v1 = stateV1Schema.safeParse(data);
  if (v1.success) return { ...emptyState, unhealthySince: v1.data.unhealthySince };
  return 'it does not match the state schema (version 3)';
};

export const serializeState = (state: State): string => `${JSON.stringify(state, null, 2)}\n`;
