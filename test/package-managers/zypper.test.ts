// zypper as data: parsers on captured real output, and the exact commands the updater builds.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { CommandResult } from '../../src/core/command.ts';
import { answering } from '../support/ask.ts';
import { parseLocks, parseRepoAliases, parseSolvables, zypperManager } from '../../src/package-managers/zypper.ts';

const captured = (name: string) => readFileSync(new URL(`../fixtures/captured/${name}`, import.meta.url), 'utf8');
const _ok = (stdout: string) => ({ exitCode: 0, stdout, stderr: '' });

describe('zypper', () => {
  it('finds the repository alias, the locks and the editions (captured)', () => {
    assert.equal(parseRepoAliases(captured('zypper-repos.xml')), 'teleport');
    assert.deepEqual(parseLocks(captured('zypper-locks.xml')), ['teleport-ent']);
    assert.deepEqual(parseSolvables(captured('zypper-search.xml'), 'teleport-ent', undefined), ['1.3.0_beta.1-1', '1.2.4-1', '1.2.3-1']);
    assert.deepEqual(parseSolvables(captured('zypper-search.xml'), 'teleport', undefined), []);
  });
  it('tells "nothing found" (104) from a search that skipped a broken repository (106), and shows its messages (captured)', async () => {
    const available = (answer: Partial<CommandResult>) => zypperManager.available(answering(answer), 'teleport-ent', undefined);
    assert.deepEqual(await available({ exitCode: 104 }), { ok: true, versions: [] });
    assert.deepEqual(await available({ exitCode: 0, stdout: captured('zypper-search.xml') }), {
      ok: true,
      versions: ['1.3.0_beta.1-1', '1.2.4-1', '1.2.3-1'],
    });
    assert.deepEqual(await available({ exitCode: 106, stdout: captured('zypper-search-repo-skipped.xml') }), {
      ok: false,
      problem:
        "zypper --non-interactive --xmlout search --details --match-exact --type package teleport-ent exited with status 106: Problem retrieving files from 'teleport'. | Specified path '/nonexistent/repo' is not a directory: file:/nonexistent/repo | " +
        "Skipping repository 'teleport' because of the above error. | Some of the repositories have not been refreshed because of an error.",
    });
  });
  it('asks without waiting for the zypp lock first, naming its holder, then waits within the bound', async () => {
    const locked = {
      exitCode: 7,
      stdout:
        '<?xml version=\'1.0\'?>\n<stream>\n<message type="error">System management is locked by the application with pid 4711 (zypper).\nClose this application before trying again.</message>\n</stream>\n',
    };
    const ask = answering(locked, { exitCode: 104 });
    assert.deepEqual(await zypperManager.available(ask, 'teleport-ent', undefined), { ok: true, versions: [] });
    assert.equal(ask.asked.length, 2);
    assert.match(
      ask.warnings[0] ?? '',
      /^zypper: System management is locked by the application with pid 4711 \(zypper\)\. .*Waiting for it, within the bounds\.$/,
    );
    const free = answering({ exitCode: 104 });
    await zypperManager.available(free, 'teleport-ent', undefined);
    assert.deepEqual([free.asked.length, free.warnings], [1, []], 'a free lock costs no second query');
  });
  it('lifts a lock for the install, always restores it, and never lets a downgrade be a silent no-op', () => {
    const steps = zypperManager.installSteps({
      pkg: 'teleport-ent',
      packageVersion: '1.2.3-1',
      held: true,
      downgrade: true,
      repo: 'teleport',
    });
    assert.deepEqual(
      steps.map((s) => [s.argv.join(' '), s.always ?? false]),
      [
        ['zypper --non-interactive removelock teleport-ent', false],
        ['zypper --non-interactive install --oldpackage --download-in-advance --repo teleport teleport-ent=1.2.3-1', false],
        ['zypper --non-interactive addlock teleport-ent', true],
      ],
    );
    assert.equal(steps[1]?.env?.ZYPP_LOCK_TIMEOUT, '120');
    // The first step that takes the zypp lock asks without waiting, so a held lock's holder is named, then waits.
    assert.deepEqual(
      [steps[0]?.env?.ZYPP_LOCK_TIMEOUT, steps[0]?.fallback?.env?.ZYPP_LOCK_TIMEOUT, steps[0]?.fallbackOn],
      ['0', '120', [7]],
    );
  });
});
