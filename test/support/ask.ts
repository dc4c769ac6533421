// A package manager's Ask for the pure tables: each command answered by a canned result, in turn; the commands recorded.
import type { CommandResult } from '../../src/core/command.ts';
import type { Ask } from '../../src/package-managers/types.ts';

export interface AnsweringAsk extends Ask {
  /** The argv of every command asked, joined with spaces, in order. */
  readonly asked: string[];
  readonly warnings: string[];
}

/** Answers every command with the next of `answers` (the last one repeating); files and directories are empty. */
export const answering = (...answers: Partial<CommandResult>[]): AnsweringAsk => {
  const asked: string[] = [];
  const warnings: string[] = [];
  return {
    asked,
    warnings,
    run: async (command) => {
      asked.push(command.argv.join(' '));
      return { exitCode: 0, stdout: '', stderr: '', ...answers[Math.min(asked.length - 1, answers.length - 1)] };
    },
    readFile: async () => undefined,
    listDir: async () => [],
    warn: (message) => void warnings.push(message),
    debug: () => undefined,
  };
};
