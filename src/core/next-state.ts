// Every change to the updater's state, as one pure function of the state, an event and the time.
import type { FilesRecord } from './files-check.ts';
import { describeAnswer, holdsAfter, type SlotAnswer, type SlotRequest } from './fleet-lock.ts';
import type { InProgress, LastRun, State } from './state.ts';

/** The state schema caps a recorded reason; a longer one would make the file unreadable. */
const MAX_REASON = 1000;

export type StateEvent =
  /** The decision's word on the unhealthy mark (for an upgrade, applied once it has succeeded). */
  | { readonly type: 'mark'; readonly mark: 'set' | 'clear' | 'keep' }
  /** The channel serves this target: a record of another one failing its health check no longer applies. */
  | { readonly type: 'target-served'; readonly target: string }
  /** force: the operator overrides the record of a target failing its health check. */
  | { readonly type: 'forced' }
  /** An install is about to start: the record that lets a killed run be finished by the next. */
  | { readonly type: 'install-started'; readonly progress: InProgress }
  /** The install is over (judged, rolled back, or found not to have happened): its in-flight record goes. */
  | { readonly type: 'install-ended' }
  /** The target failed its health check here: it is not installed again while the channel serves it. */
  | { readonly type: 'target-failed'; readonly target: string; readonly reason: string }
  /** An upgrade was installed (and, when the agent ran, judged healthy). */
  | { readonly type: 'upgraded' }
  /** The previous version was put back. */
  | { readonly type: 'rolled-back' }
  /** The run is over: what it did, for status and the metrics. */
  | { readonly type: 'run-finished'; readonly lastRun: LastRun }
  /** A full check found every installed file intact; this is what they looked like. */
  | { readonly type: 'files-verified'; readonly record: FilesRecord }
  /** The package manager changed the installed files (an interrupted transaction finished): the next check is a full one. */
  | { readonly type: 'files-changed' }
  /** A FleetLock slot is about to be asked for: recorded first, so that a slot granted to a killed run is never forgotten. */
  | { readonly type: 'fleet-lock-asked'; readonly server: string; readonly group: string; readonly id: string }
  /** The FleetLock server answered a request for a slot, or to give it back (or did not answer). */
  | { readonly type: 'fleet-lock-answered'; readonly request: SlotRequest; readonly server: string; readonly answer: SlotAnswer };

export const nextState = (state: State, event: StateEvent, now: Date): State => {
  switch (event.type) {
    case 'mark':
      if (event.mark === 'set') return { ...state, unhealthySince: state.unhealthySince ?? now.toISOString() };
      if (event.mark === 'clear') return { ...state, unhealthySince: null };
      return state;
    case 'target-served':
      return state.badTarget !== null && state.badTarget.version !== event.target ? { ...state, badTarget: null } : state;
    case 'forced':
      return state.badTarget === null ? state : { ...state, badTarget: null };
    case 'install-started':
      // Whatever gets installed, or put back, its files are checked in full before a check is skipped again.
      return { ...state, inProgress: event.progress, verified: null };
    case 'install-ended':
      return state.inProgress === null ? state : { ...state, inProgress: null };
    case 'target-failed':
      return { ...state, badTarget: { version: event.target, reason: event.reason.slice(0, MAX_REASON), at: now.toISOString() } };
    case 'upgraded':
      return { ...state, counters: { ...state.counters, upgrades: state.counters.upgrades + 1 } };
    case 'rolled-back':
      return { ...state, counters: { ...state.counters, rollbacks: state.counters.rollbacks + 1 } };
    case 'run-finished':
      return { ...state, lastRun: event.lastRun, lastSuccessAt: event.lastRun.exitStatus === 0 ? event.lastRun.at : state.lastSuccessAt };
    case 'files-verified':
      return { ...state, verified: event.record };
    case 'files-changed':
      return state.verified === null ? state : { ...state, verified: null };
    case 'fleet-lock-asked': {
      const { server, group, id } = event;
      const held = state.fleetLock;
      if (held !== undefined && held.server === server && held.group === group && held.id === id) return state;
      return { ...state, fleetLock: { server, group, id, since: now.toISOString(), confirmed: false } };
    }
    case 'fleet-lock-answered': {
      const { request, server, answer } = event;
      const said = {
        at: now.toISOString(),
        request,
        server,
        granted: answer.kind === 'granted',
        said: describeAnswer(answer).slice(0, 2000),
      };
      const { fleetLock, ...rest } = state;
      const holds = holdsAfter(request, answer);
      if (holds === 'unknown' || fleetLock === undefined) return { ...state, fleetLockAnswer: said };
      return holds === 'held'
        ? { ...state, fleetLock: { ...fleetLock, confirmed: true }, fleetLockAnswer: said }
        : { ...rest, fleetLockAnswer: said };
    }
  }
};
