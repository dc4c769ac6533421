// End to end on real apt: the site's own windows and freezes, as the real CLI applies them at the real time of day.
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aptMissing } from '../support/tools.ts';
import { openWindow, sandboxPerTest, type Sandbox } from '../support/sandbox.ts';

const MINUTE = 60_000;

/** A daily cron expression that opens at `date`'s minute in `zone` (the agent's windows are open now, in `openWindow`). */
const dailyAt = (date: Date, zone: string): string => {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: 'numeric', minute: 'numeric', hourCycle: 'h23' })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  return `${Number(parts.minute)} ${Number(parts.hour)} * * *`;
};
const fromNow = (minutes: number) => new Date(Date.now() + minutes * MINUTE);
/** A freeze range around now. */
const freezeNow = () =>
  `# year-end freeze\n${fromNow(-60).toISOString()} ${fromNow(60)
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')}\n`;

const dryRun = async (s: Sandbox) => {
  const r = await s.cli(['dry-run', '--json']);
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout) as {
    reason: string;
    window: { state: string; next: string | null; local: { state: string; next: string | null } };
    freeze: { active: boolean; until: string | null };
  };
};

describe('local windows and freezes against real apt', { skip: await aptMissing(), concurrency: true }, () => {
  const { withSandbox } = sandboxPerTest({ before, after });

  it("upgrades when the agent's window and a local one (Asia/Kolkata, +05:30) are both open", () =>
    withSandbox(
      {
        installed: 'teleport-ent=1.2.3',
        config: { schedule: openWindow(), window: `${dailyAt(fromNow(-30), 'Asia/Kolkata')} 2h Asia/Kolkata\n` },
      },
      async (s) => {
        const dry = await dryRun(s);
        assert.deepEqual([dry.reason, dry.window.local.state], ['maintenance-window', 'open']);
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(r.stderr, /^\[i\] within maintenance window, upgrade will be attempted\.$/m);
        assert.equal(await s.status(), 'install ok installed\t1.2.4');
      },
    ));

  it('does nothing outside the local window, and says when both are next open', () => {
    const rule = `${dailyAt(fromNow(30), 'UTC')} 1h`;
    return withSandbox(
      { installed: 'teleport-ent=1.2.3', config: { schedule: openWindow(), window: `# site hours\n${rule}\n` } },
      async (s) => {
        const dry = await dryRun(s);
        assert.equal(dry.reason, 'outside-local-window');
        assert.equal(dry.window.state, 'inside');
        assert.equal(dry.window.local.state, 'closed');
        assert.ok(
          dry.window.next !== null &&
            Date.parse(dry.window.next) > Date.now() + 28 * MINUTE &&
            Date.parse(dry.window.next) <= Date.now() + 30 * MINUTE,
          dry.window.next ?? 'null',
        );
        assert.equal(dry.window.local.next, dry.window.next);
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(
            `^\\[i\\] outside the local maintenance window \\(${rule.replace(/\*/g, '\\*')}\\), not attempting the upgrade: the agent's maintenance window is open, the local one is not; the next time both windows are open is ${dry.window.next.replace(/\./g, '\\.')}\\.$`,
            'm',
          ),
        );
        assert.doesNotMatch(r.stderr, /never open at the same time/);
        assert.equal(await s.status(), 'install ok installed\t1.2.3');
      },
    );
  });

  it('installs nothing during a freeze, not even a critical upgrade; metrics and status say frozen', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow(), freeze: freezeNow() } }, async (s) => {
      s.server.answer('v1.2.4', 'yes');
      const textfile = join(s.dir, 'textfile');
      await mkdir(textfile);
      await s.write('metrics', `${textfile}/teleport-upgrade.prom\n`);
      const dry = await dryRun(s);
      assert.equal(dry.reason, 'frozen');
      assert.equal(dry.freeze.active, true);
      const r = await s.cli(['run']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(
        r.stderr,
        /^\[i\] not installing 1\.2\.4: a change freeze is in effect \(\S+ \S+\) until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z; nothing is installed during a freeze, not even a critical upgrade\. teleport-upgrade force overrides it\.$/m,
      );
      assert.equal(await s.status(), 'install ok installed\t1.2.3');
      const metrics = await readFile(join(textfile, 'teleport-upgrade.prom'), 'utf8');
      assert.match(metrics, /^teleport_upgrade_frozen 1$/m);
      assert.match(metrics, /^teleport_upgrade_critical 1$/m);
      const status = await s.cli(['status']);
      assert.match(status.stdout, /^freeze: +in effect \(/m);
      assert.match(status.stdout, /^decision: +none \(frozen\)/m);
    }));

  it('force installs during a freeze, and warns that it overrode it', () =>
    withSandbox({ installed: 'teleport-ent=1.2.3', config: { schedule: openWindow(), freeze: freezeNow() } }, async (s) => {
      const r = await s.cli(['force']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(
        r.stderr,
        /^\[!\] a change freeze is in effect \(.+\) until \S+; force overrides it, so 1\.2\.4 is installed anyway\.$/m,
      );
      assert.equal(await s.status(), 'install ok installed\t1.2.4');
    }));

  it('refuses an invalid line with exit 2, naming the file, the line and an example; dry-run --json says config-error', () =>
    withSandbox(
      { installed: 'teleport-ent=1.2.3', config: { schedule: openWindow(), window: '# weekends\n0 2 * * Sat,Sun 4 h Europe/Berlin\n' } },
      async (s) => {
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 2, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(
            `${s.configDir}/window line 2, "0 2 \\* \\* Sat,Sun 4 h Europe/Berlin": .+\\. Write it like 0 2 \\* \\* Sat,Sun 4h Europe/Berlin\\.`,
          ),
        );
        assert.equal(await s.status(), 'install ok installed\t1.2.3');
        const dry = await s.cli(['dry-run', '--json']);
        assert.equal(dry.exitCode, 2);
        assert.equal(JSON.parse(dry.stdout).reason, 'config-error');
      },
    ));

  it("warns when the local windows never meet the agent's in the next 14 days", () =>
    withSandbox(
      { installed: 'teleport-ent=1.2.3', config: { schedule: openWindow(), window: `${dailyAt(fromNow(180), 'UTC')} 1h\n` } },
      async (s) => {
        const r = await s.cli(['run']);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(
          r.stderr,
          /^\[!\] the local windows in \S+\/window and the agent's exported maintenance windows are never open at the same time in the next 14 days \(an exported window is open now, the next local window opens \S+\): only critical upgrades would be installed/m,
        );
        assert.equal(await s.status(), 'install ok installed\t1.2.3');
      },
    ));
});
