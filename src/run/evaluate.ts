// Evaluate: recover, gather, decide, plan and ask the fleet, the one path run and dry-run share; it returns all it learned, as far as it got.
import { decide } from '../core/decide.ts';
import type { PackageFacts } from '../core/package-facts.ts';
import { factsOf, planRun, type Planned, type Snapshot } from '../core/planned.ts';
import { isDryRun, type RunContext } from './context.ts';
import { gateOnFleetLock } from './fleet-lock.ts';
import { gather, gatherForPlan, startFetch } from './gather.ts';
import { recover } from './recover.ts';
import type { StateRecord } from './state-store.ts';

/** What a run learned on its way: the record phase tells the last run, the metrics and the hooks from it. */
export interface Learned {
  /** The packages as recover found or left them. */
  readonly packages?: PackageFacts;
  /** Recover ran the steps that finish an interrupted transaction (dry-run only describes them). */
  readonly repaired: boolean;
  readonly snapshot?: Snapshot;
  /** The decision and its plan. */
  readonly planned?: Planned;
}

export type Evaluation =
  | { readonly ok: true; readonly learned: Learned; readonly planned: Planned }
  /** It stopped at `failure`; `learned` holds what it had learned until then. */
  | { readonly ok: false; readonly learned: Learned; readonly failure: unknown };

/** recover, gather, decide, plan, fleet lock: the same path in run and dry-run (whose recover and fleet lock only describe). Never throws. */
export const evaluate = async (ctx: RunContext, state: StateRecord): Promise<Evaluation> => {
  const channel = startFetch(ctx);
  let learned: Learned = { repaired: false };
  try {
    const recovered = await recover(ctx, state);
    learned = { packages: recovered.packages, repaired: recovered.repair.length > 0 && !isDryRun(ctx) };
    const snapshot = await gather(ctx, recovered, state.current(), channel);
    learned = { ...learned, snapshot };
    const facts = factsOf(snapshot, ctx.options.mode === 'force');
    const decision = decide(facts);
    const plan = planRun(snapshot, facts, decision, recovered.repair, await gatherForPlan(ctx, snapshot, facts, decision));
    // The fleet's say last: only a plan that installs asks for a slot, and without one it installs nothing.
    const planned = await gateOnFleetLock(ctx, plan, state);
    return { ok: true, learned: { ...learned, planned }, planned };
  } catch (failure) {
    return { ok: false, learned, failure };
  }
};
