// Record: the state file read once, this run's state changed only through nextState, and written atomically where needed.
import { nextState, type StateEvent } from '../core/next-state.ts';
import { emptyState, parseState, serializeState, STATE_FILE, type State } from '../core/state.ts';
import { fields } from '../log/fields.ts';
import type { RunContext } from './context.ts';

export interface StateRecord {
  /** The state as this run has it now (written or not). */
  current(): State;
  /** Applies events in order, in memory; returns the new state. */
  apply(...events: readonly StateEvent[]): State;
  /** Every event this run applied, in order: what it did. */
  events(): readonly StateEvent[];
  /** Writes the state file when the state differs from what was last written (or read). */
  write(): Promise<void>;
}

/** The record of a run that found `onDisk` in the state file. */
export const stateRecord = (ctx: RunContext, onDisk: State): StateRecord => {
  let written = onDisk;
  let current = onDisk;
  const applied: StateEvent[] = [];
  return {
    current: () => current,
    apply: (...events) => {
      applied.push(...events);
      current = events.reduce((state, event) => nextState(state, event, ctx.host.clock.now()), current);
      return current;
    },
    events: () => applied,
    write: async () => {
      if (serializeState(current) === serializeState(written)) return;
      await ctx.host.writeFile(`${ctx.options.stateDir}/${STATE_FILE}`, serializeState(current));
      if (current.unhealthySince !== written.unhealthySince)
        ctx.host.log.debug(`${current.unhealthySince === null ? 'cleared the unhealthy mark' : 'marked the agent unhealthy'}.`);
      written = current;
    },
  };
};

/** The state file; a missing one is the empty state, and an unreadable one is replaced (with a warning). */
export const readState = async ({ host, options }: RunContext): Promise<State> => {
  const path = `${options.stateDir}/${STATE_FILE}`;
  const text = await host.readFile(path).catch((error: unknown) => {
    host.log.warn(`ignoring ${path}: ${error instanceof Error ? error.message : String(error)}; it will be replaced.`, fields({ path }));
    return undefined;
  });
  const parsed = parseState(text);
  if (typeof parsed === 'string') {
    host.log.warn(`ignoring ${path}: ${parsed}; it will be rewritten.`, fields({ path }));
    return emptyState;
  }
  return parsed;
};
