// Builds dist/teleport-upgrade: a single executable (Node's SEA: the bundled CLI injected into a stripped Node 24).
import { build } from 'esbuild';
import { execa } from 'execa';
import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The sentinel Node looks for in its own binary (documented with single executable applications). */
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** Builds `<dest>/teleport-upgrade` (tests pass a directory of their own, so parallel builds never collide). */
export const buildBinary = async (dest = `${root}/dist`): Promise<string> => {
  const out = `${dest}/sea`;
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  // A SEA runs one CommonJS script: everything bundled, no chunks.
  await build({
    entryPoints: [`${root}/src/bin.ts`], outfile: `${out}/teleport-upgrade.cjs`, bundle: true, format: 'cjs', platform: 'node',
    target: 'node24', minify: true, legalComments: 'none', logLevel: 'warning',
  });
  await writeFile(`${out}/sea-config.json`, JSON.stringify({
    main: `${out}/teleport-upgrade.cjs`, output: `${out}/sea-prep.blob`, disableExperimentalSEAWarning: true, useCodeCache: true,
  }));
  await execa(process.execPath, ['--experimental-sea-config', `${out}/sea-config.json`], { cwd: out });
  const binary = `${dest}/teleport-upgrade`;
  await copyFile(process.execPath, binary);
  // Stripping the copy before injecting keeps it working and saves ~18 MB.
  await execa('strip', [binary]);
  await execa(process.execPath, [`${root}/node_modules/postject/dist/cli.js`, binary, 'NODE_SEA_BLOB', `${out}/sea-prep.blob`, '--sentinel-fuse', FUSE]);
  return binary;
};

if (import.meta.main) {
  const started = performance.now();
  const binary = await buildBinary();
  console.log(`${binary}: ${((await stat(binary)).size / 2 ** 20).toFixed(1)} MiB, built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
