// The bundled CLI as the standalone binary runs it: the same wrapper text at training and at run time, so V8 accepts
// the code cache trained at build time (it is keyed to the exact source).
import { Script } from 'node:vm';

/** Where stack traces say the code is. */
export const APP_FILENAME = '/usr/sbin/teleport-upgrade.cjs';

/** The bundle (CommonJS, no shebang) wrapped as a function of the module variables, compiled with the cache if given. */
export const appScript = (source: string, cachedData?: Uint8Array): Script =>
  new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: APP_FILENAME,
    ...(cachedData === undefined ? {} : { cachedData }),
  });

/** Runs the compiled bundle with the given require (the binary's own only reaches Node's built-in modules, all the bundle needs). */
export const runApp = (script: Script, require: NodeJS.Require): void => {
  const module = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, require, module, APP_FILENAME, '/usr/sbin');
};
