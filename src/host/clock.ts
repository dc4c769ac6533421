// The wall clock, the only source of "now".
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
