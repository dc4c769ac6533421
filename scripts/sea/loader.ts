// The standalone binary's entry: runs the bundled CLI from the binary's assets with the code cache trained at build
// time, so start-up skips compiling the functions a run uses. A rejected cache only costs the compile.
import { getAsset } from 'node:sea';
import { appScript, runApp } from './app-script.ts';

const script = appScript(getAsset('app.cjs', 'utf8'), new Uint8Array(getAsset('app.cache')));
// For the build's own check that V8 accepts the cache this binary carries.
if (process.env.TELEPORT_UPGRADE_DEBUG_CODE_CACHE === '1')
  process.stderr.write(`code cache ${script.cachedDataRejected === true ? 'rejected' : 'accepted'}\n`);
runApp(script, require);
