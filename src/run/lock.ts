// Lock: one run at a time. run and force take the lock or step aside for a live holder; dry-run only reads it.
import { describeHolder, type LockHolder } from '../host/lock.ts';
import { fields } from '../log/fields.ts';
import type { RunContext } from './context.ts';

/** Where a run that found another in progress says so: beside the state file, never in it (the live run owns that). */
export const BUSY_FILE = 'busy.json';

/**
 * Takes the lock for run and force; undefined when another run holds it: that one is left to finish, this one does
 * nothing but leave a note for `status` (its own file: writing the state file would race the live run's records).
 */
export const takeLock = async ({ host, options }: RunContext): Promise<{ release: () => Promise<void> } | undefined> => {
  const lock = await host.lock(options.lockPath, `teleport-upgrade ${options.mode}`);
  if (!lock.acquired) {
    host.log.info(
      `another teleport-upgrade is in progress: ${describeHolder(lock.holder)} holds ${options.lockPath}; leaving it to finish. Nothing was done.`,
      fields({ pid: lock.holder.pid, path: options.lockPath }),
    );
    const note = { at: host.clock.now().toISOString(), command: options.mode, holder: lock.holder };
    await host.writeFile(`${options.stateDir}/${BUSY_FILE}`, `${JSON.stringify(note)}\n`, { what: 'the busy note' }).catch(() => undefined);
    return undefined;
  }
  if (lock.tookOver !== undefined)
    host.log.warn(`took over ${options.lockPath} from ${lock.tookOver}.`, fields({ path: options.lockPath }));
  return lock;
};

/** For dry-run: the live run holding the lock, if any (what it has in flight is not an interrupted transaction). */
export const runInProgress = async ({ host, options }: RunContext): Promise<LockHolder | undefined> => {
  const holder = await host.lockHolder(options.lockPath);
  if (holder !== undefined) {
    host.log.info(
      `another teleport-upgrade is in progress: ${describeHolder(holder)} holds ${options.lockPath}; run would leave it to finish and do nothing now.`,
      fields({ pid: holder.pid, path: options.lockPath }),
    );
  }
  return holder;
};
