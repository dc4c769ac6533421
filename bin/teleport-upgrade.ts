#!/usr/bin/env -S node --liftoff-only
// From a checkout: runs the bundle that `npm ci` built (the `prepare` script) while it is newer than every source, else the sources.
// --liftoff-only: as in the standalone binary, undici's WebAssembly HTTP parser is never recompiled by TurboFan.
import { readdirSync, statSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BUNDLE = `${ROOT}dist/bundle/teleport-upgrade.mjs`;

/** Whether the bundle exists and no file under src/, nor the lockfile (other dependencies), changed after it was built. */
export const bundleIsFresh = (): boolean => {
  try {
    const built = statSync(BUNDLE).mtimeMs;
    const sources = readdirSync(`${ROOT}src`, { recursive: true }).map((name) => `${ROOT}src/${name}`);
    return [...sources, `${ROOT}package-lock.json`].every((path) => statSync(path).mtimeMs <= built);
  } catch {
    return false;
  }
};

if (import.meta.main) {
  // Node keeps its compile cache with the checkout unless NODE_COMPILE_CACHE says where.
  enableCompileCache(`${ROOT}node_modules/.cache/node-compile`);
  await import(pathToFileURL(bundleIsFresh() ? BUNDLE : `${ROOT}src/bin.ts`).href);
}
