// Times the standalone binary and the checkout's bin (running the bundle) against the bash model of v1, as whole
// processes, interleaved, on the same sandbox: `dry-run` (1.2.3 installed, 1.2.4 served, outside the window) and `run`
// when up to date, over loopback http and over https 50 ms away with the CA only in the OS trust store; then, on a host
// with a real-sized Teleport (450 MB in five files), `run` and `dry-run` when up to date. Prints medians (wall, CPU,
// peak RSS) and ratios.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cleanEnv } from '../test/support/cli.ts';
import { createSandbox, laterWindow, makeFixtures, type Sandbox } from '../test/support/sandbox.ts';
import { aptMissing } from '../test/support/tools.ts';
import { CHANNEL_PATH, startVersionServer, type VersionServer } from '../test/support/version-server.ts';
import { buildBundle } from './build.ts';
import { buildBinary } from './build-binary.ts';
import { startRelay } from './latency-relay.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const RTT_MS = 50;
const CHECKOUT_BIN = fileURLToPath(new URL('../bin/teleport-upgrade.ts', import.meta.url));
const REFERENCE = fileURLToPath(new URL('../../shared/reference/teleport-upgrade-v1.sh', import.meta.url));

interface Sample {
  readonly wallMs: number;
  /** User and system CPU time of the whole process tree (children waited for included). */
  readonly cpuMs: number;
  readonly rssKiB: number;
}

/** One run under /usr/bin/time, which reports the peak RSS of the process tree's largest member and its CPU time. */
const measure = async (argv: readonly string[], env: Record<string, string>, scratch: string): Promise<Sample> => {
  const timeFile = join(scratch, 'time');
  const started = performance.now();
  // Asynchronous: the version server and the relay run in this very process and must keep answering.
  const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [status] = (await once(child, 'exit')) as [number | null];
  const wallMs = performance.now() - started;
  if (status !== 0) throw new Error(`${argv.join(' ')} failed (${status}): ${stderr}`);
  const [rss, user, system] = (await readFile(timeFile, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number) as [
    number,
    number,
    number,
  ];
  return { wallMs, cpuMs: (user + system) * 1000, rssKiB: rss };
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

interface Program {
  readonly name: string;
  readonly argv: (command: string) => string[];
  readonly ours: boolean;
}

/** How a scenario reaches the channel: the endpoint files, and what each side trusts. */
interface Network {
  readonly name: string;
  readonly target: number;
  readonly server: VersionServer;
  configure(s: Sandbox): Promise<void>;
  env(ours: boolean): Record<string, string>;
}

/** The installed files of the real teleport-ent, as the bench's big package has them: 450 MB in five files. */
const REAL_FILES: ReadonlyArray<readonly [string, number]> = [
  ['teleport', 200],
  ['tctl', 110],
  ['tsh', 80],
  ['tbot', 50],
  ['fdpass-teleport', 10],
];

/** A repository with one teleport-ent of real size (random bytes, so nothing about it is cheaper than the real one). */
const realSizedRepo = async (work: string, version: string): Promise<string> => {
  const dir = join(work, 'big', 'pkg');
  await mkdir(join(dir, 'DEBIAN'), { recursive: true });
  await mkdir(join(dir, 'usr/local/bin'), { recursive: true });
  await writeFile(
    join(dir, 'DEBIAN/control'),
    `Package: teleport-ent\nVersion: ${version}\nArchitecture: amd64\nMaintainer: bench <bench@example.invalid>\nDescription: a real-sized fake Teleport\n`,
  );
  for (const [name, mb] of REAL_FILES) {
    const file = join(dir, 'usr/local/bin', name);
    const handle = await open(file, 'w', 0o755);
    for (let i = 0; i < mb; i++) await handle.write(randomBytes(1024 * 1024));
    await handle.close();
  }
  // The version probe the bash model and the fallback use.
  await writeFile(join(dir, 'usr/local/bin/teleport'), `#!/bin/sh\necho ${version}\nexit 0\n`, { flag: 'r+' });
  const repo = join(work, 'big', 'repo');
  await mkdir(repo, { recursive: true });
  await execa('dpkg-deb', ['--root-owner-group', '-Znone', '--build', dir, join(repo, `teleport-ent_${version}_amd64.deb`)]);
  await writeFile(join(repo, 'Packages'), (await execa('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: repo })).stdout);
  await rm(dir, { recursive: true, force: true });
  return repo;
};

interface Row {
  readonly name: string;
  readonly wall: number;
  readonly cpu: number;
  readonly rss: number;
}

/** Warm-up, then `RUNS` rounds of every program in turn; medians. The last program is the reference. */
const compare = async (
  programs: readonly Program[],
  command: string,
  envs: readonly Record<string, string>[],
  scratch: string,
): Promise<Row[]> => {
  // Warm-up: fills the compile cache and the page cache for all (and lets ours record a full check of the files).
  for (const [i, p] of programs.entries()) await measure(p.argv(command), envs[i]!, scratch);
  const samples: Sample[][] = programs.map(() => []);
  for (let run = 0; run < RUNS; run++) {
    for (const [i, p] of programs.entries()) samples[i]!.push(await measure(p.argv(command), envs[i]!, scratch));
  }
  return programs.map((p, i) => ({
    name: p.name,
    wall: median(samples[i]!.map((x) => x.wallMs)),
    cpu: median(samples[i]!.map((x) => x.cpuMs)),
    rss: median(samples[i]!.map((x) => x.rssKiB)) / 1024,
  }));
};

const print = (title: string, rows: readonly Row[], goal: string): void => {
  const reference = rows.at(-1)!;
  console.log(`${title}; ${RUNS} runs each, interleaved, medians`);
  for (const row of rows) {
    const ratio =
      row === reference
        ? ''
        : `   ${(row.wall / reference.wall).toFixed(2)}x wall, ${(row.cpu / reference.cpu).toFixed(2)}x CPU, ${(row.rss / reference.rss).toFixed(2)}x RSS`;
    console.log(
      `  ${row.name.padEnd(20)} wall ${row.wall.toFixed(1).padStart(6)} ms   CPU ${row.cpu.toFixed(0).padStart(4)} ms   peak RSS ${row.rss.toFixed(1).padStart(5)} MiB${ratio}`,
    );
  }
  console.log(`  goal: ${goal}\n`);
};

const main = async (): Promise<number> => {
  const missing = await aptMissing();
  if (missing) {
    console.error(`bench needs dpkg, apt, openssl and perl: ${missing}`);
    return 1;
  }
  await buildBundle();
  const binary = await buildBinary();
  const fixtures = await makeFixtures();
  const sandbox = await createSandbox(fixtures, {
    installed: 'teleport-ent=1.2.3',
    config: { schedule: laterWindow(), package: 'teleport-ent\n' },
  });
  const plain = await startVersionServer();
  const relay = await startRelay(sandbox.server.port, RTT_MS);
  const scratch = await mkdtemp(join(tmpdir(), 'teleport-upgrade-bench-'));
  const programs: Program[] = [
    { name: 'standalone binary', argv: (c) => [binary, c], ours: true },
    // The package's bin from a checkout, through its shebang: it runs the bundle built above.
    { name: 'from a checkout', argv: (c) => [CHECKOUT_BIN, c], ours: true },
    { name: 'bash model of v1', argv: (c) => ['bash', REFERENCE, c], ours: false },
  ];
  const loopback = async (s: Sandbox) => {
    await s.write('endpoint', `localhost:${plain.port}${CHANNEL_PATH}\n`);
    await s.write('insecure', 'yes\n');
  };
  const networks: Network[] = [
    { name: 'loopback http', target: 1.0, server: plain, configure: loopback, env: () => ({}) },
    {
      name: `https ${RTT_MS} ms away, CA in the OS store only`,
      target: 0.6,
      server: sandbox.server,
      configure: async (s) => {
        await s.write('endpoint', `127.0.0.1:${relay.port}${CHANNEL_PATH}\n`);
        await s.write('insecure', 'no\n');
      },
      // Ours reads the OS store where SSL_CERT_FILE points (as OpenSSL does); curl's store is CURL_CA_BUNDLE.
      env: (ours): Record<string, string> => (ours ? { SSL_CERT_FILE: fixtures.tls.caFile } : { CURL_CA_BUNDLE: fixtures.tls.caFile }),
    },
  ];
  const commands = [
    { command: 'dry-run', what: 'dry-run, 1.2.3 installed, 1.2.4 served, outside the window', serve: 'v1.2.4' },
    { command: 'run', what: 'run, up to date (1.2.3 served)', serve: 'v1.2.3' },
  ];
  // Ours gets a compile cache of its own, as the checkout's bin keeps one (the binary carries its own code cache).
  const envsFor = (s: Sandbox, extra: (ours: boolean) => Record<string, string>) =>
    programs.map((p) => cleanEnv({ ...s.env(), ...extra(p.ours), ...(p.ours ? { NODE_COMPILE_CACHE: join(scratch, 'cache') } : {}) }));
  let big: Sandbox | undefined;
  try {
    for (const network of networks) {
      await network.configure(sandbox);
      for (const { command, what, serve } of commands) {
        network.server.answer(serve);
        const rows = await compare(programs, command, envsFor(sandbox, network.env), scratch);
        const reference = rows.at(-1)!;
        print(
          `${network.name}: ${what}`,
          rows,
          `the binary at <= ${network.target.toFixed(1)}x the bash model (${(network.target * reference.wall).toFixed(1)} ms), peak RSS <= 60 MiB`,
        );
      }
    }
    // A host with a real-sized Teleport: what the hourly run costs when there is nothing to do.
    const bigRepo = await realSizedRepo(scratch, '1.2.3');
    big = await createSandbox(
      { ...fixtures, repo: bigRepo },
      { installed: 'teleport-ent=1.2.3', config: { schedule: laterWindow(), package: 'teleport-ent\n' } },
    );
    await loopback(big);
    plain.answer('v1.2.3');
    for (const command of ['run', 'dry-run']) {
      const rows = await compare(
        programs,
        command,
        envsFor(big, () => ({})),
        scratch,
      );
      print(
        `real-sized Teleport (450 MB in five files), loopback http: ${command}, up to date`,
        rows,
        'the binary at <= 4x the bash model in CPU and in wall time',
      );
    }
    return 0;
  } finally {
    await Promise.all([relay.close(), plain.close(), sandbox.close(), big?.close()]);
    await rm(scratch, { recursive: true, force: true });
    await rm(fixtures.dir, { recursive: true, force: true });
  }
};

process.exitCode = await main();
