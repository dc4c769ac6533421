// The updater's own version, from package.json (inlined into the bundle at build time).
import pkg from '../../package.json' with { type: 'json' };

export const UPDATER_VERSION: string = pkg.version;
