// The man page: groff renders it without a warning, and it documents every command and option the CLI has.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';
import { manMissing } from '../support/tools.ts';

const noGroff = await manMissing();
const PAGE = fileURLToPath(new URL('../../man/teleport-upgrade.8', import.meta.url));

/** The page as text with roff's escaped hyphens made plain. */
const pageText = async () => (await readFile(PAGE, 'utf8')).replaceAll('\\-', '-');

describe('the man page', () => {
  it('renders with groff without a single warning', { skip: noGroff }, async () => {
    const result = await execa('groff', ['-man', '-Tutf8', '-ww', '-z', PAGE], { reject: false });
    assert.equal(result.exitCode, 0);
    assert.equal(result.stderr, '');
  });

  it('names every command and every option of the CLI', async () => {
    const help = await runCli(['help']);
    const commands = [...help.stdout.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    assert.ok(commands.includes('dry-run'), `commands parsed from help: ${commands.join(', ')}`);
    const options = new Set([...help.stdout.matchAll(/(--[a-z-]+)/g)].map((m) => m[1]!));
    for (const command of commands) {
      for (const m of (await runCli(['help', command])).stdout.matchAll(/(--[a-z-]+)/g)) options.add(m[1]!);
    }
    const page = await pageText();
    for (const name of [...commands, ...options].filter((o) => o !== '--help')) {
      assert.match(page, new RegExp(`(?<![\\w-])${name}(?![\\w-])`), `${name} is missing from the man page`);
    }
  });
});
