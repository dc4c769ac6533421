// An esbuild plugin for both builds: undici's HTTP/2 client loads node:http2 when its module is evaluated, though the
// updater never lets a connection negotiate HTTP/2 (its requests are pipelined on one HTTP/1.1 connection). Loading
// node:http2 costs 20-45 ms of every start; the bundle gets its constants (fixed at build time) and loads the real
// module only if connect is ever called.
import { constants } from 'node:http2';
import type { Plugin } from 'esbuild';

export const lazyHttp2: Plugin = {
  name: 'lazy-http2',
  setup(build) {
    build.onResolve({ filter: /^(node:)?http2$/ }, (args) =>
      args.namespace === 'lazy-http2' ? { path: 'node:http2', external: true } : { path: 'http2', namespace: 'lazy-http2' },
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-http2' }, () => ({
      loader: 'js',
      contents: `module.exports = { constants: ${JSON.stringify(constants)}, connect: (...args) => require('node:http2').connect(...args) };`,
    }));
  },
};
