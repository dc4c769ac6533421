#!/usr/bin/env node
// Entry point: runs the CLI with the real argv and environment and sets the exit status.
import { writeSync } from 'node:fs';
import { main } from './cli/main.ts';

// No top-level await: the standalone binary runs this file as CommonJS.
void main(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => void writeSync(1, text),
  stderr: (text) => void writeSync(2, text),
}).then((status) => {
  process.exitCode = status;
});
