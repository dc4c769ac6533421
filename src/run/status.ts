// status: the one screen on this host's updater. It reads what it can (as non-root too), says what it could not, writes nothing.
import * as z from 'zod/mini';
import { decide } from '../core/decide.ts';
import { factsOf, snapshotOf } from '../core/planned.ts';
import { TargetError } from '../core/errors.ts';
import { safeJson } from '../core/text.ts';
import { explain } from '../core/explain.ts';
import { parseState, STATE_FILE, type LastRun, type State } from '../core/state.ts';
import { statusExit, statusJson, statusLines, type StatusFacts } from '../core/status-report.ts';
import { parseTimer, timerQuery } from '../core/updater-timer.ts';
import { FileRefusedError } from '../host/files.ts';
import type { Host } from '../host/host.ts';
import { policyWarnings, windowsAt } from '../schedule/windows.ts';
import { UPDATER_VERSION } from '../version/updater-version.ts';
import { runContext, type RunContext } from './context.ts';
import { fetchChannel, readSchedule, type ChannelFacts } from './gather.ts';
import { inspectPackages } from './inspect-packages.ts';
import { BUSY_FILE } from './lock.ts';
import { fleetLockId } from './fleet-lock.ts';
import { isHeld, knownOrTeleportRepo } from './queries.ts';

export interface StatusOptions {
  readonly configDir: string;
  readonly stateDir: string;
  readonly lockPath: string;
  readonly json: boolean;
  readonly offline: boolean;
}

const busySchema = z.object({ at: z.iso.datetime(), command: z.enum(['run', 'force']) });

/** The state file; undefined, with the reason among the problems, when it cannot be read (it may be root's alone). */
const readStateFile = async (host: Host, path: string, problems: string[]): Promise<State | undefined> => {
  let text: string | undefined;
  try {
    text = await host.readFile(path);
  } catch (error) {
    if (!(error instanceof FileRefusedError)) problems.push(`${path} cannot be read`);
    else if (error.why === 'EACCES' || error.why === 'EPERM') problems.push(`${error.message}; run status as root to see it`);
    else problems.push(`${error.message}: it is no state file of teleport-upgrade's; move it aside, and the next run starts a new one`);
    return undefined;
  }
  const parsed = parseState(text);
  if (typeof parsed !== 'string') return parsed;
  problems.push(`${path}: ${parsed}`);
  return undefined;
};

/** The state file, and the note a run left when it found another in progress: the newer of the two is the last run. */
const readRecords = async (ctx: RunContext, problems: string[]): Promise<{ state: State | undefined; lastRun: LastRun | null }> => {
  const dir = ctx.options.stateDir;
  const state = await readStateFile(ctx.host, `${dir}/${STATE_FILE}`, problems);
  let busy: z.infer<typeof busySchema> | undefined;
  try {
    const note = busySchema.safeParse(JSON.parse((await ctx.host.readFile(`${dir}/${BUSY_FILE}`).catch(() => undefined)) ?? 'null'));
    busy = note.success ? note.data : undefined;
  } catch {
    busy = undefined;
  }
  const last = state?.lastRun ?? null;
  if (busy !== undefined && (last === null || busy.at > last.at)) {
    return {
      state,
      lastRun: {
        at: busy.at,
        command: busy.command,
        outcome: 'busy',
        exitStatus: 0,
        reason: null,
        durationSeconds: 0,
        from: null,
        to: null,
      },
    };
  }
  return { state, lastRun: last };
};

/** The channel's answer, or why it could not be had; not asked when offline. */
const askChannel = async (ctx: RunContext, offline: boolean): Promise<ChannelFacts | { offline: true } | { problem: string }> => {
  if (offline) return { offline: true };
  return fetchChannel(ctx).catch((error: unknown) => {
    if (error instanceof TargetError) return { problem: error.message };
    throw error;
  });
};

/** The FleetLock server and this host's slot, when one is configured or a slot is still held; the id's problem among the problems. */
const fleetLockStatus = async (ctx: RunContext, state: State | undefined, problems: string[]): Promise<StatusFacts['fleetLock']> => {
  const settings = ctx.config.fleetLock;
  const slot = state?.fleetLock;
  if (settings === undefined && slot === undefined) return undefined;
  const id =
    slot?.id ??
    (await fleetLockId(ctx).catch((error: unknown) => {
      problems.push(error instanceof Error ? error.message : String(error));
      return null;
    }));
  return {
    server: slot?.server ?? settings?.base ?? '',
    group: slot?.group ?? settings?.group ?? '',
    id,
    slot: state === undefined ? 'unknown' : slot === undefined ? null : { since: slot.since, confirmed: slot.confirmed },
    lastAnswer: state?.fleetLockAnswer ?? null,
  };
};

export const showStatus = async (options: StatusOptions, host: Host): Promise<number> => {
  const ctx = await runContext(
    { mode: 'status', configDir: options.configDir, stateDir: options.stateDir, json: options.json, lockPath: options.lockPath },
    host,
    true,
  );
  const problems: string[] = [];
  const [records, packages, channel, schedule, timer, lock] = await Promise.all([
    readRecords(ctx, problems),
    inspectPackages(ctx.config, options.configDir, host),
    askChannel(ctx, options.offline),
    readSchedule(host, options.configDir),
    host.run(timerQuery).then(parseTimer),
    host.lockHolder(options.lockPath),
  ]);
  const { manager } = packages;
  const held = manager === undefined ? null : await isHeld(host, manager, packages, await knownOrTeleportRepo(host, manager, packages));
  const state = records.state;
  const now = host.clock.now();
  problems.push(...policyWarnings(schedule, ctx.config, now, `${options.configDir}/window`));
  // What the next run would decide, assembled and decided as a run does, when the channel answered and the state was read.
  const snapshot =
    'target' in channel && state !== undefined ? snapshotOf({ config: ctx.config, ...channel, packages, schedule, state }, now) : undefined;
  const windows = snapshot?.windows ?? windowsAt(schedule, ctx.config, now);
  let decision: StatusFacts['decision'];
  if (snapshot !== undefined) {
    const facts = factsOf(snapshot, false);
    const decided = decide(facts);
    decision = { action: decided.action, reason: decided.reason, sentence: explain(decided, facts, options.configDir) };
  }
  const fleetLock = await fleetLockStatus(ctx, state, problems);
  const facts: StatusFacts = {
    updater: UPDATER_VERSION,
    packages: { pkg: packages.pkg, installer: packages.installer, installed: packages.semver, held },
    channel:
      'target' in channel
        ? { target: channel.target.kind === 'version' ? channel.target.version : null, critical: channel.critical }
        : channel,
    ...(decision === undefined ? {} : { decision }),
    windows,
    unhealthySince: state?.unhealthySince ?? null,
    badTarget: state?.badTarget ?? null,
    inProgress: state?.inProgress ?? null,
    lastRun: records.lastRun,
    filesVerifiedAt: state?.verified?.at ?? null,
    timer,
    lock: lock ?? null,
    ...(fleetLock === undefined ? {} : { fleetLock }),
    problems,
    local: host.clock.local,
  };
  host.stdout(options.json ? `${safeJson(statusJson(facts))}\n` : `${statusLines(facts).join('\n')}\n`);
  return statusExit(facts);
};
