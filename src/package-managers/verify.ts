// Parses `dpkg --verify` and `rpm -V` (installed files that no longer match the package database), and file lists.

/**
 * Lines are `FLAGS [ATTR] PATH`, e.g. `??5??????   /usr/local/bin/teleport` (dpkg), `S.5....T.  c /etc/x` (rpm),
 * `missing     /usr/local/bin/teleport`. A missing file, or a wrong size or digest of a file that is not a config
 * file, is damage; config files are the operator's to change, and times or modes alone are not damage.
 */
export const parseVerify = (stdout: string): string[] =>
  stdout.split('\n').flatMap((line) => {
    const match = /^(\S+)\s+(?:([cdglr])\s+)?(\/.*)$/.exec(line.trim());
    if (match === null || match[2] === 'c') return [];
    const [, flags = '', , path = ''] = match;
    return flags === 'missing' || flags[0] === 'S' || flags[2] === '5' ? [path] : [];
  });

/** The absolute paths among the lines of a package's file list (`dpkg-query -L` also prints diversion notes). */
export const listedPaths = (stdout: string): string[] => stdout.split('\n').filter((line) => line.startsWith('/'));
