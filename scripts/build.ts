// Bundles the CLI into dist/ with esbuild: one entry plus lazily loaded chunks, so `version` loads almost nothing.
import { build } from 'esbuild';
import { builtinsAsRequire } from './builtins-as-require.ts';
import { lazyHttp2 } from './lazy-http2.ts';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export const buildBundle = async (): Promise<string> => {
  await rm(`${root}/dist/bundle`, { recursive: true, force: true });
  await build({
    entryPoints: { 'teleport-upgrade': `${root}/src/bin.ts` },
    outdir: `${root}/dist/bundle`,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    minify: true,
    legalComments: 'linked',
    // CommonJS dependencies (pino, semver, undici) call require() for Node's built-ins.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
    // lazy-http2 first: it answers for node:http2 before every other built-in goes through require().
    plugins: [lazyHttp2, builtinsAsRequire],
  });
  return `${root}/dist/bundle/teleport-upgrade.mjs`;
};

if (import.meta.main) {
  console.log(await buildBundle());
}
