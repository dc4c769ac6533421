// The v1 reading rule for one config file: drop comment and blank lines, trim, tolerate CRLF.

/** The meaningful lines of a config file (comments starting with `#` and blank lines removed). */
export const valueLines = (text: string): string[] =>
  text
    .split('\n')
    .map((line) => line.replace(/\r$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
