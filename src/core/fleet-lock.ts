// The FleetLock protocol as data (coreos/zincati's docs/development/fleetlock/protocol.md): who asks, what is sent, what an answer means, and when a slot is given back. Pure.
import { createHash, createHmac } from 'node:crypto';
import * as z from 'zod/mini';
import type { AgentSample } from '../agent/agent-health.ts';
import { decisionFor } from './decide.ts';
import type { Planned } from './planned.ts';
import { sanitize } from './text.ts';

/** This application's id for systemd's app-specific machine ids: the raw machine id never leaves the host. */
export const FLEET_LOCK_APP_ID = 'b6e082f8167a48e4b160914be2629041';

export const PRE_REBOOT = 'pre-reboot';
export const STEADY_STATE = 'steady-state';
export type SlotRequest = typeof PRE_REBOOT | typeof STEADY_STATE;

/** What the host's HTTP client brings back from one POST: the server's status and (capped) body, or why none came. */
export type Posted =
  | { readonly ok: true; readonly status: number; readonly body: string }
  | { readonly ok: false; readonly problem: string };

/** The server's answer to a request for a slot (or to giving one back), in the updater's terms. */
export type SlotAnswer =
  | { readonly kind: 'granted' }
  /** The server answered, but not now: its slots are taken, or it cannot reach its store. Asked again next run. */
  | { readonly kind: 'busy'; readonly status: number; readonly said: string }
  /** The server refuses the request itself (a wrong URL, an unknown group): waiting does not help. */
  | { readonly kind: 'rejected'; readonly status: number; readonly said: string }
  /** No answer: the request may or may not have reached it. */
  | { readonly kind: 'unreachable'; readonly problem: string };

/** Where, in which group and as whom this host takes a slot, and the answer this run got. */
export interface SlotFacts {
  readonly server: string;
  readonly group: string;
  readonly id: string;
  /** What the slot is for: the planned upgrade, or the same version again over damaged files. */
  readonly purpose: 'upgrade' | 'reinstall';
  readonly answer: SlotAnswer;
}

/**
 * systemd's app-specific machine id (sd_id128_get_machine_app_specific, `systemd-id128 machine-id --app-specific`):
 * HMAC-SHA256 of the application id keyed by the machine id, cut to 128 bits and marked as a random UUID. Undefined
 * when `machineId` is not a machine id.
 */
export const appSpecificId = (machineId: string, appId: string = FLEET_LOCK_APP_ID): string | undefined => {
  const id = machineId.trim();
  if (!/^[0-9a-f]{32}$/.test(id)) return undefined;
  const hash = createHmac('sha256', Buffer.from(id, 'hex')).update(Buffer.from(appId, 'hex')).digest().subarray(0, 16);
  hash[6] = (hash[6]! & 0x0f) | 0x40;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  return hash.toString('hex');
};

/** The body of both requests. */
export const slotRequestBody = (id: string, group: string): string => JSON.stringify({ client_params: { id, group } });

/** The endpoint of a request under the configured base. */
export const slotUrl = (server: string, request: SlotRequest): string => `${server}/v1/${request}`;

/** The protocol's error body: a kind of small cardinality and words for people. */
const errorBody = z.object({ kind: z.string().check(z.minLength(1)), value: z.string() });

/** What the server said with a status other than 200, for a log line: its error's kind and value, or just the status. */
const saidWith = (status: number, body: string): string => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const error = errorBody.safeParse(parsed);
  const words = error.success
    ? `: ${sanitize(error.data.kind, 100)}: ${sanitize(error.data.value, 300)}`
    : ' (no FleetLock error in the body)';
  return `HTTP ${status}${words}`;
};

/** Statuses of a request the server understood but cannot grant now (client errors that waiting may fix). */
const TRY_LATER = new Set([408, 409, 423, 429]);

/** 200 is success and nothing else is (the protocol); a server error or a conflict is a busy server, other 4xx a rejected request. */
export const slotAnswerOf = (posted: Posted): SlotAnswer => {
  if (!posted.ok) return { kind: 'unreachable', problem: posted.problem };
  const { status, body } = posted;
  if (status === 200) return { kind: 'granted' };
  const said = saidWith(status, body);
  return status >= 500 || TRY_LATER.has(status) ? { kind: 'busy', status, said } : { kind: 'rejected', status, said };
};

/** The answer in a few words, for the log, `status` and the state file. */
export const describeAnswer = (answer: SlotAnswer): string => {
  switch (answer.kind) {
    case 'granted':
      return 'HTTP 200';
    case 'busy':
    case 'rejected':
      return answer.said;
    case 'unreachable':
      return `no answer: ${answer.problem}`;
  }
};

/** How many times one run asks the server while it answers busy: airlock aborts a request that raced another host's. */
export const SLOT_ATTEMPTS = 3;

/**
 * How long to wait before attempt `attempt + 1` after a busy answer: half a second more each time, plus up to a second
 * that depends on the id, so hosts that raced each other do not ask again at the same moment. At most 3.5 s in all.
 */
export const retryDelayMs = (id: string, attempt: number): number =>
  500 * attempt + (createHash('sha256').update(id).digest().readUInt16BE(0) % 1000);

/** After an answer to `request`, whether this host holds a slot: yes, no, or it cannot know (no answer came). */
export const holdsAfter = (request: SlotRequest, answer: SlotAnswer): 'held' | 'free' | 'unknown' => {
  if (answer.kind === 'unreachable') return 'unknown';
  if (request === PRE_REBOOT) return answer.kind === 'granted' ? 'held' : 'free';
  return answer.kind === 'granted' ? 'free' : 'unknown';
};

/** Whether the plan installs anything (an upgrade through a package manager, or a reinstall): only that needs a slot. */
export const plansInstall = (planned: Planned): boolean => planned.upgrade !== undefined || planned.reinstall !== undefined;

/**
 * The plan as the fleet allows it: unchanged when the slot was granted; otherwise nothing is installed and the decision
 * says why. The unhealthy mark is the plan's own (a healthy schedule still clears it), except after an upgrade for an
 * unhealthy agent, whose mark stays until an upgrade succeeds.
 */
export const gateOnSlot = (planned: Planned, slot: SlotFacts): Planned => {
  const facts = { ...planned.facts, fleetLock: slot };
  if (slot.answer.kind === 'granted') return { ...planned, facts };
  const { upgrade: _upgrade, reinstall: _reinstall, ...rest } = planned;
  const reason =
    slot.answer.kind === 'busy' ? 'fleet-lock-busy' : slot.answer.kind === 'rejected' ? 'fleet-lock-rejected' : 'fleet-lock-unreachable';
  const mark = planned.decision.reason === 'unhealthy-agent' ? 'keep' : planned.decision.mark;
  return { ...rest, facts, decision: decisionFor(reason, mark) };
};

/** What decides whether a held slot goes back. */
export interface ReleaseFacts {
  /** An install is in flight (a killed run's, not yet concluded). */
  readonly inProgress: boolean;
  /** A target that failed its health check here and is recorded as bad. */
  readonly badTarget: string | null;
  /** The Teleport package is installed and configured; undefined when the package database could not be asked. */
  readonly packageConfigured: boolean | undefined;
  /** The agent's unit as systemd shows it; undefined when systemctl gave no answer (no systemd). */
  readonly agent: AgentSample | undefined;
}

/**
 * A slot goes back only when this host is steady: nothing in flight, no bad target on record (after a rollback the
 * slot stays held, which halts a group of one slot until the operator clears the record), the package configured, and
 * the agent running, or stopped on purpose, or without systemd to ask. A failing agent keeps the slot.
 */
export const releaseVerdict = (facts: ReleaseFacts): { readonly due: true } | { readonly due: false; readonly why: string } => {
  if (facts.inProgress) return { due: false, why: 'an install is still in flight' };
  if (facts.badTarget !== null) return { due: false, why: `${facts.badTarget} failed its health check here and is recorded as bad` };
  if (facts.packageConfigured === undefined)
    return { due: false, why: 'the package database could not be asked how Teleport is installed' };
  if (!facts.packageConfigured) return { due: false, why: 'the Teleport package is not fully installed' };
  const { agent } = facts;
  if (agent !== undefined && agent.activeState !== 'inactive' && !(agent.activeState === 'active' && agent.subState === 'running')) {
    return { due: false, why: `teleport.service is ${agent.activeState} (${agent.subState}), not running` };
  }
  return { due: true };
};
