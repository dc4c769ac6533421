// Times `dry-run` of the bundled CLI, as a whole process, against the bash model of v1 on the same sandbox.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from '../test/support/cli.ts';
import { createSandbox, laterWindow, makeFixtures } from '../test/support/sandbox.ts';
import { aptMissing } from '../test/support/tools.ts';
import { buildBundle } from './build.ts';
import { buildBinary } from './build-binary.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const REFERENCE = fileURLToPath(new URL('../../shared/reference/teleport-upgrade-v1.sh', import.meta.url));

interface Sample {
  readonly wallMs: number;
  readonly rssKiB: number;
}

/** One run under /usr/bin/time, which reports the peak RSS of the process tree's largest member. */
const measure = async (argv: string[], env: Record<string, string>, scratch: string): Promise<Sample> => {
  const rssFile = join(scratch, 'rss');
  const started = performance.now();
  // Asynchronous: the version server runs in this very process and must keep answering.
  const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [status] = (await once(child, 'exit')) as [number | null];
  const wallMs = performance.now() - started;
  if (status !== 0) throw new Error(`${argv.join(' ')} failed (${status}): ${stderr}`);
  return { wallMs, rssKiB: Number((await readFile(rssFile, 'utf8')).trim().split('\n').at(-1)) };
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

const main = async (): Promise<number> => {
  const missing = await aptMissing();
  if (missing) {
    console.error(`bench needs dpkg, apt, openssl and perl: ${missing}`);
    return 1;
  }
  const [bundle, binary] = [await buildBundle(), await buildBinary()];
  const fixtures = await makeFixtures();
  const sandbox = await createSandbox(fixtures, { installed: 'teleport-ent=1.2.3', config: { schedule: laterWindow(), package: 'teleport-ent\n' } });
  const scratch = await mkdtemp(join(tmpdir(), 'teleport-upgrade-bench-'));
  try {
    // Both get the test CA explicitly; ours gets the compile cache the systemd unit enables (NODE_COMPILE_CACHE).
    const ours = cleanEnv({ ...sandbox.env(), SSL_CERT_FILE: '/nonexistent', NODE_EXTRA_CA_CERTS: fixtures.tls.caFile, NODE_COMPILE_CACHE: join(scratch, 'cache') });
    const theirs = cleanEnv({ ...sandbox.env(), CURL_CA_BUNDLE: fixtures.tls.caFile });
    const commands = {
      'teleport-upgrade dry-run (bundle, node 24)': [process.execPath, bundle, 'dry-run'],
      'teleport-upgrade dry-run (standalone binary)': [binary, 'dry-run'],
      'teleport-upgrade-v1.sh dry-run (bash model)': ['bash', REFERENCE, 'dry-run'],
    };
    const envs = [ours, ours, theirs];
    // Warm-up: fills the compile cache and the page cache for all.
    for (const [i, argv] of Object.values(commands).entries()) await measure(argv, envs[i]!, scratch);
    const samples: Sample[][] = [[], [], []];
    for (let run = 0; run < RUNS; run++) {
      for (const [i, argv] of Object.values(commands).entries()) samples[i]!.push(await measure(argv, envs[i]!, scratch));
    }
    const rows = Object.keys(commands).map((name, i) => ({
      name, wall: median(samples[i]!.map((s) => s.wallMs)), rss: median(samples[i]!.map((s) => s.rssKiB)) / 1024,
    }));
    console.log(`dry-run, installed 1.2.3, target 1.2.4, outside the window; ${RUNS} runs each, medians`);
    for (const row of rows) console.log(`  ${row.name.padEnd(46)} wall ${row.wall.toFixed(1).padStart(6)} ms   peak RSS ${row.rss.toFixed(1).padStart(5)} MiB`);
    const b = rows.at(-1)!;
    for (const a of rows.slice(0, -1)) {
      console.log(`  ratio ${a.name.replace('teleport-upgrade dry-run ', '').padEnd(40)} wall ${(a.wall / b.wall).toFixed(2)}x     peak RSS ${(a.rss / b.rss).toFixed(2)}x`);
    }
    console.log(`  targets: wall <= 1.5x the bash model (${(1.5 * b.wall).toFixed(1)} ms), peak RSS <= 60 MiB`);
    return 0;
  } finally {
    await sandbox.close();
    await rm(scratch, { recursive: true, force: true });
    await rm(fixtures.dir, { recursive: true, force: true });
  }
};

process.exitCode = await main();
