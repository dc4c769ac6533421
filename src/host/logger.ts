// pino, writing synchronously to stderr as v1-style text or JSON lines, priority-prefixed under journald.
import { fstatSync, writeSync } from 'node:fs';
import pino from 'pino';
import type { Log, LogFormat } from '../log/log.ts';
import { priorityPrefix, renderText } from '../log/render.ts';

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

/** `least` is the lowest level logged: debug with --debug, warn for status (whose screen is on stdout), else info. */
export const createLogger = (format: LogFormat, least: 'debug' | 'info' | 'warn', journal: boolean): Log => {
  const write = (line: string): void => {
    const record = JSON.parse(line) as { level: number; msg: string };
    const text = format === 'json' ? line.trimEnd() : renderText(record.level, record.msg);
    writeSync(2, `${priorityPrefix(record.level, journal)}${text}\n`);
  };
  const logger = pino(
    { level: least, base: undefined, timestamp: format === 'json' ? pino.stdTimeFunctions.isoTime : false },
    { write },
  );
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
    enableDebug: () => {
      logger.level = 'debug';
    },
  };
};
