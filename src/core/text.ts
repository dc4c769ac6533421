// Untrusted text (network bodies, tool output, agent-written files, the state file) made safe for a log line, a terminal or JSON.

/**
 * Characters that must never reach a terminal or the journal raw: C0 and C1 controls, DEL, line and paragraph
 * separators, and the bidirectional overrides that can make a line read differently from what it holds.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

const escapeChar = (c: string): string => {
  const code = c.charCodeAt(0);
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

const cut = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/** Escapes what is unsafe, keeping everything else as it is. */
export const escapeUnsafe = (text: string): string => text.replace(UNSAFE, escapeChar);

/**
 * One line of JSON in which nothing unsafe appears raw: JSON.stringify escapes C0 controls, and the rest of what is
 * unsafe (DEL, C1, separators, bidi overrides) becomes \\uXXXX too, which any JSON reader reads back unchanged.
 */
export const safeJson = (value: unknown): string =>
  JSON.stringify(value).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Truncates untrusted text (tool output, headers) and escapes what is unsafe, for a log line, unquoted. */
export const sanitize = (text: string, max = 500): string => escapeUnsafe(cut(text, max));

/** Truncates, escapes and quotes untrusted text (network bodies, headers, agent-written files) before it reaches a log line. */
export const quote = (text: string, max = 80): string =>
  `"${cut(text, max)
    .replace(/["\\]/g, (c) => `\\${c}`)
    .replace(UNSAFE, escapeChar)}"`;
