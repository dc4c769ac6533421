// When the installed files are checked in full, and when their metadata says they did not change: the rules as a table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filesCheck, FULL_CHECK_EVERY_MS, type Fingerprint, type FilesRecord } from '../../src/core/files-check.ts';
import { nextState } from '../../src/core/next-state.ts';
import { emptyState, parseState } from '../../src/core/state.ts';
import { runUpdater } from '../../src/run/run-updater.ts';
import { ARGV, CONFIG_DIR, dpkg, healthyUpgrade, STATE_DIR, STATE_FILE } from '../support/apt-host.ts';
import { fakeHost } from '../support/fake-host.ts';

const AT = '2026-12-06T10:00:00.000Z';
const print = (path: string, over: Partial<Fingerprint> = {}): Fingerprint => ({
  path,
  ino: '131',
  size: '200000000',
  mtimeNs: '1765000000000000000',
  ctimeNs: '1765000000000000000',
  ...over,
});
const record: FilesRecord = {
  pkg: 'teleport-ent',
  packageVersion: '1.2.4',
  at: AT,
  files: [print('/usr/local/bin/teleport'), print('/usr/local/bin/tctl', { ino: '132' })],
};
const installed = { pkg: 'teleport-ent', packageVersion: '1.2.4' };
const later = (ms: number) => new Date(Date.parse(AT) + ms);

describe('filesCheck', () => {
  const rows: Array<[string, FilesRecord | null, typeof installed, Array<Fingerprint | undefined>, Date, string | null]> = [
    // name, record, installed, the files now, now, why a full check (null: none)
    ['nothing changed, an hour later: no full check', record, installed, record.files, later(3_600_000), null],
    ['no record: a full check', null, installed, [], later(1), 'there is no record of a full check'],
    [
      'another version installed (an upgrade by hand)',
      record,
      { ...installed, packageVersion: '1.2.5' },
      record.files,
      later(1),
      'the last full check was of teleport-ent 1.2.4',
    ],
    ['another package', record, { ...installed, pkg: 'teleport' }, record.files, later(1), 'the last full check was of teleport-ent 1.2.4'],
    [
      'a day later: the daily full check',
      record,
      installed,
      record.files,
      later(FULL_CHECK_EVERY_MS),
      'the daily full check is due (the last was at 2026-12-06T10:00:00.000Z)',
    ],
    [
      'a record from the future (the clock went back)',
      record,
      installed,
      record.files,
      later(-60_000),
      'the last full check is dated in the future',
    ],
    [
      'a file written (mtime and ctime)',
      record,
      installed,
      [record.files[0]!, print('/usr/local/bin/tctl', { ino: '132', mtimeNs: '1765000000000000001', ctimeNs: '1765000000000000001' })],
      later(1),
      '/usr/local/bin/tctl changed since the last full check',
    ],
    [
      'a file truncated',
      record,
      installed,
      [print('/usr/local/bin/teleport', { size: '9', ctimeNs: '2' }), record.files[1]!],
      later(1),
      '/usr/local/bin/teleport changed since the last full check',
    ],
    [
      'the old mtime put back with touch -r (ctime cannot be)',
      record,
      installed,
      [print('/usr/local/bin/teleport', { ctimeNs: '1765000000000000009' }), record.files[1]!],
      later(1),
      '/usr/local/bin/teleport changed since the last full check',
    ],
    [
      'a same-sized file renamed over it (a new inode)',
      record,
      installed,
      [print('/usr/local/bin/teleport', { ino: '999' }), record.files[1]!],
      later(1),
      '/usr/local/bin/teleport changed since the last full check',
    ],
    ['a file removed', record, installed, [record.files[0]!, undefined], later(1), '/usr/local/bin/tctl is gone since the last full check'],
  ];
  for (const [name, r, pkg, now, at, why] of rows) {
    it(name, () => {
      const check = filesCheck(r, pkg, now, at);
      assert.deepEqual(check.full ? check.why : null, why);
      if (!check.full) assert.equal(check.due.getTime(), Date.parse(AT) + FULL_CHECK_EVERY_MS);
    });
  }
});

describe('the record in the state file', () => {
  const now = new Date(AT);
  it('is kept through nextState, and dropped by an install, a rollback and a finished transaction', () => {
    const verified = nextState(emptyState, { type: 'files-verified', record }, now);
    assert.deepEqual(verified.verified, record);
    const progress = {
      purpose: 'upgrade',
      from: '1.2.4',
      fromExact: '1.2.4',
      to: '1.2.5',
      agentWasActive: true,
      held: false,
      rollbackFile: null,
      at: AT,
    } as const;
    assert.equal(nextState(verified, { type: 'install-started', progress }, now).verified, null, 'any install, reinstall or rollback');
    assert.equal(nextState(verified, { type: 'files-changed' }, now).verified, null, 'an interrupted transaction finished');
    assert.deepEqual(parseState(JSON.stringify(verified)), verified, 'it survives the file');
  });
  it('a version 4 file has no record; a corrupt record is no state at all, so the files are checked in full', () => {
    const { verified: _, ...v4 } = { ...emptyState, version: 4 };
    assert.deepEqual(parseState(JSON.stringify(v4)), emptyState);
    const corrupt = { ...emptyState, verified: { ...record, files: [{ ...record.files[0], ino: '-1' }] } };
    assert.equal(typeof parseState(JSON.stringify(corrupt)), 'string');
  });
});

describe('runs that install nothing, on a fake apt host with the clock injected', () => {
  it('the first checks every file and records them; the next skips while nothing changed; a day later it checks again', async () => {
    const host = fakeHost({
      now: new Date(AT),
      channel: {
        version: { ok: true, body: 'v1.2.4' },
        critical: { ok: true, body: 'no' },
        ping: { ok: true, body: '{"server_version":"1.2.4"}' },
      },
      commands: { ...healthyUpgrade(), [ARGV.dpkgQuery]: dpkg('1.2.4') },
      files: {
        [`${CONFIG_DIR}/endpoint`]: 'proxy.example.com:443/v1/webapi/automaticupgrades/channel/default\n',
        [`${CONFIG_DIR}/package`]: 'teleport-ent\n',
        [`${CONFIG_DIR}/schedule`]: '# generated by teleport\n',
        '/usr/local/bin/teleport': 'teleport 1.2.4',
      },
    });
    const run = async () => {
      const before = host.commands.length;
      await runUpdater(
        { mode: 'run', configDir: CONFIG_DIR, stateDir: STATE_DIR, json: false, lockPath: '/run/teleport-upgrade/lock' },
        host,
      );
      return host.commands.slice(before);
    };
    const first = await run();
    assert.ok(first.includes(ARGV.verify) && first.includes(ARGV.files), first.join('\n'));
    const recorded = (JSON.parse(host.files.get(STATE_FILE)!) as { verified: FilesRecord }).verified;
    assert.deepEqual([recorded.at, recorded.files.map((f) => f.path)], [AT, ['/usr/local/bin/teleport']]);
    await host.clock.sleep(3_600_000);
    assert.deepEqual(
      (await run()).filter((c) => c === ARGV.verify || c === ARGV.files),
      [],
      'an hour later, nothing changed: no check',
    );
    assert.match(
      host.text(),
      /files are as they were at their full check at 2026-12-06T10:00:00\.000Z; the next full check is due at 2026-12-07T10:00:00\.000Z/,
    );
    host.files.set('/usr/local/bin/teleport', 'teleport 1.2.4 changed');
    assert.ok((await run()).includes(ARGV.verify), 'a file changed: checked in full');
    await host.clock.sleep(FULL_CHECK_EVERY_MS);
    assert.ok((await run()).includes(ARGV.verify), 'a day after the last full check: checked in full');
  });
});
