// The wall clock, the only source of "now" and of waiting.
import { setTimeout as wait } from 'node:timers/promises';

export interface Clock {
  now(): Date;
  /** Waits (the health check's settle period). */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = { now: () => new Date(), sleep: async (ms) => { await wait(ms); } };
