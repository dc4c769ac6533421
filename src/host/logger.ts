// pino, writing synchronously to stderr as v1-style text or JSON lines, priority-prefixed under journald; never ending a run.
import { fstatSync } from 'node:fs';
import pino from 'pino';
import type { Log, LogFormat } from '../log/log.ts';
import { priorityPrefix, renderText } from '../log/render.ts';
import type { Output } from './output.ts';

/** pino's level of a warning. */
const WARN = 40;

/** systemd sets JOURNAL_STREAM to "device:inode" of the stream it connected; trust it only if stderr is that stream. */
export const stderrIsJournal = (journalStream: string | undefined): boolean => {
  if (!journalStream) return false;
  try {
    const { dev, ino } = fstatSync(2);
    return journalStream === `${dev}:${ino}`;
  } catch {
    return false;
  }
};

/** The logger a command runs with, and what it does after the command's last line. */
export interface HostLog extends Log {
  /** Says how many lines the output dropped, if any (see Output.finish). */
  finish(): void;
}

/**
 * `least` is the lowest level logged: debug with --debug, warn for status (whose screen is on stdout), else info.
 * Every line goes to `out`, which waits for a slow reader a bounded time and never throws.
 */
export const createLogger = (format: LogFormat, least: 'debug' | 'info' | 'warn', journal: boolean, out: Output): HostLog => {
  const render = (level: number, msg: string, json: string) =>
    `${priorityPrefix(level, journal)}${format === 'json' ? json : renderText(level, msg)}\n`;
  const write = (line: string): void => {
    const record = JSON.parse(line) as { level: number; msg: string };
    out.write(render(record.level, record.msg, line.trimEnd()));
  };
  const logger = pino({ level: least, base: undefined, timestamp: format === 'json' ? pino.stdTimeFunctions.isoTime : false }, { write });
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
    enableDebug: () => {
      logger.level = 'debug';
    },
    finish: () => out.finish((msg) => render(WARN, msg, JSON.stringify({ level: WARN, time: new Date().toISOString(), msg }))),
  };
};
