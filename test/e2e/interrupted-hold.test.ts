// The v1 version lock survives a killed run, on real apt, dnf and zypper: the in-flight record says the package was
// held, and the next run puts the hold back before anything else.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { killAptRunInPostinst, killRunWhen, openWindow, sandboxPerTest, sandboxState, type Sandbox } from '../support/sandbox.ts';
import { aptMissing, rpmMissing, sh } from '../support/tools.ts';

const active = { FAKE_SYSTEMCTL_MODE: 'active' };

describe('a held package and a killed run (real apt)', { skip: await aptMissing() }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it('killed inside dpkg while the hold is lifted: the next run finishes the install and puts the hold back', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      await sh('apt-mark', ['hold', 'teleport-ent'], { env: { ...s.apt.env } });
      await killAptRunInPostinst(s, '1.2.7', active);
      assert.match(await s.status(), /^install ok half-configured\t1\.2\.7$/, 'the kill left it unheld and half-done');
      const record = (await sandboxState(s)).inProgress as { held: boolean; purpose: string } | null;
      assert.deepEqual([record?.purpose, record?.held], ['upgrade', true], 'the in-flight record says the package was held');

      const dry = await s.cli(['dry-run'], active);
      assert.match(dry.stderr, /run would first put the v1 version lock on teleport-ent back, then judge the agent/);

      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /^\[i\] teleport-ent was held \(the v1 version lock\) before the interrupted run; putting the hold back\.$/m);
      assert.equal(await s.status(), 'hold ok installed\t1.2.7');
      assert.equal((await sandboxState(s)).inProgress, null);
      // A plain apt upgrade can no longer move the agent.
      const upgrade = await sh('apt-get', ['upgrade', '-s'], { env: { ...s.apt.env } });
      assert.match(upgrade, /The following packages have been kept back:\s+teleport-ent|0 upgraded/);
    }));

  it('an upgrade without a hold puts none on', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
      await killAptRunInPostinst(s, '1.2.7', active);
      const r = await s.cli(['run'], active);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /putting the hold back/);
      assert.equal(await s.status(), 'install ok installed\t1.2.7');
    }));
});

/** Whether the v1 version lock is on: a zypper lock, or the repo exclude for yum/dnf. */
const locked = async (kind: 'dnf' | 'zypper', s: Sandbox): Promise<boolean> =>
  kind === 'zypper'
    ? /<name>teleport-ent<\/name>/.test(await s.rpm!.run('zypper', ['--non-interactive', '--xmlout', 'locks']))
    : /^exclude=teleport-ent$/m.test(await readFile(join(s.rpm!.root, 'etc/yum.repos.d/teleport.repo'), 'utf8'));

for (const kind of ['dnf', 'zypper'] as const) {
  describe(`a locked package and a killed run (real ${kind})`, { skip: await rpmMissing() }, () => {
    const { withSandbox } = sandboxPerTest({ before, after }, { rpm: true });

    it('killed inside the rpm transaction: the next run finishes it and the lock is on again', () =>
      withSandbox({ packages: kind, installed: 'teleport-ent=1.2.3', config: { schedule: openWindow() } }, async (s) => {
        const root = s.rpm!.root;
        if (kind === 'zypper') {
          await s.rpm!.run('zypper', ['--non-interactive', '--quiet', 'addlock', 'teleport-ent']);
        } else {
          const repoFile = join(root, 'etc/yum.repos.d/teleport.repo');
          await writeFile(repoFile, `${await readFile(repoFile, 'utf8')}exclude=teleport-ent\n`);
        }
        s.server.answer('v1.2.8');
        await killRunWhen(s, active, async () => existsSync(join(root, 'post-started')), "the new package's %post");
        await writeFile(join(root, 'post-may-finish'), '');
        const record = (await sandboxState(s)).inProgress as { held: boolean } | null;
        // Held either way: zypper lifts its lock for the install; yum's exclude is bypassed, never lifted.
        assert.equal(record?.held, true);
        assert.equal(
          await locked(kind, s),
          kind === 'dnf',
          kind === 'zypper' ? 'the kill left the lock off' : 'the exclude was never touched',
        );

        const r = await s.cli(['run'], active);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(r.stderr, /a previous run was interrupted while upgrading teleport-ent 1\.2\.3 -> 1\.2\.8/);
        if (kind === 'zypper') assert.match(r.stderr, /putting the hold back/);
        assert.equal(await s.status(), '1.2.8-1');
        assert.equal(await locked(kind, s), true, 'the v1 version lock is on');
        assert.equal((await sandboxState(s)).inProgress, null);
      }));
  });
}
