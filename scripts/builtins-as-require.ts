// An esbuild plugin for the ESM bundle: Node's built-in modules are reached through require(), never through import.
// Importing a built-in as ESM builds a facade that reads every export, which runs the module's lazy getters: for
// node:http that loads Node's own copy of undici (with http2, zlib, perf_hooks, worker_threads), for node:process and
// node:util dozens more modules: 40-55 ms of the bundle's start. require() returns the module object and reads nothing.
import { builtinModules } from 'node:module';
import type { Plugin } from 'esbuild';

const BUILTIN = new RegExp(`^(node:.+|${builtinModules.map((name) => name.replace(/[/]/g, '\\/')).join('|')})$`);

export const builtinsAsRequire: Plugin = {
  name: 'builtins-as-require',
  setup(build) {
    build.onResolve({ filter: BUILTIN }, (args) =>
      args.namespace === 'builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'builtin' },
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      loader: 'js',
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
    }));
  },
};
