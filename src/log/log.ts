// The logger interface the core writes to: one sentence per line, structured fields beside it.
export type Fields = Readonly<Record<string, unknown>>;

export interface Log {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** Turns debug lines on after the config dir's `debug` file was read. */
  enableDebug(): void;
}

export type LogFormat = 'text' | 'json';
