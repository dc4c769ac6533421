// The command line: commander wiring, error-to-exit-status mapping; heavy modules load only for commands that need them.
import { Command, CommanderError, Option } from 'commander';
import { ExitStatus, UpdaterError } from '../core/errors.ts';
import type { LogFormat } from '../log/log.ts';
import type { Host } from '../host/host.ts';
import type { Output } from '../host/output.ts';
import type { UpdateMode } from '../run/run-updater.ts';
import { UPDATER_VERSION } from '../version/updater-version.ts';

export const DEFAULT_CONFIG_DIR = '/etc/teleport-upgrade.d';
export const DEFAULT_STATE_DIR = '/var/lib/teleport-upgrade';
/** The lock lives in /run (gone at reboot); beside the state when the state dir is overridden, so tests and second instances keep their own. */
export const DEFAULT_LOCK = '/run/teleport-upgrade/lock';

interface GlobalOptions {
  configDir: string;
  stateDir: string;
  logFormat: LogFormat;
  debug: boolean;
  json?: boolean;
}

export interface Io {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: Output;
  readonly stderr: Output;
}

/** Runs a command on the real host with a logger, mapping UpdaterErrors to their exit statuses and anything else to a bug. */
const onHost = async (options: GlobalOptions, io: Io, quiet: boolean, body: (host: Host) => Promise<number>): Promise<number> => {
  const [{ createLogger, stderrIsJournal }, { realHost }] = await Promise.all([
    import('../host/logger.ts'),
    import('../host/real-host.ts'),
  ]);
  const log = createLogger(
    options.logFormat,
    options.debug ? 'debug' : quiet ? 'warn' : 'info',
    stderrIsJournal(io.env.JOURNAL_STREAM),
    io.stderr,
  );
  try {
    return await body(realHost(log, `teleport-upgrade/${UPDATER_VERSION}`, (text) => io.stdout.write(text)));
  } catch (error) {
    if (error instanceof UpdaterError) {
      log.error(error.message, error.fields);
      return error.exitStatus;
    }
    log.error(
      `internal error, this is a bug in teleport-upgrade: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return ExitStatus.failed;
  } finally {
    log.finish();
  }
};

const buildProgram = (io: Io, setStatus: (status: number) => void): Command => {
  const program = new Command('teleport-upgrade')
    .description('Tool for automatic upgrades of Teleport agents (Managed Updates v1).')
    .addOption(new Option('--config-dir <dir>', 'configuration directory').env('TELEPORT_UPGRADE_CONFIG_DIR').default(DEFAULT_CONFIG_DIR))
    .addOption(new Option('--state-dir <dir>', 'state directory').env('TELEPORT_UPGRADE_STATE_DIR').default(DEFAULT_STATE_DIR))
    .addOption(new Option('--log-format <format>', 'log line format').choices(['text', 'json']).default('text'))
    .option('--debug', 'log debug lines', false)
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError('(run "teleport-upgrade help" for usage)');

  const lockPathOf = (options: GlobalOptions) =>
    program.getOptionValueSource('stateDir') === 'default' ? DEFAULT_LOCK : `${options.stateDir}/lock`;
  const update = (name: UpdateMode, description: string) =>
    program
      .command(name)
      .description(description)
      .action(async (_options: unknown, command: Command) => {
        const options = command.optsWithGlobals<GlobalOptions>();
        const { runUpdater } = await import('../run/run-updater.ts');
        setStatus(
          await onHost(options, io, false, (host) =>
            runUpdater(
              {
                mode: name,
                configDir: options.configDir,
                stateDir: options.stateDir,
                json: options.json === true,
                lockPath: lockPathOf(options),
              },
              host,
            ),
          ),
        );
      });
  update('run', 'check for an upgrade and perform it when it is due (what the timer runs)');
  update('dry-run', 'show what run would do, changing nothing').option('--json', 'print one JSON object on stdout');
  update('force', 'perform an upgrade now if one is available, ignoring the maintenance window');
  program
    .command('status')
    .description("show whether this host's updater is healthy and what it will do next; writes nothing, takes no lock")
    .option('--json', 'print one JSON object on stdout')
    .option('--offline', 'do not ask the channel (the target and the decision stay unknown)')
    .action(async (_options: unknown, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { offline?: boolean }>();
      const [{ showStatus }, { errorJson }] = await Promise.all([import('../run/status.ts'), import('../run/dry-run-json.ts')]);
      setStatus(
        await onHost(options, io, true, async (host) => {
          const statusOptions = {
            configDir: options.configDir,
            stateDir: options.stateDir,
            lockPath: lockPathOf(options),
            json: options.json === true,
            offline: options.offline === true,
          };
          return showStatus(statusOptions, host).catch((error: unknown) => {
            if (options.json) io.stdout.write(errorJson(error));
            throw error;
          });
        }),
      );
    });
  program
    .command('version')
    .description('print the version of teleport-upgrade')
    .option('--raw', 'print the bare semantic version')
    .action((options: { raw?: boolean }) => {
      io.stdout.write(`${options.raw ? '' : 'v'}${UPDATER_VERSION}\n`);
      setStatus(ExitStatus.ok);
    });
  program.helpCommand('help [command]', 'show help for teleport-upgrade or one command');
  return program;
};

/** Runs the CLI; returns the exit status instead of exiting, so tests and the bundle share it. */
export const main = async (argv: readonly string[], io: Io): Promise<number> => {
  let status: number = ExitStatus.ok;
  const program = buildProgram(io, (s) => {
    status = s;
  });
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return ExitStatus.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitStatus.ok : ExitStatus.usage;
    }
    throw error;
  }
  return status;
};
