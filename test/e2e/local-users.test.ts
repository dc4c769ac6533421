// Other local accounts are adversaries: a real other user (nobody, via runuser) owns the metrics textfile directory, or
// can write the config dir, and plants links, FIFOs and directories; what hooks print is bounded (real apt).
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, readdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, cliCommand } from '../support/cli.ts';
import { openWindow, sandboxPerTest, type Sandbox } from '../support/sandbox.ts';
import { aptMissing, localUsersMissing, timeMissing } from '../support/tools.ts';

const active = { FAKE_SYSTEMCTL_MODE: 'active' };
const noTime = await timeMissing();
/** The other account: Debian's nobody (uid 65534), in nogroup (gid 65534). */
const NOBODY = 65534;

/** Runs a command as nobody. */
const asNobody = (argv: readonly string[]) => execa('runuser', ['-u', 'nobody', '--', ...argv], { stdin: 'ignore' });

/**
 * The metrics file's textfile directory as node_exporter's package lays it out: nobody's directory in nobody's
 * directory (Debian's /var/lib/prometheus/node-exporter), under a path nobody can reach.
 */
const nobodysTextfileDir = async (s: Sandbox): Promise<string> => {
  await chmod(s.dir, 0o755);
  const parent = join(s.dir, 'prometheus');
  const dir = join(parent, 'node-exporter');
  await mkdir(dir, { recursive: true });
  await chown(parent, NOBODY, NOBODY);
  await chown(dir, NOBODY, NOBODY);
  await s.write('metrics', `${dir}/teleport-upgrade.prom\n`);
  return dir;
};

/**
 * Runs the CLI with `planted` things (links to `victim`, FIFOs or directories) that nobody put at every name a
 * temporary file of the form .PID.MILLISECONDS.tmp could have in the next 10 s, PID being the CLI's own.
 */
const runWithPlanted = async (s: Sandbox, dir: string, kind: 'link' | 'fifo' | 'dir', victim: string) => {
  const plant = `use POSIX; my ($pid, $dir, $kind, $victim) = @ARGV; my $t = int(time() * 1000);
    for my $ms ($t - 1000 .. $t + 10000) { my $p = "$dir/.$pid.$ms.tmp";
      $kind eq 'link' ? symlink($victim, $p) : $kind eq 'fifo' ? POSIX::mkfifo($p, 0666) : mkdir($p); }`;
  // The shell's pid is the CLI's: exec keeps it.
  const script = 'runuser -u nobody -- perl -e "$1" "$$" "$2" "$3" "$4" && shift 4 && exec "$@"';
  return execa('sh', ['-c', script, 'sh', plant, dir, kind, victim, ...cliCommand(), 'run'], {
    env: cleanEnv(s.env(active)),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
  });
};

describe('the metrics textfile directory belongs to another user (real apt)', {
  skip: (await aptMissing()) ?? (await localUsersMissing()),
}, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('links, FIFOs and directories at every predictable temporary name change nothing: the victim is intact, no run hangs or fails', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const dir = await nobodysTextfileDir(s);
      const victim = join(s.dir, 'root-only');
      await writeFile(victim, 'root only\n', { mode: 0o600 });
      for (const kind of ['link', 'fifo', 'dir'] as const) {
        const r = await runWithPlanted(s, dir, kind, victim);
        assert.equal(r.timedOut, false, `${kind}: the run hung`);
        assert.equal(r.exitCode, 0, `${kind}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /internal error|metrics/, kind);
        assert.equal(await readFile(victim, 'utf8'), 'root only\n', `${kind}: root wrote through a planted link`);
        assert.match(await readFile(join(dir, 'teleport-upgrade.prom'), 'utf8'), /^teleport_upgrade_info\{.*installed="1\.2\.4"/m, kind);
      }
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
      const ours = (await readdir(dir)).filter((name) => name.startsWith('.teleport-upgrade.prom'));
      assert.deepEqual(ours, [], 'no temporary file of ours is left');
    }));

  it('a textfile directory renamed by its owner is a warning when the metrics are written: a critical upgrade still happens', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      const dir = await nobodysTextfileDir(s);
      await asNobody(['mv', dir, `${dir}.away`]);
      s.server.answer('v1.2.4', 'yes');
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
      assert.match(
        r.stderr,
        /^\[!\] could not write the metrics to .*\/node-exporter\/teleport-upgrade\.prom: a directory on the way does not exist \(ENOENT\); the run's outcome stands\.$/m,
      );
      const dry = await s.cli(['dry-run'], active);
      assert.equal(dry.exitCode, 0, dry.stderr);
    }));

  it("a textfile directory its owner replaced with a link is not followed, even to a directory of root's", () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const dir = await nobodysTextfileDir(s);
      const rootsDir = join(s.dir, 'roots');
      await mkdir(rootsDir, { mode: 0o755 });
      await asNobody(['mv', dir, `${dir}.away`]);
      await asNobody(['ln', '-s', rootsDir, dir]);
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(
        r.stderr,
        /^\[!\] could not write the metrics to .*: .*\/node-exporter is a symbolic link in .*\/prometheus, which is owned by uid 65534; the run's outcome stands\.$/m,
      );
      assert.deepEqual(await readdir(rootsDir), []);
    }));

  it("a directory at the metrics file's own name is a warning; the run keeps its exit status", () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const dir = await nobodysTextfileDir(s);
      await asNobody(['mkdir', join(dir, 'teleport-upgrade.prom')]);
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /^\[!\] could not write the metrics to .*teleport-upgrade\.prom: .*EISDIR.*; the run's outcome stands\.$/m);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }));

  it('only a metrics value that can never be right stops the run (exit 2, config-error)', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      await s.write('metrics', 'relative/teleport-upgrade.prom\n');
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 2, r.stderr);
      assert.match(r.stderr, /metrics holds "relative\/teleport-upgrade\.prom", which is not an absolute path ending in \.prom/);
      const status = await s.cli(['status', '--json'], active);
      assert.equal(status.exitCode, 2);
      assert.equal(JSON.parse(status.stdout).reason, 'config-error', 'status --json prints one object then too');
    }));
});

/** A hook that records that it ran, in $HOOK_OUT/ran. */
const RECORDS = '#!/bin/sh\necho "$(basename "$0")" >> "$HOOK_OUT/ran"\n';

const ran = async (out: string): Promise<string[]> =>
  (await readFile(join(out, 'ran'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

/** Root's own directory of programs, standing in for /usr/sbin. */
const rootsPrograms = async (s: Sandbox): Promise<string> => {
  const dir = join(s.dir, 'sbin');
  await mkdir(dir, { mode: 0o755 });
  await writeFile(join(dir, 'program'), RECORDS, { mode: 0o755 });
  return dir;
};

/** A run that fails (the channel answers 503), so the hooks run for `failed`. */
const failingRun = async (s: Sandbox, out: string) => {
  s.server.answer({ status: 503, body: 'down' });
  const r = await s.cli(['run'], { ...active, HOOK_OUT: out });
  assert.equal(r.exitCode, 1, r.stderr);
  return r;
};

describe('hooks: only root decides what runs as root (real apt)', { skip: (await aptMissing()) ?? (await localUsersMissing()) }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  const setUp = async (s: Sandbox) => {
    await chmod(s.dir, 0o755);
    const out = join(s.dir, 'hook-out');
    await mkdir(out, { mode: 0o777 });
    const hooks = join(s.configDir, 'hooks.d');
    await mkdir(hooks, { mode: 0o755 });
    return { out, hooks };
  };

  it("a hooks.d the agent's group swapped for a link to a directory of root's programs runs nothing, and says why", () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      const { out, hooks } = await setUp(s);
      const programs = await rootsPrograms(s);
      // The config dir is the agent's group's to write, as on some hosts.
      await chown(s.configDir, 0, NOBODY);
      await chmod(s.configDir, 0o775);
      await asNobody(['mv', hooks, `${hooks}.away`]);
      await asNobody(['ln', '-s', programs, hooks]);
      const r = await failingRun(s, out);
      assert.deepEqual(await ran(out), []);
      assert.match(
        r.stderr,
        /^\[!\] not running the hooks in .*\/hooks\.d: .*\/teleport-upgrade\.d is writable by its group \(gid 65534\); only root may be able to change what runs as root\.$/m,
      );
    }));

  it("a hooks.d that is a symbolic link is refused, even one of root's", () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      const { out, hooks } = await setUp(s);
      const programs = await rootsPrograms(s);
      await rename(hooks, `${hooks}.away`);
      await symlink(programs, hooks);
      const r = await failingRun(s, out);
      assert.deepEqual(await ran(out), []);
      assert.match(
        r.stderr,
        /^\[!\] not running the hooks in .*\/hooks\.d: .*\/hooks\.d is a symbolic link, which is not accepted here; only root may be able to change what runs as root\.$/m,
      );
    }));

  it("a hook that links into another user's directory is refused; a link within root's directories runs", () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      const { out, hooks } = await setUp(s);
      const programs = await rootsPrograms(s);
      const users = join(s.dir, 'home-nobody');
      await mkdir(users, { mode: 0o755 });
      await writeFile(join(users, 'hook'), RECORDS, { mode: 0o755 });
      await chown(users, NOBODY, NOBODY);
      await symlink(join(programs, 'program'), join(hooks, '10-roots'));
      await symlink(join(users, 'hook'), join(hooks, '20-users'));
      const r = await failingRun(s, out);
      assert.deepEqual(await ran(out), ['10-roots']);
      assert.match(
        r.stderr,
        /^\[!\] not running hook .*\/hooks\.d\/20-users: .*\/home-nobody is owned by uid 65534; only root may be able to change a hook\.$/m,
      );
    }));

  it('each hook is checked right before it runs: one made writable by others after the first hook ran is refused', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      const { out, hooks } = await setUp(s);
      await writeFile(join(hooks, '10-first'), `${RECORDS}chmod 0777 "${hooks}/20-second"\n`, { mode: 0o755 });
      await writeFile(join(hooks, '20-second'), RECORDS, { mode: 0o755 });
      const r = await failingRun(s, out);
      assert.deepEqual(await ran(out), ['10-first']);
      assert.match(r.stderr, /^\[!\] not running hook .*\/20-second: the file is writable by group or others \(mode 0777\)/m);
    }));

  it("a hook's output is bounded: a 200 MB line and 100,000 lines cost little memory and 100 logged lines each", { skip: noTime }, () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      const { out, hooks } = await setUp(s);
      await writeFile(join(hooks, '10-long'), '#!/bin/sh\nhead -c 200000000 /dev/zero | tr "\\0" x\necho\necho done\n', { mode: 0o755 });
      await writeFile(join(hooks, '20-many'), '#!/bin/sh\nseq 1 100000\n', { mode: 0o755 });
      s.server.answer({ status: 503, body: 'down' });
      const r = await execa('/usr/bin/time', ['-f', 'maxrss_kib=%M', ...cliCommand(), 'run'], {
        env: cleanEnv(s.env({ ...active, HOOK_OUT: out })),
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
      });
      assert.equal(r.exitCode, 1, r.stderr);
      const rssMiB = Number(/maxrss_kib=(\d+)/.exec(r.stderr)?.[1]) / 1024;
      assert.ok(rssMiB < 150, `peak RSS ${rssMiB} MiB`);
      const long = r.stderr.split('\n').filter((line) => line.startsWith('[i] hook 10-long: '));
      assert.equal(long.length, 2);
      assert.ok(long[0]!.length < 600, 'the long line is cut');
      assert.equal(long[1], '[i] hook 10-long: done');
      const many = r.stderr.split('\n').filter((line) => line.startsWith('[i] hook 20-many: '));
      assert.equal(many.length, 100);
      assert.equal(many.at(-1), '[i] hook 20-many: 100');
      assert.match(r.stderr, /^\[!\] hook 20-many printed 99900 more lines, not logged \(at most 100 are\)\.$/m);
      const ours = r.stderr.split('\n').filter((line) => line.startsWith('['));
      assert.match(ours.at(-1) ?? '', /failed to get target version/, "the run's own last line is there");
    }),
  );
});
