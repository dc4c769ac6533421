// The Teleport agent's systemd unit: how to ask whether it runs and how to restart it gracefully.
import { SECOND, type Command, type CommandResult, type Step } from '../core/command.ts';

export const AGENT_UNIT = 'teleport.service';

export type AgentState = 'active' | 'inactive' | 'no-systemd';

export const agentStateQuery: Command = { argv: ['systemctl', 'is-active', AGENT_UNIT], timeoutMs: 30 * SECOND };

/** `systemctl is-active` prints the state; without a running systemd it fails with a message or cannot start. */
export const parseAgentState = (result: CommandResult): AgentState => {
  if (result.exitCode === null) return 'no-systemd';
  if (/not been booted with systemd|Failed to connect to (the )?bus|System has not been booted/i.test(result.stderr)) return 'no-systemd';
  const state = result.stdout.trim();
  return state === 'active' || state === 'reloading' ? 'active' : 'inactive';
};

const systemctl = (verb: string, purpose: string, extra?: Partial<Step>): Step => ({
  argv: ['systemctl', verb, AGENT_UNIT],
  timeoutMs: 90 * SECOND,
  purpose,
  ...extra,
});

/**
 * Teleport's reload is a graceful restart (it re-execs and hands over its listeners). When the agent is
 * not running, try-restart does nothing, as in v1; without systemd there is nothing to restart.
 */
const daemonReload: Step = { argv: ['systemctl', 'daemon-reload'], timeoutMs: 90 * SECOND, purpose: 'reload systemd units', mayFail: true };

export const restartSteps = (state: AgentState): Step[] => {
  if (state === 'no-systemd') return [];
  if (state === 'active') {
    return [daemonReload, systemctl('reload', 'gracefully restart the agent', { fallback: systemctl('try-restart', 'restart the agent') })];
  }
  return [daemonReload, systemctl('try-restart', 'restart the agent if it is running')];
};

/** After a rollback the agent is broken, not serving: a plain restart puts it back on the previous version. */
export const hardRestartSteps = (version: string): Step[] => [daemonReload, systemctl('restart', `restart the agent on ${version}`)];
