// Renders pino records as the v1-style lines operators know, with journald priority prefixes.
import { escapeUnsafe } from '../core/text.ts';

/** pino's numeric levels: debug 20, info 30, warn 40, error 50 (and fatal 60). */
const MARKERS: Readonly<Record<number, string>> = { 20: '[d]', 30: '[i]', 40: '[!]', 50: '[!]', 60: '[!]' };
/** syslog priorities: debug 7, info 6, warning 4, err 3. */
const PRIORITIES: Readonly<Record<number, number>> = { 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

/** `<6>` etc. when stderr is the journal, so `journalctl -p warning` filters by severity. */
export const priorityPrefix = (level: number, journal: boolean): string => (journal ? `<${PRIORITIES[level] ?? 6}>` : '');

/**
 * A text line: `[i] an upgrade is available (1.2.3 -> 1.2.4)`. Newlines in the message never split the line, and no
 * control character reaches the terminal or the journal raw, whatever a message quoted.
 */
export const renderText = (level: number, message: string): string =>
  `${MARKERS[level] ?? '[i]'} ${escapeUnsafe(message.replace(/[\r\n]+/g, ' '))}`;
