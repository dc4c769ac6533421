// The v1 reading rule for one config file: drop comment and blank lines, trim, tolerate CRLF; most files hold one value.
import { ConfigError } from '../core/errors.ts';
import { quote } from '../core/text.ts';

/** The meaningful lines of a config file (comments starting with `#` and blank lines removed). */
export const valueLines = (text: string): string[] =>
  text
    .split('\n')
    .map((line) => line.replace(/\r$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

/** The single value of a file, or undefined when it is absent or holds only comments. */
export const single = (dir: string, name: string, text: string | undefined): string | undefined => {
  if (text === undefined) return undefined;
  const lines = valueLines(text);
  if (lines.length > 1) {
    throw new ConfigError(
      `${dir}/${name} holds ${lines.length} values (${quote(lines.join(' | '))}); it must hold exactly one. Keep one line and remove the others.`,
    );
  }
  return lines[0];
};
