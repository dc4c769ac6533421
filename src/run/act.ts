// Act: carry the plan out (run and force): the decision's state changes, then the reinstall or the upgrade, then its mark.
// What must be on disk before an install (the in-flight record) is written on the way; the outcome is the record phase's.
import type { StateEvent } from '../core/next-state.ts';
import { planCommands, type PlanInput } from '../core/plan.ts';
import { actingManager } from '../core/package-facts.ts';
import type { Planned } from '../core/planned.ts';
import { fields } from '../log/fields.ts';
import type { PackageContext, RunContext } from './context.ts';
import { reinstall } from './reinstall.ts';
import type { StateRecord } from './state-store.ts';
import { upgrade } from './upgrade.ts';

/** What the decision says of the bad-target record: force overrides it, a different target makes it moot. */
const targetEvents = ({ decision, snapshot }: Planned): StateEvent[] => [
  ...(decision.reason === 'forced' ? [{ type: 'forced' } as const] : []),
  ...(snapshot.target.kind === 'version' ? [{ type: 'target-served', target: snapshot.target.version } as const] : []),
];

const packageContext = (ctx: RunContext, planned: Planned, input: PlanInput, state: StateRecord): PackageContext => {
  const manager = planned.snapshot.packages.manager;
  if (manager === undefined) throw new Error('a plan was made without a package manager');
  return { run: ctx, manager, packages: planned.snapshot.packages, input, state };
};

/**
 * The state changes the decision makes at once (its mark applies at once, except for an upgrade, which clears it only
 * once it has succeeded), then the plan: a reinstall over damaged files, or the upgrade (the nop installer only says
 * what it would run). Throws InstallError when the package could not be put right.
 */
export const act = async (ctx: RunContext, planned: Planned, state: StateRecord): Promise<void> => {
  const { host } = ctx;
  const { decision, snapshot, input } = planned;
  const bad = snapshot.state.badTarget;
  state.apply(
    ...targetEvents(planned),
    ...(decision.action === 'upgrade' ? [] : [{ type: 'mark', mark: decision.mark } as const]),
    ...(planned.verified === undefined ? [] : [{ type: 'files-verified', record: planned.verified } as const]),
  );
  if (bad !== null && state.current().badTarget === null) {
    const by =
      decision.reason === 'forced' ? 'force' : `the new target ${snapshot.target.kind === 'version' ? snapshot.target.version : ''}`;
    host.log.info(`${by} clears the record of ${bad.version} failing its health check.`, fields({ target: bad.version }));
  }
  if (planned.reinstall !== undefined && input !== undefined)
    await reinstall(packageContext(ctx, planned, input, state), planned.reinstall);
  if (decision.action !== 'upgrade' || snapshot.target.kind !== 'version') return;
  const { pkg } = snapshot.packages;
  const target = snapshot.target.version;
  if (actingManager(snapshot.packages) === undefined || planned.upgrade === undefined || input === undefined) {
    host.log.info(
      `attempting nop install ${pkg}=${target}... the nop installer changes nothing.`,
      fields({ installer: 'nop', package: pkg, target }),
    );
    for (const argv of planned.upgrade === undefined ? [] : planCommands(planned.upgrade))
      host.log.info(`nop: would run: ${argv.join(' ')}`, fields({ command: argv.join(' ') }));
  } else {
    await upgrade(packageContext(ctx, planned, input, state), planned.upgrade);
    host.log.info(`upgrade to ${target} complete.`, fields({ package: pkg, target }));
  }
  state.apply({ type: 'mark', mark: decision.mark });
};
