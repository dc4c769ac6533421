// What one run found and decided: the facts, the decision, the steps it would run; shared by run, dry-run and its report.
import type { Decision, Facts } from './decide.ts';
import type { PackageFacts } from '../run/inspect-packages.ts';
import type { Step } from './command.ts';
import { planCommands, type Plan, type PlanInput } from './plan.ts';
import type { State } from './state.ts';

export interface Outcome {
  /** Steps that finish an interrupted transaction (dry-run: would run; run: already ran). */
  readonly repair: readonly Step[];
  /** Steps that reinstall the installed version over damaged files. */
  readonly reinstall: readonly Step[];
  readonly state: State;
  readonly facts: Facts;
  readonly decision: Decision;
  readonly packages: PackageFacts;
  readonly plan?: { readonly input: PlanInput; readonly plan: Plan };
}

/** Every argv `run` executes, in order: repair, then the upgrade or the reinstall and its restart. */
export const outcomeCommands = ({ repair, reinstall, plan }: Outcome): string[][] => [
  ...repair.map((s) => [...s.argv]),
  ...(reinstall.length > 0 ? [...reinstall, ...(plan?.plan.restart ?? [])].map((s) => [...s.argv]) : plan === undefined ? [] : planCommands(plan.plan)),
];

