// Fake Teleport rpms, a repository of them, and per-test rpm roots that real dnf (also as yum) and zypper act on through PATH shims.
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { sh } from './tools.ts';

export interface FakeRpm {
  readonly name: string;
  /** rpm version (`1.3.0_beta.1` for semver `1.3.0-beta.1`); the release is always 1. */
  readonly version: string;
  readonly requires?: string;
  /** One more file it installs (absolute): another package owning it too makes a file conflict. */
  readonly extraFile?: string;
  /** Not a Teleport build: it installs only its extra file. */
  readonly notTeleport?: boolean;
  /**
   * A %post that creates /post-started and then waits for /post-may-finish, so a test can kill the updater in the
   * middle of the transaction. It is Lua, which rpm runs itself: the test roots have no shell.
   */
  readonly waitingPost?: boolean;
}

const SPEC = `Name: %{pkgname}
Version: %{pkgver}
Release: 1
Summary: fake Teleport for tests
License: none
BuildArch: x86_64
AutoReqProv: no
%{?pkgrequires:Requires: %{pkgrequires}}
%description
fake Teleport for tests
%install
%if 0%{!?pkgnobin:1}
mkdir -p %{buildroot}/usr/local/bin
printf '#!/bin/sh\\necho %{pkgver}\\n' > %{buildroot}/usr/local/bin/teleport
chmod 755 %{buildroot}/usr/local/bin/teleport
%endif
%if 0%{?pkgextra:1}
mkdir -p %{buildroot}$(dirname %{pkgextra})
echo %{pkgname} %{pkgver} > %{buildroot}%{pkgextra}
%endif
%if 0%{?pkgwaitpost:1}
%post -p <lua>
io.open("/post-started", "w"):close()
while not posix.access("/post-may-finish") do posix.sleep(1) end
%endif
%files
%if 0%{!?pkgnobin:1}
/usr/local/bin/teleport
%endif
%if 0%{?pkgextra:1}
%{pkgextra}
%endif
`;

/** A test HOME whose .rpmmacros puts the rpm database at /var/lib/rpm inside any root (Debian's default follows $HOME). */
export const makeRpmHome = async (home: string): Promise<string> => {
  await mkdir(home, { recursive: true });
  await writeFile(join(home, '.rpmmacros'), '%_dbpath /var/lib/rpm\n');
  return home;
};

export const buildRpmRepo = async (work: string, packages: readonly FakeRpm[]): Promise<string> => {
  const repo = join(work, 'teleport-rpm-repo');
  const home = await makeRpmHome(join(work, 'rpm-home'));
  await mkdir(repo, { recursive: true });
  await writeFile(join(work, 'fake.spec'), SPEC);
  for (const p of packages) {
    await sh(
      'rpmbuild',
      [
        '-bb',
        '--quiet',
        '--define',
        `_topdir ${join(work, 'rpmbuild')}`,
        '--define',
        `pkgname ${p.name}`,
        '--define',
        `pkgver ${p.version}`,
        ...(p.requires ? ['--define', `pkgrequires ${p.requires}`] : []),
        ...(p.extraFile ? ['--define', `pkgextra ${p.extraFile}`] : []),
        ...(p.notTeleport ? ['--define', 'pkgnobin 1'] : []),
        ...(p.waitingPost ? ['--define', 'pkgwaitpost 1'] : []),
        '--define',
        `_rpmdir ${repo}`,
        '--define',
        '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
        join(work, 'fake.spec'),
      ],
      { env: { HOME: home } },
    );
  }
  await sh('createrepo_c', ['-q', repo]);
  return repo;
};

export type RpmKind = 'dnf' | 'zypper';

export interface RpmRoot {
  readonly root: string;
  /** The shims: rpm, dnf and yum, and zypper. */
  readonly bin: string;
  readonly env: Readonly<Record<string, string>>;
  /** Runs a command as the updater would, against this root. */
  run(file: string, args: readonly string[]): Promise<string>;
  /** `version-release` of an installed package, or '' when rpm does not know it. */
  status(pkg: string): Promise<string>;
}

const shim = async (bin: string, name: string, text: string) => {
  await writeFile(join(bin, name), `#!/bin/sh\n${text}\n`);
  await chmod(join(bin, name), 0o755);
};

/** A root with the repository configured as `teleport` for `kind`; `dnf`, `yum` (dnf), `rpm` and `zypper` on PATH act on it. */
export const makeRpmRoot = async (dir: string, repo: string, kind: RpmKind): Promise<RpmRoot> => {
  const root = join(dir, 'rpmroot');
  const bin = join(dir, 'rpmbin');
  await Promise.all([
    mkdir(join(root, 'etc/yum.repos.d'), { recursive: true }),
    mkdir(join(root, 'var/log'), { recursive: true }),
    mkdir(bin, { recursive: true }),
  ]);
  const home = await makeRpmHome(join(dir, 'rpm-home'));
  // --force-debian: Debian's rpm refuses direct installs without it; rpm on an rpm host has no such check.
  await shim(bin, 'rpm', 'exec /usr/bin/rpm --root "${PM_TEST_ROOT:?}" --force-debian "$@"');
  // Both managers, on the one root and its one rpm database, as on a host that has both installed: which one the
  // updater picks is the repository configuration's to tell (the Teleport repository is configured for `kind` only).
  await shim(
    bin,
    'dnf',
    'exec /usr/bin/dnf --installroot="${PM_TEST_ROOT:?}" --releasever=9 --setopt=reposdir="${PM_TEST_ROOT}/etc/yum.repos.d" "$@"',
  );
  await symlink('dnf', join(bin, 'yum'));
  await shim(bin, 'zypper', 'ZYPP_LOGFILE="${PM_TEST_ROOT:?}/var/log/zypper.log" exec /usr/bin/zypper --root "${PM_TEST_ROOT}" "$@"');
  const env = { PATH: `${bin}:${process.env.PATH}`, PM_TEST_ROOT: root, HOME: home };
  const run = async (file: string, args: readonly string[]) => sh(file, args, { env });
  if (kind === 'dnf') {
    await writeFile(
      join(root, 'etc/yum.repos.d/teleport.repo'),
      `[teleport]\nname=Teleport\nbaseurl=file://${repo}\ngpgcheck=0\nenabled=1\n`,
    );
  } else {
    await run('zypper', ['--non-interactive', '--quiet', 'addrepo', '--no-gpgcheck', '--refresh', `file://${repo}`, 'teleport']);
  }
  return {
    root,
    bin,
    env,
    run,
    status: async (pkg) => {
      const result = await execa('rpm', ['-q', '--qf', '%{VERSION}-%{RELEASE}', pkg], { env, reject: false });
      return result.exitCode === 0 ? result.stdout : '';
    },
  };
};
