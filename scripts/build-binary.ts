// Builds dist/teleport-upgrade: a single executable (Node's SEA): a small loader injected into a stripped Node 24, with
// the bundled CLI and its V8 code cache, trained by running the CLI once at build time, as the binary's assets.
import { build } from 'esbuild';
import { execa } from 'execa';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { lazyHttp2 } from './lazy-http2.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The sentinel Node looks for in its own binary (documented with single executable applications). */
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/**
 * V8 options the binary runs with. undici parses HTTP with WebAssembly, and V8 tiers its one large parsing function up
 * to TurboFan after the first answer: 80 ms and 20 MB on a worker thread, which the process then waits for at exit.
 * Liftoff (V8's baseline wasm compiler) parses three short answers just as well. Every step that produces a code cache
 * (the training, the blob) runs with the same options, or V8 would reject the cache.
 */
const EXEC_ARGV = ['--liftoff-only'];

/** One CommonJS file (a SEA runs CommonJS, and the bundle reaches only Node's built-in modules). */
const bundle = (entry: string, outfile: string) =>
  build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node24',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [lazyHttp2],
  });

/** Builds `<dest>/teleport-upgrade` (tests pass a directory of their own, so parallel builds never collide). */
export const buildBinary = async (dest = `${root}/dist`): Promise<string> => {
  const out = `${dest}/sea`;
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await Promise.all([
    bundle(`${root}/src/bin.ts`, `${out}/app.cjs`),
    bundle(`${root}/scripts/sea/loader.ts`, `${out}/loader.cjs`),
    bundle(`${root}/scripts/sea/train.ts`, `${out}/train.cjs`),
  ]);
  // The loader compiles the bundle inside a function wrapper, where a shebang line is a syntax error.
  await writeFile(`${out}/app.cjs`, (await readFile(`${out}/app.cjs`, 'utf8')).replace(/^#!.*\n/, ''));
  // The same Node that the binary is made of runs the training, so V8 accepts the cache it writes.
  await execa(process.execPath, [...EXEC_ARGV, `${out}/train.cjs`, `${out}/app.cjs`, `${out}/app.cache`], { stdin: 'ignore' });
  await writeFile(
    `${out}/sea-config.json`,
    JSON.stringify({
      main: `${out}/loader.cjs`,
      output: `${out}/sea-prep.blob`,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      execArgv: EXEC_ARGV,
      // NODE_OPTIONS is not read: a host-wide variable set for some other Node service never reaches a run as root.
      execArgvExtension: 'none',
      assets: { 'app.cjs': `${out}/app.cjs`, 'app.cache': `${out}/app.cache` },
    }),
  );
  await execa(process.execPath, [...EXEC_ARGV, '--experimental-sea-config', `${out}/sea-config.json`], { cwd: out });
  const binary = `${dest}/teleport-upgrade`;
  await copyFile(process.execPath, binary);
  // Stripping the copy before injecting keeps it working and saves ~18 MB.
  await execa('strip', [binary]);
  await execa(process.execPath, [
    `${root}/node_modules/postject/dist/cli.js`,
    binary,
    'NODE_SEA_BLOB',
    `${out}/sea-prep.blob`,
    '--sentinel-fuse',
    FUSE,
  ]);
  return binary;
};

if (import.meta.main) {
  const started = performance.now();
  const binary = await buildBinary();
  console.log(
    `${binary}: ${((await stat(binary)).size / 2 ** 20).toFixed(1)} MiB, built in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
