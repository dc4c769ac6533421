// Parses the agent-written `schedule` file (hostile input) into maintenance windows, `nop`, or a reason it is unusable.
import * as z from 'zod/mini';
import { quote } from '../core/text.ts';
import { valueLines } from '../config/config-value.ts';

export interface Window {
  /** Unix seconds, UTC. */
  readonly start: number;
  readonly stop: number;
}

export type Schedule =
  | { readonly kind: 'nop' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'invalid'; readonly problem: string }
  | { readonly kind: 'windows'; readonly windows: readonly Window[] };

/** Far more windows than any agent exports; a longer file is not a schedule. */
export const MAX_WINDOWS = 1000;
/** 9999-12-31T23:59:59Z: later timestamps are not a maintenance window. */
const MAX_SECONDS = 253_402_300_799;

const seconds = z.coerce.number().check(z.int(), z.gt(0), z.lte(MAX_SECONDS));
const windowLine = z.tuple([z.string().check(z.regex(/^\d{1,12}$/)), z.string().check(z.regex(/^\d{1,12}$/))]);

/** `text` is undefined when the file does not exist. Never throws: a bad file is a Schedule of kind `invalid`. */
export const parseSchedule = (text: string | undefined): Schedule => {
  if (text === undefined) return { kind: 'missing' };
  const lines = valueLines(text);
  if (lines.length === 0) return { kind: 'missing' };
  if (lines.length === 1 && lines[0] === 'nop') return { kind: 'nop' };
  if (lines.length > MAX_WINDOWS)
    return { kind: 'invalid', problem: `it holds ${lines.length} windows, more than the ${MAX_WINDOWS} allowed` };
  const windows: Window[] = [];
  for (const [index, line] of lines.entries()) {
    const fields = windowLine.safeParse(line.split(/\s+/));
    const start = fields.success ? seconds.safeParse(fields.data[0]) : undefined;
    const stop = fields.success ? seconds.safeParse(fields.data[1]) : undefined;
    if (!start?.success || !stop?.success) {
      return { kind: 'invalid', problem: `window ${index + 1} is ${quote(line, 60)}, not two unix timestamps "START STOP"` };
    }
    if (start.data >= stop.data) {
      return { kind: 'invalid', problem: `window ${index + 1} (${quote(line, 60)}) ends before it starts` };
    }
    windows.push({ start: start.data, stop: stop.data });
  }
  return { kind: 'windows', windows };
};
