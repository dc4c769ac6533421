// Builds fake Teleport .deb packages and a flat apt repository of them.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sh } from './tools.ts';

export interface FakePackage {
  readonly name: string;
  /** Debian version string, e.g. `1.2.4`, `1.3.0~beta.1`, `1.2.5-1`. */
  readonly version: string;
  /** A Depends line; an unsatisfiable one makes apt refuse the install, a real failure. */
  readonly depends?: string;
  /**
   * A postinst that fails while `$DPKG_ROOT/fail-postinst` exists (an interrupted transaction on demand), and takes
   * 30 s while `$DPKG_ROOT/slow-postinst` exists (time to kill the updater in the middle of an install); a preinst that
   * takes 30 s while `$DPKG_ROOT/slow-preinst` exists (a power cut there leaves the package half-installed).
   */
  readonly flakyPostinst?: boolean;
  /** One more file it installs (relative to the root): another package owning it too makes a file conflict. */
  readonly extraFile?: string;
  /** Not a Teleport build: it installs only its extra file, no /usr/local/bin/teleport. */
  readonly notTeleport?: boolean;
}

/** Each fake installs /usr/local/bin/teleport, which prints its version like the real one. */
export const buildDeb = async (
  work: string,
  repo: string,
  { name, version, depends, flakyPostinst, extraFile, notTeleport }: FakePackage,
): Promise<void> => {
  const dir = join(work, `${name}-${version}`);
  await mkdir(join(dir, 'DEBIAN'), { recursive: true });
  await mkdir(join(dir, 'usr/local/bin'), { recursive: true });
  await writeFile(
    join(dir, 'DEBIAN/control'),
    `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\n${depends ? `Depends: ${depends}\n` : ''}Maintainer: tests <tests@example.invalid>\nDescription: fake Teleport for tests\n`,
  );
  const semver = version.replace(/-\d+$/, '').replace('~', '-');
  if (!notTeleport) {
    await writeFile(
      join(dir, 'usr/local/bin/teleport'),
      `#!/bin/sh\nif [ "$2" = "--raw" ]; then echo "${semver}"; else echo "Teleport v${semver} git:fake go1.22"; fi\n`,
    );
    await chmod(join(dir, 'usr/local/bin/teleport'), 0o755);
  }
  if (extraFile !== undefined) {
    await mkdir(join(dir, extraFile, '..'), { recursive: true });
    await writeFile(join(dir, extraFile), `${name} ${version}\n`);
  }
  if (flakyPostinst) {
    await writeFile(
      join(dir, 'DEBIAN/postinst'),
      '#!/bin/sh\n[ -e "$DPKG_ROOT/slow-postinst" ] && sleep 30\n[ -e "$DPKG_ROOT/fail-postinst" ] && exit 1\nexit 0\n',
    );
    await chmod(join(dir, 'DEBIAN/postinst'), 0o755);
    await writeFile(join(dir, 'DEBIAN/preinst'), '#!/bin/sh\n[ -e "$DPKG_ROOT/slow-preinst" ] && sleep 30\nexit 0\n');
    await chmod(join(dir, 'DEBIAN/preinst'), 0o755);
  }
  await sh('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', dir, join(repo, `${name}_${version.replace(':', '%3a')}_amd64.deb`)]);
};

/** A flat repository (`deb [trusted=yes] file:REPO ./`) holding the given packages. */
export const buildDebRepo = async (work: string, packages: readonly FakePackage[]): Promise<string> => {
  const repo = join(work, 'teleport-repo');
  await mkdir(repo, { recursive: true });
  await Promise.all(packages.map((p) => buildDeb(join(work, 'build'), repo, p)));
  await writeFile(join(repo, 'Packages'), await sh('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: repo }));
  return repo;
};
