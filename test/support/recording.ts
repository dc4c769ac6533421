// Shims that record the commands the tools receive, and which of them changed the host, for comparing dry-run's printed
// plan with what run executed.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The separator the recording shims put between argv fields. */
export const FIELD = '\x1f';

/** The first argument that is not an option (nor an option's value): the subcommand. */
export const subcommand = (args: readonly string[]): string | undefined =>
  args.find((a, i) => !a.startsWith('-') && !['--pkg-cache-dir', '-o'].includes(args[i - 1] ?? ''));

/** Whether a command changes the host: refresh, hold changes, install, repair, systemd reloads; never a query or the rollback copy's download. */
export const changesSomething = ([tool, ...args]: readonly string[]): boolean => {
  const sub = subcommand(args) ?? '';
  switch (tool) {
    case 'apt-get':
      return ['update', 'install', 'remove'].includes(sub);
    case 'apt-mark':
      return ['hold', 'unhold'].includes(sub);
    case 'dpkg':
      return args.includes('--configure');
    case 'rpm':
      return args.includes('-e');
    case 'dnf':
    case 'yum':
      return ['makecache', 'install', 'downgrade', 'reinstall'].includes(sub) && !args.includes('--downloadonly');
    case 'zypper':
      return ['refresh', 'install', 'removelock', 'addlock'].includes(sub);
    case 'systemctl':
      return ['daemon-reload', 'reload', 'try-restart', 'restart', 'start', 'stop'].includes(sub);
    default:
      return false;
  }
};

/** The commands a recording log holds (one per line, fields split by FIELD) that changed something. */
export const executedChanges = (log: string): string[][] =>
  log
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(FIELD))
    .filter(changesSomething);

/** The tools the recording shims stand in front of. */
export const RECORDED_TOOLS = ['apt-get', 'apt-mark', 'dpkg', 'rpm', 'dnf', 'yum', 'zypper', 'systemctl'];

/**
 * Writes into `dir` (to be put first on PATH, as `dirOnPath` where the commands run) a shim for each recorded tool: it
 * appends its argv (one line, fields split by FIELD) to `log`, then runs the real tool (the next of that name on PATH).
 */
export const writeRecordingShims = async (dir: string, log: string, dirOnPath: string = dir): Promise<void> => {
  const script = `#!/bin/sh
name=\${0##*/}
line=$name
for arg in "$@"; do line="$line$(printf '\\037')$arg"; done
printf '%s\\n' "$line" >> "${log}"
PATH=\${PATH#${dirOnPath}:}
exec "$name" "$@"
`;
  await mkdir(dir, { recursive: true });
  for (const tool of RECORDED_TOOLS) {
    await writeFile(join(dir, tool), script);
    await chmod(join(dir, tool), 0o755);
  }
};
