#!/usr/bin/env -S node --liftoff-only
// Entry point: runs the CLI with the real argv and environment and sets the exit status.
// --liftoff-only (kept in the bundle's shebang): as in the standalone binary, undici's WebAssembly HTTP parser is never
// recompiled by TurboFan, which costs a run ~0.1 s of CPU for nothing.
import { main } from './cli/main.ts';
import { ANSWER_LIMITS, output } from './host/output.ts';

// TLS is verified whatever this says (every connection asks for it); removed so that Node does not warn it is off.
delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;

// No top-level await: the standalone binary runs this file as CommonJS.
void main(process.argv.slice(2), {
  env: process.env,
  // Neither a slow reader nor a closed pipe ends a run: lines wait a bounded time, then are dropped and counted.
  stdout: output(1, ANSWER_LIMITS),
  stderr: output(2),
}).then((status) => {
  process.exitCode = status;
});
