// The CLI contract, as a process: commands, option placement, exit statuses, log formats and journald priorities.
import assert from 'node:assert/strict';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { bin, cleanEnv, runCli, bundleFlags } from '../support/cli.ts';
import { CHANNEL_PATH, startVersionServer, type VersionServer } from '../support/version-server.ts';

describe('teleport-upgrade CLI', () => {
  let dir: string;
  let server: VersionServer;
  let conf: string;
  let env: Record<string, string>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-cli-'));
    server = await startVersionServer();
    conf = join(dir, 'conf');
    const admin = join(dir, 'dpkg');
    await mkdir(conf);
    await mkdir(admin);
    await writeFile(join(admin, 'status'), '');
    await writeFile(join(conf, 'endpoint'), `127.0.0.1:${server.port}${CHANNEL_PATH}\n`);
    await writeFile(join(conf, 'insecure'), 'yes\n');
    await writeFile(join(conf, 'installer'), 'nop\n');
    await writeFile(join(conf, 'package'), 'teleport-ent\n');
    // An empty dpkg database of our own, so nothing is read from the host's.
    env = {
      DPKG_ADMINDIR: admin,
      HOME: dir,
      TELEPORT_UPGRADE_STATE_DIR: join(dir, 'state'),
      PATH: `${join(dir, 'nobin')}:${process.env.PATH}`,
    };
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints its version with and without v', async () => {
    const plain = await runCli(['version']);
    const raw = await runCli(['version', '--raw']);
    assert.equal(plain.exitCode, 0);
    assert.match(plain.stdout, /^v\d+\.\d+\.\d+$/);
    assert.equal(raw.stdout, plain.stdout.slice(1));
  });
  it('answers help with 0 and usage mistakes with 2', async () => {
    const help = await runCli(['help']);
    assert.equal(help.exitCode, 0);
    for (const command of ['run', 'dry-run', 'force', 'version', 'help']) assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));
    for (const args of [[], ['upgrade'], ['run', '--bogus'], ['--log-format', 'xml', 'run']]) {
      assert.equal((await runCli(args)).exitCode, 2, args.join(' '));
    }
  });
  it('accepts options before and after the command, and the config dir from the environment', async () => {
    const missing = join(dir, 'no-such-dir');
    for (const args of [
      ['--config-dir', missing, 'run'],
      ['run', '--config-dir', missing],
    ]) {
      const r = await runCli(args);
      assert.equal(r.exitCode, 2);
      assert.match(r.stderr, new RegExp(`${missing}/endpoint is missing`));
    }
    const fromEnv = await runCli(['dry-run'], { TELEPORT_UPGRADE_CONFIG_DIR: missing });
    assert.match(fromEnv.stderr, new RegExp(`${missing}/endpoint is missing`));
  });
  it('talks plain http to localhost in insecure mode, and says so', async () => {
    server.answer('v1.2.4', 'yes');
    const r = await runCli(['dry-run', '--json', '--config-dir', conf], env);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /^\[!\] fetching http:\/\/127\.0\.0\.1:\d+\/.* in insecure mode \(not safe for production use\)\.$/m);
    assert.deepEqual(JSON.parse(r.stdout), {
      installed: null,
      target: '1.2.4',
      critical: true,
      window: { state: 'missing', next: null, local: { state: 'absent', next: null } },
      freeze: { active: false, until: null },
      action: 'upgrade',
      reason: 'critical',
      exitStatus: 0,
      commands: [],
      filesVerifiedAt: null,
      filesCheck: null,
    });
  });
  it('dry-run --json prints exactly one JSON object also when fetching fails, the config is wrong or the decision refuses', async () => {
    const one = (stdout: string) => {
      assert.equal(stdout.split('\n').filter(Boolean).length, 1, stdout);
      return JSON.parse(stdout) as { action: string; reason: string; exitStatus: number; problem?: string };
    };
    server.answer({ status: 503, body: 'down' });
    const failed = await runCli(['dry-run', '--json', '--config-dir', conf], env);
    assert.equal(failed.exitCode, 1);
    const error = one(failed.stdout);
    assert.deepEqual([error.action, error.reason, error.exitStatus], ['error', 'target-unavailable', 1]);
    assert.match(error.problem ?? '', /failed to get target version from http:\/\/127\.0\.0\.1:\d+\/.*\/version: HTTP 503/);

    const misconfigured = await runCli(['dry-run', '--json', '--config-dir', join(dir, 'no-such-dir')], env);
    assert.equal(misconfigured.exitCode, 2);
    assert.deepEqual(
      Object.entries(one(misconfigured.stdout)).filter(([k]) => ['action', 'reason', 'exitStatus'].includes(k)),
      [
        ['action', 'error'],
        ['reason', 'config-error'],
        ['exitStatus', 2],
      ],
    );

    server.answer('v1.3.0-beta.1');
    const refused = await runCli(['dry-run', '--json', '--config-dir', conf], env);
    assert.equal(refused.exitCode, 1);
    const refusal = one(refused.stdout);
    assert.deepEqual([refusal.action, refusal.reason, refusal.exitStatus], ['none', 'prerelease-refused', 1]);
  });
  it('refuses insecure mode for a host that is not local', async () => {
    const other = join(dir, 'other');
    await mkdir(other);
    await writeFile(join(other, 'endpoint'), 'proxy.example.com/v1/webapi/automaticupgrades/channel/default\n');
    await writeFile(join(other, 'insecure'), 'yes\n');
    const r = await runCli(['run', '--config-dir', other], env);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /insecure mode \(plain http\) is only allowed for localhost or a loopback address, not proxy\.example\.com/);
  });
  it('exits 1 with the status when the proxy answers an error', async () => {
    server.answer({ status: 502, body: '<html>bad gateway</html>' });
    const r = await runCli(['run', '--config-dir', conf], env);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /^\[!\] failed to get target version from http:\/\/.*\/version: HTTP 502\. Cannot proceed/m);
  });
  it('writes JSON lines with --log-format json and nothing but the answer on stdout', async () => {
    server.answer('v1.2.4', 'no');
    const r = await runCli(['dry-run', '--json', '--log-format', 'json', '--config-dir', conf], env);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: number; msg: string; time: string });
    assert.ok(lines.some((l) => l.level === 40 && /insecure mode/.test(l.msg)));
    assert.ok(lines.every((l) => typeof l.time === 'string'));
    assert.equal(JSON.parse(r.stdout).reason, 'marked-unhealthy');
  });
  it('prefixes syslog priorities when stderr is the journal stream', async () => {
    const logFile = join(dir, 'journal.log');
    const fd = openSync(logFile, 'w');
    const { dev, ino } = fstatSync(fd);
    server.answer({ status: 500 });
    // The child's fd 2 must be this very file, as systemd hands a service its journal socket.
    const child = spawn(process.execPath, [...bundleFlags(), bin(), 'run', '--config-dir', conf], {
      env: cleanEnv({ ...env, JOURNAL_STREAM: `${dev}:${ino}` }),
      stdio: ['ignore', 'ignore', fd],
    });
    const [exitCode] = (await once(child, 'exit')) as [number];
    closeSync(fd);
    assert.equal(exitCode, 1);
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    assert.match(lines[0] ?? '', /^<4>\[!\] fetching .* in insecure mode/);
    assert.match(lines.at(-1) ?? '', /^<3>\[!\] failed to get target version/);
  });
});
