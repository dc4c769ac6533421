// The systemd units: systemd-analyze verify (rc 0 and no output at all) and the timer's cadence.
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { systemdMissing } from '../support/tools.ts';

const UNITS = fileURLToPath(new URL('../../systemd/', import.meta.url));
const missing = await systemdMissing();

describe('systemd units', { skip: missing }, () => {
  let root: string;
  before(async () => {
    // The minimal root systemd-analyze needs: the units, an executable ExecStart, and the targets they refer to.
    root = await mkdtemp(join(tmpdir(), 'teleport-upgrade-units-'));
    await Promise.all(
      ['usr/sbin', 'etc/systemd/system/teleport.service.d', 'usr/lib/systemd/system'].map((d) => mkdir(join(root, d), { recursive: true })),
    );
    await writeFile(join(root, 'usr/sbin/teleport-upgrade'), '#!/bin/sh\n');
    await chmod(join(root, 'usr/sbin/teleport-upgrade'), 0o755);
    for (const unit of ['teleport-upgrade.service', 'teleport-upgrade.timer'])
      await copyFile(join(UNITS, unit), join(root, 'etc/systemd/system', unit));
    await copyFile(
      join(UNITS, 'teleport-upgrader-env.conf'),
      join(root, 'etc/systemd/system/teleport.service.d/teleport-upgrader-env.conf'),
    );
    await writeFile(
      join(root, 'usr/lib/systemd/system/teleport.service'),
      '[Unit]\nDescription=Teleport stand-in\n[Service]\nExecStart=/usr/sbin/teleport-upgrade\n',
    );
    for (const target of ['sysinit', 'basic', 'shutdown', 'timers', 'time-set', 'time-sync', 'network-online']) {
      await writeFile(join(root, `usr/lib/systemd/system/${target}.target`), `[Unit]\nDescription=${target}\n`);
    }
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('verify cleanly: exit 0 and nothing printed (verify exits 0 on some errors)', async () => {
    const units = ['teleport-upgrade.service', 'teleport-upgrade.timer'].map((u) => `/etc/systemd/system/${u}`);
    const result = await execa('systemd-analyze', ['verify', `--root=${root}`, ...units, '/usr/lib/systemd/system/teleport.service'], {
      reject: false,
    });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(`${result.stdout}${result.stderr}`, '');
  });

  it('the drop-in makes the agent export its schedule', async () => {
    const dropIn = await readFile(join(UNITS, 'teleport-upgrader-env.conf'), 'utf8');
    assert.match(dropIn, /^\[Service\]\nEnvironment="TELEPORT_EXT_UPGRADER=unit"$/m);
  });

  it('fire often enough that a one-hour window always sees a run', async () => {
    const timer = await readFile(join(UNITS, 'teleport-upgrade.timer'), 'utf8');
    const calendar = /^OnCalendar=(.+)$/m.exec(timer)?.[1] ?? '';
    const delayMin = Number(/^RandomizedDelaySec=(\d+)min$/m.exec(timer)?.[1]);
    assert.match(timer, /^FixedRandomDelay=true$/m);
    const out = (await execa('systemd-analyze', ['calendar', '--iterations=48', '--base-time=2026-01-01 00:07:00 UTC', calendar])).stdout;
    const times = [...out.matchAll(/(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g)].map((m) =>
      Date.parse(`${m[1]}Z`),
    );
    assert.equal(times.length, 48);
    const longestGapMin = Math.max(...times.slice(1).map((t, i) => (t - times[i]!) / 60_000));
    // With a fixed per-host delay the gap between runs is the calendar's; the first run comes at most delay late.
    assert.ok(longestGapMin + delayMin < 60, `gap ${longestGapMin} min + delay ${delayMin} min`);
  });
});
