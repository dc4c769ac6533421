// Windows for the pure tables: the exported state, and the local window and freeze when a row needs them.
import { allOpenNow, type LocalState } from '../../src/schedule/local-windows.ts';
import type { WindowState } from '../../src/schedule/exported-window.ts';
import type { Windows } from '../../src/schedule/windows.ts';

export const LOCAL_RULE = '0 2 * * Sat,Sun 4h Europe/Berlin';
export const FREEZE_RULE = '2026-12-20T00:00:00Z 2027-01-04T00:00:00+01:00';

export const windowsOf = ({
  state = 'outside',
  local = 'absent',
  frozen = false,
}: {
  state?: WindowState;
  local?: LocalState;
  frozen?: boolean;
} = {}): Windows => {
  const exported = { state, next: null };
  const own = { state: local, next: null, rule: local === 'absent' ? undefined : LOCAL_RULE };
  return {
    exported,
    local: own,
    freeze: frozen
      ? { active: true, until: new Date('2027-01-03T23:00:00Z'), rule: FREEZE_RULE }
      : { active: false, until: null, rule: undefined },
    open: allOpenNow(exported, own),
    next: null,
    nextWorkedOut: true,
  };
};
