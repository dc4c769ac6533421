// Report: the one sentence that explains the decision (run and dry-run), and what dry-run says in place of acting.
import { availability, explain } from '../core/explain.ts';
import { RefusedError } from '../core/errors.ts';
import { freezeClause, REASON_RULES } from '../core/reasons.ts';
import { plannedCommands, type Planned } from '../core/planned.ts';
import { fields } from '../log/fields.ts';
import { isDryRun, type RunContext } from './context.ts';

/** The facts a decision's log lines carry as fields. */
const aboutDecision = ({ decision, facts, snapshot }: Planned) =>
  fields({
    package: snapshot.packages.pkg,
    installed: facts.installed,
    target: facts.target.kind === 'version' ? facts.target.version : null,
    reason: decision.reason,
  });

/**
 * A decision that refuses (its reason's exit status is 1) as the run's error, which the run ends with and the log says
 * once; undefined for any other.
 */
export const refusalOf = (ctx: RunContext, planned: Planned): RefusedError | undefined =>
  planned.decision.exitStatus === 0
    ? undefined
    : new RefusedError(explain(planned.decision, planned.facts, ctx.options.configDir), aboutDecision(planned));

/**
 * Logs what is available and the sentence that explains the decision, at its reason's level, with its facts as fields
 * (a refusal's sentence is the run's error, logged as that). Only logs: the run decides what follows.
 */
export const announce = (ctx: RunContext, planned: Planned): void => {
  const { host } = ctx;
  const { decision, facts } = planned;
  const rule = REASON_RULES[decision.reason];
  const about = aboutDecision(planned);
  const target = facts.target.kind === 'version' ? facts.target.version : null;
  const available = rule.availability ? availability(facts) : undefined;
  if (available !== undefined) host.log.info(available, about);
  if (decision.exitStatus !== 0) return;
  const sentence = explain(decision, facts, ctx.options.configDir);
  const said = isDryRun(ctx) && decision.mark === 'set' ? `${sentence} (dry run: the mark is not written.)` : sentence;
  (rule.level === 'warn' ? host.log.warn : host.log.info)(said, about);
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
    host.log.warn(
      `the package manager's current metadata does not offer ${snapshot.packages.pkg} ${input.target}; run refreshes the Teleport repository first and fails if it is still not offered.`,
      fields({ package: snapshot.packages.pkg, target: input.target }),
    );
  }
  for (const argv of plannedCommands(planned)) host.log.info(`dry run: would run: ${argv.join(' ')}`, fields({ command: argv.join(' ') }));
};
