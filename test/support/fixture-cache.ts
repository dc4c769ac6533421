// Builds a read-only fixture once for every test process of a run: in a directory under tmpdir named by what it is made of.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CACHE = join(tmpdir(), 'teleport-upgrade-fixture-cache');

/** A key for what a fixture is made of: values, and the source files of the code that builds it. */
export const fixtureKey = (name: string, values: unknown, sources: readonly (URL | string)[]): string => {
  const hash = createHash('sha256').update(JSON.stringify(values));
  for (const source of sources) hash.update(String(source)).update(readFileSync(source));
  return `${name}-${hash.digest('hex').slice(0, 16)}`;
};

/** Every file under the given directories, sorted (for a key over a whole source tree). */
export const filesUnder = (...dirs: readonly string[]): string[] =>
  dirs
    .flatMap((dir) =>
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name)),
    )
    .sort();

/**
 * The directory of the fixture `key` (under `cache`: tmpdir unless a test keeps it elsewhere), built by `build(dir)` the
 * first time it is asked for. Processes that build it at
 * the same time each build their own and the first rename wins; a fixture is complete or absent, never half-built.
 * Tests only read it.
 */
export const cachedFixture = async (key: string, build: (dir: string) => Promise<void>, cache: string = CACHE): Promise<string> => {
  const dir = join(cache, key);
  if (existsSync(join(dir, '.complete'))) return dir;
  await mkdir(cache, { recursive: true });
  const building = await mkdtemp(join(cache, `${key}.building-`));
  try {
    await build(building);
    await writeFile(join(building, '.complete'), '');
    await rename(building, dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return dir;
};
