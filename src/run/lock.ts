// Lock: one run at a time. run and force take the lock or step aside for a live holder; dry-run only reads it.
import { describeHolder, type LockHolder } from '../host/lock.ts';
import { fields } from '../log/fields.ts';
import type { RunContext } from './context.ts';

/** Takes the lock for run and force; undefined when another run holds it (it is left to finish, and this run does nothing). */
export const takeLock = async ({ host, options }: RunContext): Promise<{ release: () => Promise<void> } | undefined> => {
  const lock = await host.lock(options.lockPath, `teleport-upgrade ${options.mode}`);
  if (!lock.acquired) {
    host.log.info(`another teleport-upgrade is in progress: ${describeHolder(lock.holder)} holds ${options.lockPath}; leaving it to finish. Nothing was done.`,
      fields({ pid: lock.holder.pid, path: options.lockPath }));
    return undefined;
  }
  if (lock.tookOver !== undefined) host.log.warn(`took over ${options.lockPath} from ${lock.tookOver}.`, fields({ path: options.lockPath }));
  return lock;
};

/** For dry-run: the live run holding the lock, if any (what it has in flight is not an interrupted transaction). */
export const runInProgress = async ({ host, options }: RunContext): Promise<LockHolder | undefined> => {
  const holder = await host.lockHolder(options.lockPath);
  if (holder !== undefined) {
    host.log.info(`another teleport-upgrade is in progress: ${describeHolder(holder)} holds ${options.lockPath}; run would leave it to finish and do nothing now.`,
      fields({ pid: holder.pid, path: options.lockPath }));
  }
  return holder;
};
