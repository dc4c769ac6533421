// Table tests of the recover phase on a recording fake host (apt): a transaction or an upgrade a killed run left behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyState, serializeState, type InProgress, type State } from '../../src/core/state.ts';
import type { Mode } from '../../src/run/context.ts';
import { recover } from '../../src/run/recover.ts';
import { stateRecord } from '../../src/run/state-store.ts';
import {
  ARGV,
  acting,
  agent,
  CRASH_LOOPING,
  dpkg,
  healthyUpgrade,
  KEPT,
  runContext,
  STATE_FILE,
  type Answers,
} from '../support/apt-host.ts';
import { fakeHost } from '../support/fake-host.ts';

const inFlight = (over: Partial<InProgress> = {}): InProgress => ({
  purpose: 'upgrade',
  from: '1.2.3',
  fromExact: '1.2.3',
  to: '1.2.4',
  agentWasActive: true,
  held: false,
  rollbackFile: KEPT,
  at: '2026-11-23T00:55:00.000Z',
  ...over,
});

/** An apt host whose Teleport source is sources.list.d/teleport.list, as gatherPlanInput reads it. */
const SOURCES: Answers = {
  [ARGV.sources]: { stdout: "ETC='/etc/apt/'\nLIST='/etc/apt/sources.list'\nPARTS='/etc/apt/sources.list.d/'\n" },
  [ARGV.isActive]: { stdout: 'active\n' },
};

interface Row {
  readonly name: string;
  readonly mode?: Mode;
  readonly progress: InProgress | null;
  /** What dpkg-query says, in turn: when recover inspects, after a repair, after settling. */
  readonly dpkg: readonly ReturnType<typeof dpkg>[];
  readonly answers?: Answers;
  readonly error?: RegExp;
  readonly says?: readonly RegExp[];
  readonly acts: readonly string[];
  readonly after: { readonly inProgress: 'none' | 'set'; readonly badTarget: 'none' | 'set' };
  /** The packages recover hands on to gather: the version and whether it is held. */
  readonly packages: string;
}

const rows: readonly Row[] = [
  {
    name: 'nothing was interrupted: nothing is done',
    progress: null,
    dpkg: [dpkg('1.2.3')],
    acts: [],
    after: { inProgress: 'none', badTarget: 'none' },
    packages: '1.2.3 held=false',
  },
  {
    name: 'killed mid-install of a held package: the transaction is finished, the hold put back first, the agent judged healthy',
    progress: inFlight({ held: true }),
    dpkg: [dpkg('1.2.4', { configured: false }), dpkg('1.2.4'), dpkg('1.2.4', { held: true })],
    says: [
      /was left half-installed by an interrupted package transaction; finishing it first/,
      /a previous run was interrupted while upgrading teleport-ent 1\.2\.3 -> 1\.2\.4/,
      /putting the hold back/,
      /1\.2\.4 got installed; restarting the agent and judging it now/,
      /teleport\.service is healthy on 1\.2\.4/,
    ],
    acts: [ARGV.repair, ARGV.hold, ARGV.daemonReload, ARGV.reload],
    after: { inProgress: 'none', badTarget: 'none' },
    packages: '1.2.4 held=true',
  },
  {
    name: 'killed mid-install, and the new version crash-loops: rolled back from the kept copy, recorded bad, the run fails',
    progress: inFlight(),
    dpkg: [dpkg('1.2.4', { configured: false }), dpkg('1.2.4'), dpkg('1.2.3')],
    answers: { [ARGV.show]: [agent(), CRASH_LOOPING, agent()] },
    error: /teleport 1\.2\.4 failed its health check .* and was rolled back to 1\.2\.3, which is healthy again/,
    acts: [ARGV.repair, ARGV.daemonReload, ARGV.reload, ARGV.rollback(), ARGV.daemonReload, ARGV.restart],
    after: { inProgress: 'none', badTarget: 'set' },
    packages: 'not asked',
  },
  {
    name: 'killed before the install took: nothing to judge, the record ended, the hold put back',
    progress: inFlight({ held: true }),
    dpkg: [dpkg('1.2.3'), dpkg('1.2.3', { held: true })],
    says: [/teleport-ent is 1\.2\.3; the interrupted upgrade did not get through, so there is nothing to judge/],
    acts: [ARGV.hold],
    after: { inProgress: 'none', badTarget: 'none' },
    packages: '1.2.3 held=true',
  },
  {
    name: 'an interrupted reinstall needs only its hold back',
    progress: inFlight({ purpose: 'reinstall', from: '1.2.3', to: '1.2.3', held: true, rollbackFile: null }),
    dpkg: [dpkg('1.2.3'), dpkg('1.2.3', { held: true })],
    says: [/a previous run was interrupted while reinstalling teleport-ent 1\.2\.3/],
    acts: [ARGV.hold],
    after: { inProgress: 'none', badTarget: 'none' },
    packages: '1.2.3 held=true',
  },
  {
    name: "a power cut in the new version's preinst left it half-installed: installed again from the kept copy, then nothing to judge",
    progress: inFlight(),
    dpkg: [dpkg('1.2.3', { reinstreq: true }), dpkg('1.2.3'), dpkg('1.2.3')],
    answers: { [ARGV.reinstallKept]: {} },
    says: [
      /teleport-ent 1\.2\.3 was left half-installed by an interrupted package transaction; installing it again first/,
      /the interrupted upgrade did not get through/,
    ],
    acts: [ARGV.repair, ARGV.reinstallKept],
    after: { inProgress: 'none', badTarget: 'none' },
    packages: '1.2.3 held=false',
  },
  {
    name: "the kept copy cannot be installed: the repository's is",
    progress: inFlight(),
    dpkg: [dpkg('1.2.3', { reinstreq: true }), dpkg('1.2.3')],
    answers: { [ARGV.reinstallKept]: { exitCode: 100, stderr: 'E: Unsupported file given on commandline' }, [ARGV.reinstall('1.2.3')]: {} },
    acts: [ARGV.repair, ARGV.reinstallKept, ARGV.reinstall('1.2.3')],
    after: { inProgress: 'none', badTarget: 'none' },
    packages: '1.2.3 held=false',
  },
  {
    name: 'still half-installed after the repair: the run fails loudly with what to run by hand, inside or outside the window',
    progress: null,
    dpkg: [dpkg('1.2.3', { reinstreq: true })],
    answers: { [ARGV.reinstall('1.2.3')]: {} },
    error:
      /^teleport-ent 1\.2\.3 is still half-installed after the repair, and the package manager refuses other work until it is fixed\. .*Fix it by hand \(dpkg --force-confdef --force-confold --configure -a; then apt-get install -y --reinstall .*teleport-ent=1\.2\.3\), then run teleport-upgrade again\.$/,
    acts: [ARGV.repair, ARGV.reinstall('1.2.3')],
    after: { inProgress: 'none', badTarget: 'none' },
    packages: 'not asked',
  },
  {
    name: 'dry-run only describes: nothing run, nothing written',
    mode: 'dry-run',
    progress: inFlight({ held: true }),
    dpkg: [dpkg('1.2.4', { configured: false })],
    says: [
      /was left half-installed by an interrupted package transaction; run would finish it first/,
      /a previous run was interrupted while upgrading teleport-ent 1\.2\.3 -> 1\.2\.4; run would first put the v1 version lock on teleport-ent back, then judge the agent/,
    ],
    acts: [],
    after: { inProgress: 'set', badTarget: 'none' },
    packages: '1.2.4 held=false',
  },
];

describe('recover (fake apt host)', () => {
  for (const row of rows) {
    it(row.name, async () => {
      const stored: State = { ...emptyState, inProgress: row.progress };
      const host = fakeHost({
        commands: { ...healthyUpgrade(), ...SOURCES, [ARGV.repair]: {}, [ARGV.dpkgQuery]: row.dpkg, ...row.answers },
        files: {
          [STATE_FILE]: serializeState(stored),
          [KEPT]: 'the 1.2.3 package',
          '/etc/apt/sources.list.d/teleport.list': 'deb [trusted=yes] file:/repo ./\n',
        },
      });
      const ctx = runContext(host, row.mode);
      const record = stateRecord(ctx, stored);
      const result = await recover(ctx, record).then(
        (r) => ({ r }),
        (e: unknown) => ({ e: e as Error }),
      );
      assert.deepEqual(host.unexpected, []);
      if (row.error === undefined) assert.ok('r' in result, 'e' in result ? result.e.stack : '');
      else assert.match('e' in result ? result.e.message : 'no error', row.error);
      for (const pattern of row.says ?? []) assert.match(host.text(), pattern);
      assert.deepEqual(acting(host.commands), row.acts);
      const written = JSON.parse(host.files.get(STATE_FILE)!) as State;
      assert.equal(written.inProgress === null ? 'none' : 'set', row.after.inProgress);
      assert.equal(written.badTarget === null ? 'none' : 'set', row.after.badTarget);
      if ('r' in result) {
        const installed = result.r.packages.installed;
        assert.equal(`${installed?.packageVersion} held=${installed?.held}`, row.packages);
        assert.deepEqual(record.current(), written, 'the state recover leaves is the state it wrote');
      }
    });
  }
  it('the repair steps it ran (or would run) are handed on, for dry-run to list', async () => {
    const host = fakeHost({ commands: { ...SOURCES, [ARGV.dpkgQuery]: dpkg('1.2.4', { configured: false }) }, files: {} });
    const ctx = runContext(host, 'dry-run');
    const { repair } = await recover(ctx, stateRecord(ctx, emptyState));
    assert.deepEqual(
      repair.map((s) => s.argv.join(' ')),
      [ARGV.repair],
    );
  });
});
