// Judging the agent after an install, as pure functions of `systemctl show` samples and /readyz answers.
import { AGENT_UNIT } from './agent-service.ts';
import { SECOND, type Command, type CommandResult } from '../core/command.ts';

/** How often the agent is sampled during the settle period. */
export const SAMPLE_EVERY_MS = SECOND;

export interface AgentSample {
  readonly activeState: string;
  readonly subState: string;
  readonly mainPid: number;
  readonly restarts: number;
}

export const agentShowQuery: Command = {
  argv: ['systemctl', 'show', AGENT_UNIT, '--property=ActiveState,SubState,MainPID,NRestarts'],
  timeoutMs: 30 * SECOND,
};

/** `Key=Value` lines of `systemctl show`; undefined when systemctl did not answer. */
export const parseAgentSample = (result: CommandResult): AgentSample | undefined => {
  if (result.exitCode !== 0) return undefined;
  const values = new Map(
    result.stdout.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1).trim()]),
  );
  const number = (key: string) => {
    const n = Number(values.get(key) ?? 'NaN');
    return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  };
  const [mainPid, restarts] = [number('MainPID'), number('NRestarts')];
  const activeState = values.get('ActiveState');
  if (activeState === undefined || mainPid === undefined) return undefined;
  return { activeState, subState: values.get('SubState') ?? '', mainPid, restarts: restarts ?? 0 };
};

const running = (s: AgentSample) => s.activeState === 'active' && s.subState === 'running' && s.mainPid > 0;

/** What the settle period has seen so far. */
export interface Watch {
  /** Restarts counted before the install (or the rollback) began. */
  readonly baselineRestarts: number;
  readonly lastPid: number;
  /** Main-PID changes seen while running; teleport's graceful reload hands over to a new process once. */
  readonly pidChanges: number;
  readonly last: AgentSample | undefined;
  /** The last /readyz status, when it is checked; 200 once it answered so. */
  readonly ready: { readonly required: boolean; readonly ok: boolean; readonly last: string };
}

export const startWatch = (baselineRestarts: number, readyzRequired: boolean): Watch => ({
  baselineRestarts,
  lastPid: 0,
  pidChanges: 0,
  last: undefined,
  ready: { required: readyzRequired, ok: false, last: 'not asked yet' },
});

/** Folds one sample in; returns the reason it is already certain the agent is unhealthy, if it is. */
export const observe = (watch: Watch, sample: AgentSample | undefined): { watch: Watch; failed?: string } => {
  if (sample === undefined) return { watch, failed: `systemctl show ${AGENT_UNIT} did not answer` };
  const pidChanged = running(sample) && watch.lastPid !== 0 && sample.mainPid !== watch.lastPid;
  const next: Watch = {
    ...watch,
    last: sample,
    lastPid: running(sample) ? sample.mainPid : watch.lastPid,
    pidChanges: watch.pidChanges + (pidChanged ? 1 : 0),
  };
  if (sample.restarts > watch.baselineRestarts) {
    return {
      watch: next,
      failed: `systemd restarted ${AGENT_UNIT} ${sample.restarts - watch.baselineRestarts} time(s) since the install (it keeps crashing)`,
    };
  }
  if (sample.activeState === 'failed' || sample.activeState === 'inactive') {
    return { watch: next, failed: `${AGENT_UNIT} is ${sample.activeState} (${sample.subState})` };
  }
  if (next.pidChanges > 1)
    return { watch: next, failed: `the main PID of ${AGENT_UNIT} changed ${next.pidChanges} times (it keeps restarting)` };
  return { watch: next };
};

export const observeReady = (watch: Watch, status: string): Watch => ({
  ...watch,
  ready: { ...watch.ready, ok: watch.ready.ok || status === 'HTTP 200', last: status },
});

/** The verdict at the end of the settle period: undefined when healthy, else why not. */
export const verdict = (watch: Watch, settleMs: number): string | undefined => {
  const seconds = `${settleMs / SECOND} s`;
  if (watch.last === undefined || !running(watch.last)) {
    const state = watch.last === undefined ? 'unknown' : `${watch.last.activeState} (${watch.last.subState})`;
    return `${AGENT_UNIT} is not active and running after ${seconds}: ${state}`;
  }
  if (watch.ready.required && !watch.ready.ok)
    return `the agent's /readyz did not answer HTTP 200 within ${seconds} (last: ${watch.ready.last})`;
  return undefined;
};
