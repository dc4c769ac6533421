// A throwaway sandbox (apt root, fake Teleport 1.2.3 and 1.2.4, a local HTTPS version server): dry-run, run, then status.
import { readFile, rm } from 'node:fs/promises';
import { createSandbox, makeFixtures, openWindow } from '../test/support/sandbox.ts';
import { aptMissing } from '../test/support/tools.ts';
import { buildBundle } from './build.ts';

const say = (text: string) => console.log(`\n\x1b[1m== ${text}\x1b[0m`);

const main = async (): Promise<number> => {
  const missing = await aptMissing();
  if (missing) {
    console.error(`The demo drives real apt and dpkg against a throwaway root, and needs dpkg-dev, apt, openssl and perl: ${missing}.`);
    console.error('On Debian or Ubuntu: sudo apt-get install -y dpkg-dev apt openssl perl-base');
    return 1;
  }
  // The sandbox runs the CLI as it ships: the bundle of the sources.
  await buildBundle();
  say(
    'building the sandbox: fake teleport-ent 1.2.3 and 1.2.4 in a local apt repository, 1.2.3 installed, a version server on 127.0.0.1 serving v1.2.4, a maintenance window open now',
  );
  const fixtures = await makeFixtures();
  const sandbox = await createSandbox(fixtures, {
    installed: 'teleport-ent=1.2.3',
    config: { schedule: openWindow(), 'health-settle': '2s\n' },
  });
  try {
    sandbox.server.answer('v1.2.4', 'no');
    const show = async (args: string[]) => {
      console.log(`$ teleport-upgrade ${args.join(' ')}`);
      // The sandbox's stand-in systemctl plays a running teleport.service; the host's systemd is never asked.
      const result = await sandbox.cli(args, { FAKE_SYSTEMCTL_MODE: 'active' });
      if (result.stderr) console.log(result.stderr);
      if (result.stdout) console.log(result.stdout);
      console.log(`(exit status ${result.exitCode})`);
      return result.exitCode;
    };
    console.log(`installed: ${(await sandbox.status()).replace('\t', ' ')}`);
    say('dry-run: what would happen, changing nothing');
    await show(['dry-run']);
    await show(['dry-run', '--json']);
    console.log(`installed after dry-run: ${(await sandbox.status()).replace('\t', ' ')}`);
    say('run: what the hourly timer does');
    const status = await show(['run']);
    console.log(`installed after run: ${(await sandbox.status()).replace('\t', ' ')}`);
    console.log(
      `the sandbox's stand-in systemctl was asked: ${(await readFile(sandbox.systemctlLog, 'utf8')).trim().split('\n').join('; ')}`,
    );
    say('run again: nothing left to do');
    await show(['run']);
    say('status: what the operator sees of this host, without logging into its journal');
    await show(['status']);
    return status;
  } finally {
    await sandbox.close();
    await rm(fixtures.dir, { recursive: true, force: true });
    say('sandbox removed; nothing on this host changed');
  }
};

process.exitCode = await main();
