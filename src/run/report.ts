// Report: the one sentence that explains the decision (run and dry-run), and what dry-run says in place of acting.
import { availability, explain, freezeClause } from '../core/explain.ts';
import { RefusedError } from '../core/errors.ts';
import { plannedCommands, type Planned } from '../core/planned.ts';
import { fields } from '../log/fields.ts';
import { isDryRun, type RunContext } from './context.ts';

/** Logs what is available and the sentence that explains the decision, with its facts as fields; a refusal is thrown as RefusedError. */
export const announce = (ctx: RunContext, { decision, facts, snapshot }: Planned): void => {
  const { host } = ctx;
  const target = facts.target.kind === 'version' ? facts.target.version : null;
  const about = fields({ package: snapshot.packages.pkg, installed: facts.installed, target, reason: decision.reason });
  const available = decision.reason === 'up-to-date' || decision.reason === 'no-target' || decision.reason === 'managed-by-v2' ? undefined : availability(facts);
  if (available !== undefined) host.log.info(available, about);
  const sentence = explain(decision, facts, ctx.options.configDir);
  if (decision.exitStatus !== 0) throw new RefusedError(sentence, about);
  const said = isDryRun(ctx) && decision.mark === 'set' ? `${sentence} (dry run: the mark is not written.)` : sentence;
  if (decision.reason === 'known-bad') host.log.warn(said, about); else host.log.info(said, about);
  if (decision.action === 'upgrade' && facts.forced && facts.windows.freeze.active) {
    host.log.warn(`${freezeClause(facts)}; force overrides it, so ${target} is installed anyway.`, about);
  }
  if (decision.action === 'upgrade' && facts.cluster.kind === 'unknown') {
    host.log.warn(`could not learn the cluster's version (${facts.cluster.problem}); installing without the version-skew check.`, about);
  }
};

/** dry-run in place of act: what run would execute, in order, and a warning when the target is not offered yet. */
export const reportDryRun = ({ host }: RunContext, planned: Planned): void => {
  const { upgrade, input, snapshot } = planned;
  if (upgrade !== undefined && input !== undefined && planned.reinstall === undefined && !upgrade.resolved) {
    host.log.warn(`the package manager's current metadata does not offer ${snapshot.packages.pkg} ${input.target}; run refreshes the Teleport repository first and fails if it is still not offered.`,
      fields({ package: snapshot.packages.pkg, target: input.target }));
  }
  for (const argv of plannedCommands(planned)) host.log.info(`dry run: would run: ${argv.join(' ')}`, fields({ command: argv.join(' ') }));
};
