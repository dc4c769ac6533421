// A throwaway apt/dpkg root driven through APT_CONFIG, so real apt-get never touches the host's database, lists or logs.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sh } from './tools.ts';

export interface AptRoot {
  readonly root: string;
  /** APT_CONFIG, DPKG_ROOT and DPKG_ADMINDIR for every process that should see this root. */
  readonly env: Readonly<Record<string, string>>;
}

/** Creates the root (approach A of the field report) with `repo` as its Teleport source in sources.list.d/teleport.list. */
export const makeAptRoot = async (root: string, repo: string): Promise<AptRoot> => {
  const dirs = [
    'etc/apt/apt.conf.d',
    'etc/apt/sources.list.d',
    'etc/apt/preferences.d',
    'etc/apt/trusted.gpg.d',
    'var/lib/apt/lists/partial',
    'var/cache/apt/archives/partial',
    'var/log/apt',
    'var/lib/dpkg/info',
    'var/lib/dpkg/updates',
    'var/lib/dpkg/triggers',
    'var/lib/dpkg/alternatives',
    'usr/local/bin',
  ];
  await Promise.all(dirs.map((d) => mkdir(join(root, d), { recursive: true })));
  await chmod(root, 0o755);
  await writeFile(join(root, 'var/lib/dpkg/status'), '');
  await writeFile(join(root, 'var/lib/dpkg/available'), '');
  await writeFile(join(root, 'etc/apt/sources.list'), '');
  await writeFile(join(root, 'etc/apt/sources.list.d/teleport.list'), `deb [trusted=yes] file:${repo} ./\n`);
  await writeFile(
    join(root, 'apt.conf'),
    [
      `Dir "${root}/";`,
      `Dir::State::status "${root}/var/lib/dpkg/status";`,
      `Dir::Log "${root}/var/log/apt";`,
      `Dir::Etc::Trusted "${root}/etc/apt/trusted.gpg";`,
      `Dir::Etc::TrustedParts "${root}/etc/apt/trusted.gpg.d";`,
      'APT::Architecture "amd64";',
      'APT::Architectures { "amd64"; };',
      'APT::Sandbox::User "root";',
      `DPkg::Options { "--root=${root}"; "--admindir=${root}/var/lib/dpkg"; "--log=${root}/var/log/dpkg.log"; "--force-script-chrootless"; };`,
      'DPkg::Use-Pty "false";',
      '',
    ].join('\n'),
  );
  return {
    root,
    env: { APT_CONFIG: join(root, 'apt.conf'), DPKG_ROOT: root, DPKG_ADMINDIR: join(root, 'var/lib/dpkg') },
  };
};

/** Refreshes the root's lists and installs `pkg=version` with real apt-get. */
export const aptInstall = async (apt: AptRoot, spec: string): Promise<void> => {
  await sh('apt-get', ['update', '-qq'], { env: { ...apt.env } });
  await sh('apt-get', ['install', '-y', '-qq', '--allow-downgrades', spec], { env: { ...apt.env, DEBIAN_FRONTEND: 'noninteractive' } });
};

/** `name\tStatus\tVersion` of a package in the root, or '' when dpkg does not know it. */
export const dpkgStatus = async (apt: AptRoot, pkg: string): Promise<string> => {
  const { execa } = await import('execa');
  const result = await execa('dpkg-query', ['-W', '-f', '${Status}\t${Version}', pkg], { env: { ...apt.env }, reject: false });
  return result.exitCode === 0 ? result.stdout : '';
};
