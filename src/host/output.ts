// Writes to stderr and stdout that never end a run: a full pipe is waited for a bounded time, then lines are dropped and counted.
import { writeSync } from 'node:fs';

export interface OutputLimits {
  /** How long one line may wait for a full pipe or socket (a slow journal, `run 2>&1 | less`). */
  readonly lineWaitMs: number;
  /** How long all lines of the process may wait together; then lines that cannot go at once are dropped. */
  readonly totalWaitMs: number;
}

export const LOG_LIMITS: OutputLimits = { lineWaitMs: 5_000, totalWaitMs: 30_000 };
/** stdout carries answers (dry-run --json, status, version): they may wait longer than a log line. */
export const ANSWER_LIMITS: OutputLimits = { lineWaitMs: 30_000, totalWaitMs: 60_000 };

export interface Output {
  /** Writes the text, or drops it (and counts it) when the reader does not take it in time or is gone. */
  write(text: string): void;
  /** Lines dropped so far. */
  dropped(): number;
  /**
   * After the last line: when lines were dropped, writes `render(sentence)`, a sentence saying how many, with the last
   * of them (often the run's final status line), waiting for the reader as long as one line may, whatever came before.
   */
  finish(render: (sentence: string) => string): void;
}

const pause = new Int32Array(new SharedArrayBuffer(4));
/** Blocks this thread for `ms` (the writes are synchronous: they must be in order and complete before exit). */
const sleepSync = (ms: number): void => {
  Atomics.wait(pause, 0, 0, ms);
};

/**
 * A writer to `fd`. A descriptor someone made non-blocking answers EAGAIN when its reader falls behind: the line waits
 * (backing off up to 50 ms) for up to `lineWaitMs`, and all lines for up to `totalWaitMs`; a line that still cannot go
 * is dropped, and so are the next ones until the reader takes one at once again, so a stalled reader costs one wait,
 * not one per line. A reader that is gone (EPIPE) drops everything, silently. Nothing here ever throws.
 */
export const output = (
  fd: number,
  limits: OutputLimits = LOG_LIMITS,
  write: typeof writeSync = writeSync,
  sleep: (ms: number) => void = sleepSync,
): Output => {
  let waited = 0;
  let dropped = 0;
  let stalled = false;
  let torn = false;
  let lastDropped: string | undefined;

  /** Writes all of `text`, waiting up to `budgetMs`; false when it could not (part of it may be out). */
  const put = (text: string, budgetMs: number): boolean => {
    let rest = Buffer.from(torn ? `\n${text}` : text);
    let spent = 0;
    let delay = 1;
    while (rest.length > 0) {
      try {
        const n = write(fd, rest);
        if (n > 0 && n < rest.length) torn = true;
        rest = rest.subarray(n);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || spent >= budgetMs) return false;
        sleep(delay);
        spent += delay;
        waited += delay;
        delay = Math.min(delay * 2, 50);
      }
    }
    torn = false;
    return true;
  };

  return {
    write: (text) => {
      if (put(text, stalled ? 0 : Math.min(limits.lineWaitMs, limits.totalWaitMs - waited))) {
        stalled = false;
        return;
      }
      stalled = true;
      dropped += 1;
      lastDropped = text;
    },
    dropped: () => dropped,
    finish: (render) => {
      if (dropped === 0) return;
      const last = lastDropped === undefined ? '' : ` The last of them: ${lastDropped.trimEnd().replace(/^<\d>/, '')}`;
      put(
        render(
          `${dropped} log line(s) were dropped: the reader of this output did not take them in time (waited ${(waited / 1000).toFixed(1)} s in all).${last}`,
        ),
        limits.lineWaitMs,
      );
    },
  };
};
