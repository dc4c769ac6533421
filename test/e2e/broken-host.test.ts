// A broken host, against real apt and the real CLI: leftover processes, odd things at the lock path, an unusable or
// full state dir, a failing repository query, and a dry-run during a live run. Each ends in bounded time with a clear word.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { bin, cleanEnv, bundleFlags } from '../support/cli.ts';
import { cliInNamespace, mountsMissing } from '../support/mount-namespace.ts';
import { killTree, openWindow, sandboxPerTest, type Sandbox } from '../support/sandbox.ts';
import { aptMissing } from '../support/tools.ts';

const missing = await aptMissing();
const noMounts = missing ?? (await mountsMissing());
const active = { FAKE_SYSTEMCTL_MODE: 'active' };

/** Alive means running or sleeping: a zombie waiting for its reaper is dead. */
const alive = async (pid: number): Promise<boolean> => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !/^\S+ \(.*\) Z /.test(stat);
};

/** A directory of stand-in commands, first on PATH. */
const shims = async (s: Sandbox, files: Record<string, string>): Promise<string> => {
  const dir = join(s.dir, 'shims');
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(dir, name), `#!/bin/sh\n${text}\n`);
    await chmod(join(dir, name), 0o755);
  }
  return `${dir}:${s.env().PATH}`;
};

/** No stack trace, no "bug" wording: the operator gets one clear error line. */
const assertClearError = (stderr: string, says: RegExp) => {
  assert.match(stderr, says);
  assert.doesNotMatch(stderr, /internal error|this is a bug|\n\s+at /);
};

describe('leftover processes (real apt)', { skip: missing, concurrency: true }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('an apt-get update that leaves a child holding its output does not stall the run; the child is killed', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const pidFile = join(s.dir, 'leftover.pid');
      const PATH = await shims(s, {
        'apt-get': `if [ "$1" = update ]; then sleep 300 & echo $! > ${pidFile}; fi\nexec /usr/bin/apt-get "$@"`,
      });
      const started = Date.now();
      const r = await s.cli(['run'], { ...active, PATH });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
      // Far below the 5-minute bound of apt-get update and the 300 s the child would live.
      assert.ok(Date.now() - started < 60_000, `the run took ${Date.now() - started} ms`);
      assert.equal(await alive(Number(await readFile(pidFile, 'utf8'))), false, 'the leftover child is gone');
    }));

  it('a hung `teleport version --raw` with a child of its own is killed with its child at the 10 s bound', () =>
    withSandbox({ config: { package: 'teleport-ent\n', installer: 'nop\n', schedule: openWindow() } }, async (s) => {
      const pidFile = join(s.dir, 'teleport.pids');
      const PATH = await shims(s, { teleport: `sleep 300 & echo $$ $! > ${pidFile}\nwait` });
      const r = await s.cli(['dry-run', '--json'], { PATH });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).installed, null, 'the version could not be read');
      for (const pid of (await readFile(pidFile, 'utf8')).trim().split(' ').map(Number))
        assert.equal(await alive(pid), false, `pid ${pid} is gone`);
    }));
});

describe('the lock path and the state dir (real apt)', { skip: missing, concurrency: true }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('a FIFO at the lock path: exit 2 at once, naming it, instead of blocking forever', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      await mkdir(s.stateDir, { recursive: true });
      execFileSync('mkfifo', [join(s.stateDir, 'lock')]);
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 2, r.stderr);
      assertClearError(
        r.stderr,
        new RegExp(
          `^\\[!\\] cannot take the run lock at ${s.stateDir}/lock: it is a FIFO \\(named pipe\\), not the updater's lock file, and nothing else may be there\\. Remove it`,
          'm',
        ),
      );
    }));

  it('a directory at the lock path: exit 2, naming it', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      await mkdir(join(s.stateDir, 'lock'), { recursive: true });
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 2, r.stderr);
      assertClearError(r.stderr, /cannot take the run lock at .*\/lock: it is a directory/);
    }));

  it('a state dir that is a regular file: exit 2, naming it', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3' }, async (s) => {
      await mkdir(join(s.stateDir, '..'), { recursive: true });
      await writeFile(s.stateDir, 'not a directory\n');
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 2, r.stderr);
      assertClearError(
        r.stderr,
        new RegExp(`cannot take the run lock at ${s.stateDir}/lock: ${s.stateDir} is a regular file, not a directory`),
      );
    }));

  it('a dry-run during a live run says a run is in progress and who holds the lock, not that a transaction was interrupted', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      s.server.answer('v1.2.7');
      await writeFile(join(s.apt.root, 'slow-postinst'), '');
      const live = execa(process.execPath, [...bundleFlags(), bin(), 'run'], {
        env: cleanEnv(s.env(active)),
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
      });
      try {
        for (let i = 0; !(await s.status()).endsWith('half-configured\t1.2.7'); i++) {
          assert.ok(i < 600, 'the live run reaches its postinst');
          await sleep(100);
        }
        const r = await s.cli(['dry-run', '--json'], active);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(
            `^\\[i\\] another teleport-upgrade is in progress: pid ${live.pid} \\(teleport-upgrade run, since [^)]+\\) holds .*/lock; run would leave it to finish and do nothing now\\.$`,
            'm',
          ),
        );
        assert.doesNotMatch(r.stderr, /half-installed|interrupted/);
        const report = JSON.parse(r.stdout);
        assert.deepEqual([report.action, report.reason, report.lock.pid], ['none', 'busy', live.pid]);
      } finally {
        await killTree(live.pid!);
        await live;
      }
    }));

  it('a repository query that fails is shown with its error lines, not read as "not offered"', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      // Another source whose list apt can no longer parse: apt-cache madison exits 100.
      await writeFile(join(s.apt.root, 'etc/apt/sources.list'), 'deb [trusted=yes] file:/srv/other ./\n');
      await writeFile(join(s.apt.root, 'var/lib/apt/lists/_srv_other_._Packages'), 'Package: x\nVersion: 1\nDepends: ((((\n');
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(
        r.stderr,
        /^\[!\] upgrade attempt failed for teleport-ent=1\.2\.4: could not list the versions the apt repositories offer: apt-cache madison teleport-ent exited with status 100: .*E: The package lists or status file could not be parsed or opened\./m,
      );
      assert.doesNotMatch(r.stderr, /do not offer that version/);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
    }));
});

describe('a full or read-only state dir (real apt, in a mount namespace)', { skip: noMounts, concurrency: true }, () => {
  const { withSandbox, fixtures } = sandboxPerTest({ before, after });

  it('read-only: exit 2, naming the path and what to do', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const env = { ...s.env(active), STATE: s.stateDir };
      const r = await cliInNamespace(['run'], env, 'mkdir -p "$STATE"\nmount -t tmpfs -o ro,size=64k tmpfs "$STATE"');
      assert.equal(r.exitCode, 2, r.stderr);
      assertClearError(
        r.stderr,
        new RegExp(
          `^\\[!\\] cannot take the run lock at ${s.stateDir}/lock: its file system is mounted read-only \\(EROFS\\)\\. Make it writable`,
          'm',
        ),
      );
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
    }));

  it('full: exit 2, naming the path, and no half-written lock file left behind', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const listing = join(s.dir, 'listing');
      const env = { ...s.env(active), STATE: s.stateDir, LISTING: listing };
      const r = await cliInNamespace(
        ['run'],
        env,
        'mkdir -p "$STATE"\nmount -t tmpfs -o size=64k tmpfs "$STATE"\ndd if=/dev/zero of="$STATE/filler" bs=4k 2>/dev/null || true',
        'ls -A "$STATE" > "$LISTING"',
      );
      assert.equal(r.exitCode, 2, r.stderr);
      assertClearError(
        r.stderr,
        new RegExp(
          `^\\[!\\] cannot take the run lock at ${s.stateDir}/lock: no space is left on its file system \\(ENOSPC\\)\\. Free some space there`,
          'm',
        ),
      );
      assert.equal((await readFile(listing, 'utf8')).trim(), 'filler', 'nothing but the filler: no lock.PID.new litter');
    }));

  it('no room for the rollback copy: a warning, the partial copy removed, and the upgrade goes on', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      // apt's cache holds the previous version's package, 1 MiB of it that will not compress: more than the state dir can take.
      const cache = join(s.apt.root, 'var/cache/apt/archives');
      await mkdir(cache, { recursive: true });
      await copyFile(join(fixtures().repo, 'teleport-ent_1.2.3_amd64.deb'), join(cache, 'teleport-ent_1.2.3_amd64.deb'));
      await writeFile(join(cache, 'teleport-ent_1.2.3_amd64.deb'), Buffer.alloc(1024 * 1024, 7), { flag: 'a' });
      const listing = join(s.dir, 'listing');
      const env = { ...s.env(active), STATE: s.stateDir, LISTING: listing };
      const r = await cliInNamespace(
        ['run'],
        env,
        'mkdir -p "$STATE"\nmount -t tmpfs -o size=256k tmpfs "$STATE"',
        'ls -AR "$STATE" > "$LISTING"',
      );
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^\\[!\\] could not keep a copy of teleport-ent 1\\.2\\.3 in ${s.stateDir}/rollback: no space is left on its file system \\(ENOSPC\\); a rollback would reinstall it from the repository\\. The upgrade goes on\\.$`,
          'm',
        ),
      );
      assert.doesNotMatch(r.stderr, /internal error/);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
      assert.doesNotMatch(await readFile(listing, 'utf8'), /\.deb/, 'no partial copy is left');
    }));
});

describe('the state file after a failure to write it', { skip: missing }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('a state file that cannot be written before an install stops the run before anything is installed', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      // state.json is a directory: the in-flight record cannot be written, so nothing may be installed without it.
      await mkdir(join(s.stateDir, 'state.json'), { recursive: true });
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 2, r.stderr);
      assertClearError(r.stderr, new RegExp(`cannot write the state file at ${s.stateDir}/state\\.json`));
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
    }));
});
