// What the log says before and as the decision: what is available, and the reason's one sentence.
import type { Decision, Facts } from './decide.ts';
import { direction } from '../version/semver.ts';
import { REASON_RULES } from './reasons.ts';

/** `[i] an upgrade is available (1.2.3 -> 1.2.4)`, or the downgrade/install form; undefined when nothing differs. */
export const availability = (facts: Facts): string | undefined => {
  if (facts.target.kind === 'none') return undefined;
  const target = facts.target.version;
  const installed = facts.installed ?? 'unknown';
  switch (direction(facts.installed, target)) {
    case 'downgrade':
      return `a downgrade is available (${installed} -> ${target}): the cluster's version is the truth, so it is installed like an upgrade`;
    case 'install':
    case 'upgrade':
      return `an upgrade is available (${installed} -> ${target})`;
  }
};

/** The single sentence that says why the updater does (or does not do) what it does: its reason's (see REASON_RULES). */
export const explain = (decision: Decision, facts: Facts, configDir: string): string =>
  REASON_RULES[decision.reason].sentence(facts, configDir);
