// What the operator sees, on real apt, dnf and zypper: status, the metrics file checked by real promtool and served by a
// real node_exporter, and hooks on an upgrade, a rollback, a repair and a failure.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { cliCommand } from '../support/cli.ts';
import { freePort } from '../support/free-port.ts';
import { cliInNamespace, mountsMissing } from '../support/mount-namespace.ts';
import { openWindow, sandboxPerTest, type Sandbox } from '../support/sandbox.ts';
import { aptMissing, prometheusMissing, rpmMissing } from '../support/tools.ts';

const active = { FAKE_SYSTEMCTL_MODE: 'active' };
const notRoot = process.getuid?.() === 0 ? undefined : 'hooks must be owned by root, and these tests are not';
const noMounts = await mountsMissing();

/** The metrics file's directory, as node_exporter's textfile collector is given it. */
const withMetrics = async (s: Sandbox): Promise<string> => {
  const dir = join(s.dir, 'textfile');
  await mkdir(dir, { recursive: true });
  await s.write('metrics', `${dir}/teleport-upgrade.prom\n`);
  return dir;
};

/** The value of one series line, e.g. `teleport_upgrade_upgrades_total`, or `teleport_upgrade_info{…}` by a label. */
const sample = (text: string, name: string): string | undefined =>
  new RegExp(`^${name.replace(/[{}]/g, '\\$&')}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1];

/** promtool accepts the file, with no lint complaint. */
const promtool = async (file: string): Promise<void> => {
  const result = await execa('promtool', ['check', 'metrics'], { input: await readFile(file), reject: false });
  assert.equal(result.exitCode, 0, `${result.stdout}${result.stderr}`);
  assert.equal(`${result.stdout}${result.stderr}`.trim(), '');
};

/** What a real node_exporter serves on /metrics with the textfile collector on `dir`. */
const scrape = async (dir: string): Promise<string> => {
  const port = await freePort();
  const exporter = execa(
    'prometheus-node-exporter',
    [
      `--web.listen-address=127.0.0.1:${port}`,
      '--collector.disable-defaults',
      '--collector.textfile',
      `--collector.textfile.directory=${dir}`,
    ],
    { reject: false, stdin: 'ignore' },
  );
  try {
    for (let i = 0; i < 100; i++) {
      const answer = await fetch(`http://127.0.0.1:${port}/metrics`).then(
        (r) => r.text(),
        () => undefined,
      );
      if (answer !== undefined) return answer;
      await sleep(100);
    }
    throw new Error('node_exporter did not answer');
  } finally {
    exporter.kill();
    await exporter;
  }
};

const statusJson = async (s: Sandbox, env: Record<string, string> = {}) => {
  const r = await s.cli(['status', '--json'], { ...active, ...env });
  return {
    exitCode: r.exitCode,
    status: JSON.parse(r.stdout) as Record<string, unknown> & { lastRun: Record<string, unknown> | null },
    stderr: r.stderr,
  };
};

describe('metrics through node_exporter, and status (real apt)', {
  skip: (await aptMissing()) ?? (await prometheusMissing()),
  concurrency: true,
}, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('after an upgrade: promtool accepts the file, node_exporter serves it, status says upgraded', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const dir = await withMetrics(s);
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 0, r.stderr);
      const file = join(dir, 'teleport-upgrade.prom');
      await promtool(file);
      assert.deepEqual((await readdir(dir)).sort(), ['teleport-upgrade.prom'], 'written atomically: no temporary file left');
      const text = await readFile(file, 'utf8');
      assert.equal(sample(text, 'teleport_upgrade_last_run_success'), '1');
      assert.equal(sample(text, 'teleport_upgrade_upgrades_total'), '1');
      assert.equal(sample(text, 'teleport_upgrade_rollbacks_total'), '0');
      assert.equal(sample(text, 'teleport_upgrade_upgrade_available'), '0');
      assert.equal(sample(text, 'teleport_upgrade_window_open'), '1');
      assert.match(
        text,
        /^teleport_upgrade_info\{updater="\d+\.\d+\.\d+",package="teleport-ent",installer="apt",installed="1\.2\.4",target="1\.2\.4"\} 1$/m,
      );
      assert.match(text, /^# HELP teleport_upgrade_last_run_duration_seconds /m);
      const served = await scrape(dir);
      for (const name of [
        'last_run_timestamp_seconds',
        'last_run_success',
        'last_success_timestamp_seconds',
        'info',
        'upgrades_total',
        'next_window_timestamp_seconds',
      ]) {
        assert.match(served, new RegExp(`^teleport_upgrade_${name}[ {]`, 'm'), name);
      }
      const { exitCode, status } = await statusJson(s);
      assert.equal(exitCode, 0);
      assert.deepEqual(
        [status.installed, status.installer, status.lastRun?.outcome, status.lastRun?.from, status.lastRun?.to],
        ['1.2.4', 'apt', 'upgraded', '1.2.3', '1.2.4'],
      );
    }));

  it('after a rollback: the bad target and the rollback counted; status exits 1', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const dir = await withMetrics(s);
      const r = await s.cli(['run'], { ...active, FAKE_BROKEN_VERSIONS: '1.2.4' });
      assert.equal(r.exitCode, 1, r.stderr);
      const file = join(dir, 'teleport-upgrade.prom');
      await promtool(file);
      const text = await readFile(file, 'utf8');
      assert.equal(sample(text, 'teleport_upgrade_last_run_success'), '0');
      assert.equal(sample(text, 'teleport_upgrade_rollbacks_total'), '1');
      assert.equal(sample(text, 'teleport_upgrade_upgrades_total'), '0');
      assert.match(text, /^teleport_upgrade_bad_target_info\{version="1\.2\.4"\} 1$/m);
      assert.match(await scrape(dir), /^teleport_upgrade_bad_target_info\{version="1\.2\.4"\} 1$/m);
      const { exitCode, status } = await statusJson(s);
      assert.equal(exitCode, 1);
      assert.equal(status.lastRun?.outcome, 'rolled-back');
      assert.deepEqual((status.badTarget as { version: string }).version, '1.2.4');
    }));

  it('after a failure: written all the same, without what the run could not learn; status exits 1', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const dir = await withMetrics(s);
      s.server.answer({ status: 503, body: 'down' });
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 1, r.stderr);
      const file = join(dir, 'teleport-upgrade.prom');
      await promtool(file);
      const text = await readFile(file, 'utf8');
      assert.equal(sample(text, 'teleport_upgrade_last_run_success'), '0');
      assert.equal(sample(text, 'teleport_upgrade_last_success_timestamp_seconds'), undefined, 'there was no success yet');
      assert.equal(sample(text, 'teleport_upgrade_upgrade_available'), undefined, 'the target is unknown');
      assert.match(text, /^teleport_upgrade_info\{.*installed="1\.2\.3",target=""\} 1$/m);
      await scrape(dir);
      const { exitCode, status } = await statusJson(s);
      assert.equal(exitCode, 1);
      assert.equal(status.lastRun?.outcome, 'failed');
      // The proxy is back: status asks it, and says what a run would do now.
      s.server.answer('v1.2.4');
      const now = await statusJson(s);
      assert.deepEqual([now.status.target, now.status.action, now.status.reason], ['1.2.4', 'upgrade', 'maintenance-window']);
    }));

  it('a metrics file that cannot be written is a warning, never a failed run', { skip: noMounts }, () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const dir = await withMetrics(s);
      const r = await cliInNamespace(['run'], { ...s.env(active), TEXTFILE: dir }, 'mount -t tmpfs -o ro,size=16k tmpfs "$TEXTFILE"');
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^\\[!\\] could not write the metrics to ${dir}/teleport-upgrade\\.prom: its file system is mounted read-only \\(EROFS\\); the run's outcome stands\\.$`,
          'm',
        ),
      );
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }),
  );

  it('status as root about a state file that is a FIFO or too large: says what is wrong with it, not to run as root', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const path = join(s.stateDir, 'state.json');
      await mkdir(s.stateDir, { recursive: true });
      await execa('mkfifo', [path]);
      const fifo = await s.cli(['status'], active);
      assert.equal(fifo.exitCode, 0, fifo.stderr);
      assert.match(
        fifo.stdout,
        /^note: +.*state\.json is not a regular file \(a FIFO \(named pipe\)\): it is no state file of teleport-upgrade's; move it aside, and the next run starts a new one$/m,
      );
      assert.doesNotMatch(fifo.stdout, /as root/);
      await rm(path);
      await writeFile(path, `{"version":4,${' '.repeat(70_000)}}`);
      const large = await s.cli(['status'], active);
      assert.match(
        large.stdout,
        /^note: +.*state\.json is 70\d{3} bytes, more than the 65536 allowed: it is no state file of teleport-upgrade's; move it aside/m,
      );
      // A run says so too, and replaces it.
      const run = await s.cli(['run'], active);
      assert.equal(run.exitCode, 0, run.stderr);
      assert.match(run.stderr, /^\[!\] ignoring .*state\.json: .* more than the 65536 allowed; it will be replaced\.$/m);
      assert.equal(JSON.parse(await readFile(path, 'utf8')).version, 5);
    }));

  it('status as a user who cannot read the state file: shows the rest and says what it could not read', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      assert.equal((await s.cli(['run'], active)).exitCode, 0);
      await chmod(s.dir, 0o755);
      await chmod(join(s.stateDir, 'state.json'), 0o600);
      const cli = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...cliCommand(), 'status'], {
        env: { ...s.env(active) },
        reject: false,
        stdin: 'ignore',
      });
      assert.equal(cli.exitCode, 0, cli.stderr);
      assert.match(cli.stdout, /^package: +teleport-ent 1\.2\.4 \(apt\)/m);
      assert.match(cli.stdout, /^note: +.*state\.json cannot be read \(EACCES\); run status as root to see it$/m);
    }));
});

describe("the README's alert rules", { skip: await prometheusMissing() }, () => {
  for (const [section, count] of [
    ['Fleet monitoring', 3],
    ['Fleet-wide rollout', 2],
  ] as const) {
    it(`promtool check rules accepts the ${section} section's rules`, async () => {
      const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
      const rules = new RegExp(`## ${section}[\\s\\S]*?\`\`\`yaml\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
      assert.ok(rules, `the ${section} section has a yaml block`);
      const dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-rules-'));
      try {
        await writeFile(join(dir, 'rules.yml'), rules);
        const result = await execa('promtool', ['check', 'rules', join(dir, 'rules.yml')], { reject: false });
        assert.equal(result.exitCode, 0, `${result.stdout}${result.stderr}`);
        assert.match(result.stdout, new RegExp(`SUCCESS: ${count} rules found`));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

/** A hook that records its environment in $HOOK_OUT/<name>.<event>, and the order hooks ran in. */
const RECORD =
  '#!/bin/sh\nname=$(basename "$0")\necho "$name" >> "$HOOK_OUT/order"\nenv | grep "^TELEPORT_UPGRADE_" | sort > "$HOOK_OUT/$name.$TELEPORT_UPGRADE_EVENT"\n';

const hooks = async (s: Sandbox, files: Record<string, { text: string; mode?: number }>): Promise<string> => {
  const dir = join(s.configDir, 'hooks.d');
  const out = join(s.dir, 'hook-out');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(dir, 0o755);
  await mkdir(out, { recursive: true });
  for (const [name, { text, mode = 0o755 }] of Object.entries(files)) {
    await writeFile(join(dir, name), text);
    await chmod(join(dir, name), mode);
  }
  return out;
};

const recorded = async (out: string, name: string): Promise<Record<string, string>> =>
  Object.fromEntries(
    (await readFile(join(out, name), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

describe('hooks (real apt)', { skip: (await aptMissing()) ?? notRoot, concurrency: true }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('an upgrade runs every hook in name order with the facts; a failing hook and a world-writable one change nothing', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const out = await hooks(s, {
        '20-second': { text: RECORD },
        '10-first': { text: RECORD },
        '30-fails': { text: '#!/bin/sh\necho "cannot reach the chat" >&2\nexit 1\n' },
        '40-writable': { text: RECORD, mode: 0o777 },
        README: { text: 'not a hook\n', mode: 0o644 },
      });
      const r = await s.cli(['run'], { ...active, HOOK_OUT: out });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.deepEqual((await readFile(join(out, 'order'), 'utf8')).trim().split('\n'), ['10-first', '20-second']);
      const env = await recorded(out, '10-first.upgraded');
      assert.deepEqual(
        [env.TELEPORT_UPGRADE_EVENT, env.TELEPORT_UPGRADE_FROM, env.TELEPORT_UPGRADE_TO, env.TELEPORT_UPGRADE_EXIT_STATUS],
        ['upgraded', '1.2.3', '1.2.4', '0'],
      );
      assert.equal(env.TELEPORT_UPGRADE_REASON, 'within maintenance window, upgrade will be attempted.');
      assert.ok((env.TELEPORT_UPGRADE_HOSTNAME ?? '').length > 0);
      assert.match(r.stderr, /^\[!\] hook 30-fails: cannot reach the chat$/m);
      assert.match(r.stderr, /^\[!\] hook 30-fails exited with status 1; the run's outcome stands\.$/m);
      assert.match(
        r.stderr,
        /^\[!\] not running hook .*\/hooks\.d\/40-writable: the file is writable by group or others \(mode 0777\); only root may be able to change a hook\.$/m,
      );
      // Nothing to do next time: no hook runs; nor for dry-run or status.
      assert.equal((await s.cli(['run'], { ...active, HOOK_OUT: out })).exitCode, 0);
      assert.equal((await s.cli(['dry-run'], { ...active, HOOK_OUT: out })).exitCode, 0);
      assert.equal((await s.cli(['status'], { ...active, HOOK_OUT: out })).exitCode, 0);
      assert.deepEqual((await readFile(join(out, 'order'), 'utf8')).trim().split('\n'), ['10-first', '20-second']);
    }));

  it('a rollback and a failure run the hooks with their events and exit statuses', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const out = await hooks(s, { '10-record': { text: RECORD } });
      assert.equal((await s.cli(['run'], { ...active, HOOK_OUT: out, FAKE_BROKEN_VERSIONS: '1.2.4' })).exitCode, 1);
      const rolledBack = await recorded(out, '10-record.rolled-back');
      assert.deepEqual(
        [rolledBack.TELEPORT_UPGRADE_FROM, rolledBack.TELEPORT_UPGRADE_TO, rolledBack.TELEPORT_UPGRADE_EXIT_STATUS],
        ['1.2.3', '1.2.4', '1'],
      );
      assert.match(rolledBack.TELEPORT_UPGRADE_REASON ?? '', /failed its health check/);
      s.server.answer({ status: 503, body: 'down' });
      assert.equal((await s.cli(['run'], { ...active, HOOK_OUT: out })).exitCode, 1);
      const failed = await recorded(out, '10-record.failed');
      assert.deepEqual([failed.TELEPORT_UPGRADE_FROM, failed.TELEPORT_UPGRADE_TO, failed.TELEPORT_UPGRADE_EXIT_STATUS], ['1.2.3', '', '1']);
      assert.match(failed.TELEPORT_UPGRADE_REASON ?? '', /failed to get target version .*HTTP 503/);
    }));

  it('damaged files reinstalled run the hooks as repaired', () =>
    withSandbox({ installed: 'teleport-ent=1.2.4', config: { schedule: openWindow() } }, async (s) => {
      const out = await hooks(s, { '10-record': { text: RECORD } });
      await writeFile(join(s.apt.root, 'usr/local/bin/teleport'), 'truncated');
      assert.equal((await s.cli(['run'], { ...active, HOOK_OUT: out })).exitCode, 0);
      assert.equal((await recorded(out, '10-record.repaired')).TELEPORT_UPGRADE_EVENT, 'repaired');
    }));

  it('a hook that hangs is killed with its whole process group after 30 s; the run still exits with its own status', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const pidFile = join(s.dir, 'hang.pids');
      await hooks(s, { '10-hangs': { text: `#!/bin/sh\nsleep 300 & echo $$ $! > ${pidFile}\nwait\n` } });
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /^\[!\] hook 10-hangs timed out after 30 s; the run's outcome stands\.$/m);
      for (const pid of (await readFile(pidFile, 'utf8')).trim().split(' ').map(Number)) {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
        assert.ok(stat === undefined || / Z /.test(stat), `pid ${pid} is gone`);
      }
    }));
});

for (const kind of ['dnf', 'zypper'] as const) {
  describe(`status and metrics (real ${kind})`, { skip: (await rpmMissing()) ?? (await prometheusMissing()) }, () => {
    const { withSandbox } = sandboxPerTest({ before, after }, { rpm: true });
    it('status names the installer and the v1 version lock; the metrics pass promtool after an upgrade', () =>
      withSandbox({ packages: kind, installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
        if (kind === 'zypper') {
          await s.rpm!.run('zypper', ['--non-interactive', '--quiet', 'addlock', 'teleport-ent']);
        } else {
          const repoFile = join(s.rpm!.root, 'etc/yum.repos.d/teleport.repo');
          await writeFile(repoFile, `${await readFile(repoFile, 'utf8')}exclude=teleport-*\n`);
        }
        const before = await statusJson(s);
        assert.equal(before.exitCode, 0, before.stderr);
        assert.deepEqual(
          [before.status.installer, before.status.installed, before.status.held, before.status.lastRun],
          [kind === 'dnf' ? 'yum' : 'zypper', '1.2.3', true, null],
        );
        const dir = await withMetrics(s);
        assert.equal((await s.cli(['run'], active)).exitCode, 0);
        await promtool(join(dir, 'teleport-upgrade.prom'));
        const text = await readFile(join(dir, 'teleport-upgrade.prom'), 'utf8');
        assert.match(
          text,
          new RegExp(
            `^teleport_upgrade_info\\{.*installer="${kind === 'dnf' ? 'yum' : 'zypper'}",installed="1\\.2\\.4",target="1\\.2\\.4"\\} 1$`,
            'm',
          ),
        );
        const afterwards = await statusJson(s);
        assert.deepEqual(
          [afterwards.status.installed, afterwards.status.held, afterwards.status.lastRun?.outcome],
          ['1.2.4', true, 'upgraded'],
        );
      }));
  });
}
