// What must survive a power cut is on disk before anything relies on it (real apt; the order of syscalls seen by strace),
// and a rollback copy that did not survive is not the end of the way back.
import assert from 'node:assert/strict';
import { readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, cliCommand } from '../support/cli.ts';
import {
  killAptRunInPostinst,
  killRunWhen,
  laterWindow,
  openWindow,
  sandboxPerTest,
  sandboxState as state,
  type Sandbox,
} from '../support/sandbox.ts';
import { aptMissing, sh, straceMissing } from '../support/tools.ts';

const active = { FAKE_SYSTEMCTL_MODE: 'active' };

/** One traced syscall: its name and the whole line (strace -y names each descriptor's path). */
interface Call {
  readonly name: string;
  readonly line: string;
}

/** The syscalls of interest in the order they started (a call another thread interrupted is counted where it began). */
const calls = (trace: string): Call[] =>
  trace.split('\n').flatMap((line) => {
    const match = /^\d+\s+(fsync|fdatasync|rename|renameat|renameat2|link|linkat)\(/.exec(line);
    return match === null ? [] : [{ name: match[1]!, line }];
  });

/** The directory descriptor a rename or link went through (/proc/self/fd/N/name), and the name it made. */
const madeThrough = (call: Call): { fd: string; name: string } | undefined => {
  const targets = [...call.line.matchAll(/"\/proc\/self\/fd\/(\d+)\/([^"]+)"/g)];
  const last = targets.at(-1);
  return last === undefined ? undefined : { fd: last[1]!, name: last[2]! };
};

describe('durability across power cuts (real apt)', { skip: (await aptMissing()) ?? (await straceMissing()) }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('the rollback copy is flushed before the in-flight record names it; every rename and the lock are flushed in their directory', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      const textfile = join(s.dir, 'textfile');
      await execa('mkdir', [textfile]);
      await s.write('metrics', `${textfile}/teleport-upgrade.prom\n`);
      const traceFile = join(s.dir, 'strace.out');
      const r = await execa(
        'strace',
        ['-f', '-qq', '-y', '-o', traceFile, '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2,link,linkat', ...cliCommand(), 'run'],
        { env: cleanEnv(s.env(active)), extendEnv: false, reject: false, stdin: 'ignore' },
      );
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
      const traced = calls(await readFile(traceFile, 'utf8'));

      // The copy of 1.2.3 is flushed before the first state file written (the in-flight record that names it).
      const copyFlushed = traced.findIndex(
        (c) => /^(fsync|fdatasync)$/.test(c.name) && /rollback\/teleport-ent_1\.2\.3_amd64\.deb>\)/.test(c.line),
      );
      const firstState = traced.findIndex((c) => madeThrough(c)?.name === 'state.json');
      assert.ok(copyFlushed >= 0, 'the rollback copy is fsynced');
      assert.ok(firstState > copyFlushed, 'before the state file names it');
      const copyDirFlushed = traced.findIndex(
        (c, i) => i > copyFlushed && c.name === 'fsync' && /\/var\/lib\/teleport-upgrade\/rollback>\)/.test(c.line),
      );
      assert.ok(copyDirFlushed > copyFlushed && copyDirFlushed < firstState, 'and so is its directory');

      // Each state file, metrics file and lock made in a directory is followed by an fsync of that very directory.
      const made = traced.flatMap((c, i) => {
        const through = madeThrough(c);
        return through !== undefined && ['state.json', 'teleport-upgrade.prom'].includes(through.name) ? [{ i, ...through }] : [];
      });
      assert.ok(made.filter((m) => m.name === 'state.json').length >= 2, 'the in-flight record and the outcome');
      assert.ok(made.some((m) => m.name === 'teleport-upgrade.prom'));
      for (const m of made) {
        const synced = traced.slice(m.i + 1).find((c) => c.name === 'fsync' && c.line.includes(`fsync(${m.fd}<`));
        assert.ok(synced !== undefined, `${m.name}: its directory is fsynced after the rename`);
      }
      const lockLink = traced.findIndex((c) => /^link(at)?$/.test(c.name) && /\/lock"/.test(c.line));
      assert.ok(lockLink >= 0, 'the lock is linked into place');
      assert.ok(
        traced.slice(lockLink + 1).some((c) => c.name === 'fsync' && /\/var\/lib\/teleport-upgrade>\)/.test(c.line)),
        'and its directory fsynced',
      );
    }));

  it('a rollback copy a power cut left empty: the rollback installs the previous version from the repository instead', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      await killAptRunInPostinst(s, '1.2.7', active);
      const rollbackDir = join(s.stateDir, 'rollback');
      const [copy] = await readdir(rollbackDir);
      assert.equal(copy, 'teleport-ent_1.2.3_amd64.deb');
      await truncate(join(rollbackDir, copy!), 0);

      const r = await s.cli(['run'], { ...active, FAKE_BROKEN_VERSIONS: '1.2.7' });
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(
        r.stderr,
        /^\[!\] the kept copy .*teleport-ent_1\.2\.3_amd64\.deb could not be installed; installing teleport-ent 1\.2\.3 from the repository instead\.$/m,
      );
      assert.match(r.stderr, /^\[i\] teleport-ent 1\.2\.7 -> 1\.2\.3 rolled back\.$/m);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      assert.equal((await state(s)).inProgress, null);
      assert.equal((await state(s)).badTarget?.version, '1.2.7');
    }));

  /** A power cut in 1.2.7's preinst while upgrading from 1.2.3: dpkg leaves teleport-ent "reinstreq half-installed". */
  const cutInPreinst = async (s: Sandbox) => {
    s.server.answer('v1.2.7');
    const slow = join(s.apt.root, 'slow-preinst');
    await writeFile(slow, '');
    await killRunWhen(s, active, async () => (await s.status()).includes('reinstreq half-installed'), "1.2.7's preinst");
    await rm(slow);
    assert.equal(await s.status(), 'install reinstreq half-installed\t1.2.3');
    // apt refuses other work on the host in this state.
    const apt = await execa('apt-get', ['install', '-y', 'teleport-tools'], { env: s.env(), reject: false });
    assert.notEqual(apt.exitCode, 0);
  };

  it('a package left half-installed (reinstreq) is installed again outside the window, from the kept copy', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      await cutInPreinst(s);
      await s.write('schedule', laterWindow());
      // The repository is unreachable: the kept copy of 1.2.3 is all there is.
      await writeFile(join(s.apt.root, 'etc/apt/sources.list.d/teleport.list'), 'deb [trusted=yes] file:/nonexistent ./\n');
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(
        r.stderr,
        /^\[!\] teleport-ent 1\.2\.3 was left half-installed by an interrupted package transaction; installing it again first\.$/m,
      );
      assert.match(r.stderr, /outside of maintenance window/);
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      assert.equal((await state(s)).inProgress, null);
    }));

  it('inside the window the half-installed package is installed again, then the upgrade goes on', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      await cutInPreinst(s);
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /installing it again first/);
      assert.equal(await s.status(), 'install ok installed\t1.2.7');
    }));

  it('a half-installed package that cannot be installed again fails the run loudly, with what to run by hand', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      await cutInPreinst(s);
      await rm(join(s.stateDir, 'rollback'), { recursive: true });
      await writeFile(join(s.apt.root, 'etc/apt/sources.list.d/teleport.list'), 'deb [trusted=yes] file:/nonexistent ./\n');
      await sh('apt-get', ['update'], { env: s.env() }).catch(() => undefined);
      await s.write('schedule', laterWindow());
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(
        r.stderr,
        /^\[!\] could not finish the interrupted package transaction of teleport-ent; .* Fix it by hand \(dpkg .*--configure -a; then apt-get install -y --reinstall .*teleport-ent=1\.2\.3\), then run teleport-upgrade again\.$/m,
      );
      assert.equal(await s.status(), 'install reinstreq half-installed\t1.2.3');
    }));
});
