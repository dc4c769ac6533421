// When the installed files need a full check against the package database, and when their metadata alone says they did not change. Pure.
import * as z from 'zod/mini';

/** A full check (every file hashed) at least this often, for damage no metadata shows (a disk that flips bits). */
export const FULL_CHECK_EVERY_MS = 24 * 3_600_000;
/** A package's files; more are never recorded (the files are then checked in full every run). */
export const MAX_RECORDED_FILES = 10_000;

const digits = z.string().check(z.regex(/^\d{1,30}$/));

/**
 * What a file looked like: its inode (a replacement, also by rename, is a new one), size, modification time and inode
 * change time in nanoseconds. Writing changes mtime and ctime; `touch -r` can put mtime back, never ctime.
 */
export const fingerprintSchema = z.object({
  path: z.string().check(z.minLength(1), z.maxLength(4096)),
  ino: digits,
  size: digits,
  mtimeNs: digits,
  ctimeNs: digits,
});
export type Fingerprint = z.infer<typeof fingerprintSchema>;

/** The last full check that found every file intact: which package version, when, and what its files looked like then. */
export const filesRecordSchema = z.object({
  pkg: z.string().check(z.maxLength(100)),
  packageVersion: z.string().check(z.maxLength(200)),
  at: z.iso.datetime(),
  files: z.array(fingerprintSchema).check(z.maxLength(MAX_RECORDED_FILES)),
});
export type FilesRecord = z.infer<typeof filesRecordSchema>;

export type FilesCheck =
  /** The files cannot have changed since the last full check, which is recent enough: none now. */
  | { readonly full: false; readonly since: Date; readonly due: Date }
  /** A full check now, and why. */
  | { readonly full: true; readonly why: string };

const same = (a: Fingerprint, b: Fingerprint | undefined): boolean =>
  b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

/**
 * Whether the installed files need a full check now: without a record of one, for another package or version (an
 * upgrade, a downgrade), a day after the last, or when any recorded file now looks different (written, truncated,
 * replaced, removed, or reinstalled by hand). `now` holds the recorded files' fingerprints as they are now, in order
 * (undefined for one that is gone or no longer a regular file).
 */
export const filesCheck = (
  record: FilesRecord | null,
  installed: { pkg: string; packageVersion: string },
  current: readonly (Fingerprint | undefined)[],
  at: Date,
): FilesCheck => {
  if (record === null) return { full: true, why: 'there is no record of a full check' };
  if (record.pkg !== installed.pkg || record.packageVersion !== installed.packageVersion) {
    return { full: true, why: `the last full check was of ${record.pkg} ${record.packageVersion}` };
  }
  const since = new Date(record.at);
  const due = new Date(since.getTime() + FULL_CHECK_EVERY_MS);
  if (since > at) return { full: true, why: 'the last full check is dated in the future' };
  if (due <= at) return { full: true, why: `the daily full check is due (the last was at ${record.at})` };
  const changed = record.files.find((file, i) => !same(file, current[i]));
  if (changed !== undefined)
    return {
      full: true,
      why: `${changed.path} ${current[record.files.indexOf(changed)] === undefined ? 'is gone' : 'changed'} since the last full check`,
    };
  return { full: false, since, due };
};
