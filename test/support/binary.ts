// The standalone binary, built once per run of the tests for everything that needs it (it takes seconds to build).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBinary } from '../../scripts/build-binary.ts';
import { cachedFixture, filesUnder, fixtureKey } from './fixture-cache.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The binary as `npm run build:binary` makes it from the sources as they are now (the key covers all of them). */
export const testBinary = async (): Promise<string> => {
  const key = fixtureKey('binary', process.version, [
    ...filesUnder(join(ROOT, 'src'), join(ROOT, 'scripts')),
    join(ROOT, 'package-lock.json'),
  ]);
  return join(await cachedFixture(key, async (dir) => void (await buildBinary(dir))), 'teleport-upgrade');
};
