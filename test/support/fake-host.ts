// A recording fake Host for fast tests of the run's phases: canned command results keyed by argv, a fake clock,
// in-memory files. Everything the phases do is recorded: the commands in order, the log lines, stdout.
import type { Command, CommandResult } from '../../src/core/command.ts';
import type { Posted } from '../../src/core/fleet-lock.ts';
import type { Host } from '../../src/host/host.ts';
import type { ChannelAnswers } from '../../src/host/channel-fetch.ts';
import type { LockHolder } from '../../src/host/lock.ts';
import type { Fields } from '../../src/log/log.ts';

/** What a canned command answers; exit status 0 and no output unless said otherwise. */
export type Canned = Partial<CommandResult>;

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Fields;
}

export interface FakeHostSetup {
  /**
   * Answers by argv (joined with spaces). A list is answered in turn, its last answer repeating: a query asked before
   * and after an install can say different things.
   */
  readonly commands?: Record<string, Canned | readonly Canned[]>;
  readonly files?: Record<string, string>;
  readonly executables?: readonly string[];
  readonly now?: Date;
  readonly channel?: ChannelAnswers;
  /** What the agent's /readyz answers. */
  readonly probe?: string;
  /** A live run holding the lock. */
  readonly lockHolder?: LockHolder;
  /** What the FleetLock server answers, by endpoint (`pre-reboot`, `steady-state`); a list is answered in turn. */
  readonly fleetLock?: Partial<Record<'pre-reboot' | 'steady-state', Posted | readonly Posted[]>>;
}

export interface FakeHost extends Host {
  /** Every command run, argv joined with spaces, in order. */
  readonly commands: string[];
  /** Commands that had no canned answer (they fail as if not found); a table test expects none. */
  readonly unexpected: string[];
  readonly lines: LogLine[];
  readonly files: Map<string, string>;
  readonly printed: string[];
  /** Every FleetLock request, `<endpoint> <body>`, in order. */
  readonly posts: string[];
  /** The log as text lines, `[i] …`, for matching. */
  text(): string;
}

/** The key a command is answered by. */
export const key = (command: Pick<Command, 'argv'> | readonly string[]): string => ('argv' in command ? command.argv : command).join(' ');

export const fakeHost = (setup: FakeHostSetup = {}): FakeHost => {
  const answered = new Map<string, number>();
  const commands: string[] = [];
  const unexpected: string[] = [];
  const lines: LogLine[] = [];
  const printed: string[] = [];
  const posts: string[] = [];
  const files = new Map(Object.entries(setup.files ?? {}));
  let now = (setup.now ?? new Date('2026-11-23T01:00:00.000Z')).getTime();
  const log =
    (level: LogLine['level']) =>
    (message: string, fields: Fields = {}) =>
      void lines.push({ level, message, fields });
  const under = (dir: string) => `${dir.replace(/\/$/, '')}/`;
  return {
    commands,
    unexpected,
    lines,
    files,
    printed,
    posts,
    text: () => lines.map((l) => `${{ debug: '[d]', info: '[i]', warn: '[!]', error: '[!]' }[l.level]} ${l.message}`).join('\n'),
    run: async (command, options = {}) => {
      const k = key(command);
      commands.push(k);
      const canned = setup.commands?.[k];
      if (canned === undefined) {
        unexpected.push(k);
        return { exitCode: null, stdout: '', stderr: '', failure: `spawn ${command.argv[0]} ENOENT` };
      }
      const list: readonly Canned[] = Array.isArray(canned) ? canned : [canned as Canned];
      const turn = answered.get(k) ?? 0;
      answered.set(k, turn + 1);
      const answer = list[Math.min(turn, list.length - 1)] ?? {};
      const result: CommandResult = { exitCode: 0, stdout: '', stderr: '', ...answer };
      for (const line of result.stdout.split('\n').filter(Boolean)) options.onStdout?.(line);
      for (const line of result.stderr.split('\n').filter(Boolean)) options.onStderr?.(line);
      return result;
    },
    fetchChannel: async () =>
      setup.channel ?? {
        version: { ok: true, body: 'v1.2.4' },
        critical: { ok: true, body: 'no' },
        ping: { ok: true, body: '{"server_version":"1.2.4"}' },
      },
    probeStatus: async () => setup.probe ?? 'HTTP 200',
    postFleetLock: async (url, body) => {
      const endpoint = url.slice(url.lastIndexOf('/') + 1) as 'pre-reboot' | 'steady-state';
      posts.push(`${endpoint} ${body}`);
      const canned = setup.fleetLock?.[endpoint];
      if (canned === undefined) return { ok: false, problem: `no answer for ${endpoint} in this test` };
      if (!Array.isArray(canned)) return canned as Posted;
      const turn = answered.get(url) ?? 0;
      answered.set(url, turn + 1);
      return canned[Math.min(turn, canned.length - 1)]!;
    },
    readFile: async (path) => files.get(path),
    listDir: async (path, options = {}) =>
      [...files.keys()]
        .filter((f) => f.startsWith(under(path)))
        .map((f) => f.slice(under(path).length))
        .filter((rest) => options.recursive === true || !rest.includes('/'))
        .sort(),
    resetDir: async (path) => {
      for (const f of [...files.keys()]) if (f.startsWith(under(path))) files.delete(f);
    },
    hasExecutable: async (name) => (setup.executables ?? []).includes(name),
    copyFile: async (from, to) => {
      files.set(to, files.get(from) ?? '');
    },
    persist: async () => undefined,
    fingerprints: async (paths) =>
      paths.map((path) =>
        files.has(path) ? { path, ino: '1', size: String(files.get(path)!.length), mtimeNs: '1', ctimeNs: '1' } : undefined,
      ),
    writeFile: async (path, text) => {
      files.set(path, text);
    },
    inspectExecutable: async (path) => {
      throw Object.assign(new Error(`the fake host runs no hooks (${path})`), { code: 'ENOENT' });
    },
    hostname: () => 'agent-1.example.com',
    lock: async () => ({ acquired: true, release: async () => undefined }),
    lockHolder: async () => setup.lockHolder,
    clock: {
      now: () => new Date(now),
      sleep: async (ms) => {
        now += ms;
      },
      local: (date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC+0`,
    },
    log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), enableDebug: () => undefined },
    stdout: (text) => void printed.push(text),
  };
};
