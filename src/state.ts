// The updater's own state (the unhealthy mark), versioned and validated on read.
import * as z from 'zod/mini';

export const STATE_FILE = 'state.json';

const stateSchema = z.object({
  version: z.literal(1),
  kind: z.literal('teleport-upgrade-state'),
  /** When a run first found the agent's schedule unusable and marked it; null when not marked. */
  unhealthySince: z.nullable(z.iso.datetime()),
});

export type State = z.infer<typeof stateSchema>;

export const emptyState: State = { version: 1, kind: 'teleport-upgrade-state', unhealthySince: null };

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
  return parsed.success ? parsed.data : 'it does not match the state schema (version 1)';
};

export const serializeState = (state: State): string => `${JSON.stringify(state, null, 2)}\n`;

/** The state after applying a decision's mark change. */
export const withMark = (state: State, mark: 'set' | 'clear' | 'keep', now: Date): State => {
  if (mark === 'set') return { ...state, unhealthySince: state.unhealthySince ?? now.toISOString() };
  if (mark === 'clear') return { ...state, unhealthySince: null };
  return state;
};
