// The fleet's say in a run: a FleetLock slot taken before an install (dry-run: only said), and given back once this host is steady.
import { ConfigError } from '../core/errors.ts';
import {
  appSpecificId,
  describeAnswer,
  gateOnSlot,
  plansInstall,
  PRE_REBOOT,
  releaseVerdict,
  retryDelayMs,
  SLOT_ATTEMPTS,
  type SlotAnswer,
  type SlotRequest,
  slotAnswerOf,
  slotRequestBody,
  slotUrl,
  STEADY_STATE,
} from '../core/fleet-lock.ts';
import type { Planned } from '../core/planned.ts';
import type { Host } from '../host/host.ts';
import { fields } from '../log/fields.ts';
import { isDryRun, type RunContext } from './context.ts';
import { sampleAgent } from './health.ts';
import { inspectPackages } from './inspect-packages.ts';
import type { StateRecord } from './state-store.ts';

export const MACHINE_ID = '/etc/machine-id';

/**
 * The id this host takes slots as: `fleetlock-id`, or the app-specific id of /etc/machine-id (the raw machine id never
 * leaves the host). A host without a machine id is told to write one.
 */
export const fleetLockId = async ({ host, config, options }: RunContext): Promise<string> => {
  const configured = config.fleetLock?.id;
  if (configured !== undefined) return configured;
  const text = await host.readFile(MACHINE_ID).catch(() => undefined);
  const id = text === undefined ? undefined : appSpecificId(text);
  if (id === undefined) {
    throw new ConfigError(
      `${MACHINE_ID} ${text === undefined ? 'cannot be read' : 'holds no machine id'}, so this host has no id to take FleetLock slots as. Write one that is unique in the fleet (the host's name, say) to ${options.configDir}/fleetlock-id.`,
    );
  }
  return id;
};

/**
 * One request to the server, asked again (at most SLOT_ATTEMPTS times in all, a few seconds apart) while it answers
 * busy: a slot taken by another host may be given back, and airlock refuses a request that raced another host's.
 */
const askServer = async (
  host: Host,
  request: SlotRequest,
  slot: { readonly server: string; readonly group: string; readonly id: string },
): Promise<SlotAnswer> => {
  for (let attempt = 1; ; attempt++) {
    const answer = slotAnswerOf(await host.postFleetLock(slotUrl(slot.server, request), slotRequestBody(slot.id, slot.group)));
    if (answer.kind !== 'busy' || attempt === SLOT_ATTEMPTS) return answer;
    const wait = retryDelayMs(slot.id, attempt);
    host.log.debug(`the FleetLock server at ${slot.server} answered ${request} with ${answer.said}; asking again in ${wait} ms.`);
    await host.clock.sleep(wait);
  }
};

/**
 * With a FleetLock server configured, before a plan that installs: run and force record the slot in the state, then
 * ask for it; the plan goes ahead only with it (gateOnSlot). dry-run says that run would ask, and asks nothing. The
 * plan carries where, in which group and as whom, for dry-run's JSON.
 */
export const gateOnFleetLock = async (ctx: RunContext, planned: Planned, state: StateRecord): Promise<Planned> => {
  const settings = ctx.config.fleetLock;
  if (settings === undefined) return planned;
  const { base: server, group } = settings;
  const id = await fleetLockId(ctx);
  const needed = plansInstall(planned);
  const withView = { ...planned, fleetLock: { server, group, id, needed } };
  if (!needed) return withView;
  const about = fields({ url: server, group, holder: id });
  if (isDryRun(ctx)) {
    ctx.host.log.info(
      `run would first ask the FleetLock server at ${server} for a slot in group "${group}" (as ${id}) and install only with one.`,
      about,
    );
    return withView;
  }
  const held = state.current().fleetLock;
  if (held !== undefined && (held.server !== server || held.group !== group || held.id !== id)) {
    // The configuration moved on while a slot was held: the old one is given back nowhere from now on.
    ctx.host.log.warn(
      `this host held a slot in group "${held.group}" of the FleetLock server at ${held.server} (as ${held.id}), which the configuration no longer names; it is forgotten here, so if that server still counts it, remove ${held.id} from that group there.`,
      fields({ url: held.server, group: held.group, holder: held.id }),
    );
  }
  state.apply({ type: 'fleet-lock-asked', server, group, id });
  await state.write();
  const answer = await askServer(ctx.host, PRE_REBOOT, { server, group, id });
  state.apply({ type: 'fleet-lock-answered', request: PRE_REBOOT, server, answer });
  if (answer.kind === 'granted')
    ctx.host.log.info(`the FleetLock server at ${server} granted this host (${id}) a slot in group "${group}".`, about);
  return gateOnSlot(withView, { server, group, id, purpose: planned.reinstall === undefined ? 'upgrade' : 'reinstall', answer });
};

/**
 * At the end of every run and force: a slot this host holds (or may hold) goes back once the host is steady
 * (releaseVerdict); after a rollback it stays. A slot that could not be given back is a warning: the next run tries
 * again. dry-run says what run would do. Never throws.
 */
export const releaseSlotIfDue = async (ctx: RunContext, state: StateRecord): Promise<void> => {
  const { host } = ctx;
  const current = state.current();
  const slot = current.fleetLock;
  if (slot === undefined) return;
  const about = fields({ url: slot.server, group: slot.group, holder: slot.id });
  const packages = await inspectPackages(ctx.config, ctx.options.configDir, host).catch(() => undefined);
  const verdict = releaseVerdict({
    inProgress: current.inProgress !== null,
    badTarget: current.badTarget?.version ?? null,
    packageConfigured: packages === undefined ? undefined : (packages.installed?.configured ?? false),
    agent: await sampleAgent(host),
  });
  const which = `the slot in group "${slot.group}" of the FleetLock server at ${slot.server}`;
  if (!verdict.due) {
    host.log.info(`keeping ${which}: ${verdict.why}; it goes back once this host is steady.`, about);
    return;
  }
  if (isDryRun(ctx)) {
    host.log.info(`run would give back ${which}: this host is steady.`, about);
    return;
  }
  const answer = await askServer(host, STEADY_STATE, slot);
  state.apply({ type: 'fleet-lock-answered', request: STEADY_STATE, server: slot.server, answer });
  if (answer.kind === 'granted') host.log.info(`gave back ${which}.`, about);
  else host.log.warn(`could not give back ${which} (${describeAnswer(answer)}); the next run tries again.`, about);
};
