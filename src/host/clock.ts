// The wall clock, the only source of "now" and of waiting.
import { setTimeout as wait } from 'node:timers/promises';

export interface Clock {
  now(): Date;
  /** Waits (the health check's settle period). */
  sleep(ms: number): Promise<void>;
  /** An instant in this host's local time and time zone, for people: `24 Nov 2026, 03:00 CET`. */
  local(date: Date): string;
}

/** Made on first use: the formatter loads locale data, which only status needs. */
let local: Intl.DateTimeFormat | undefined;

const localTime = (date: Date): string => {
  local ??= new Intl.DateTimeFormat('en-GB', {
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  });
  return local.format(date);
};

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: async (ms) => {
    await wait(ms);
  },
  local: localTime,
};
