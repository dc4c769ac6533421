// Builds the teleport-ent-updater .deb (dpkg-deb) and .rpm (rpmbuild) around the standalone binary, under dist/packages.
import { execa } from 'execa';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildBinary } from './build-binary.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const NAME = 'teleport-ent-updater';
const SUMMARY = 'updater for Teleport agents (Managed Updates v1)';
const DESCRIPTION = 'Installs the Teleport version the cluster advertises, inside its maintenance windows, through apt, yum/dnf or zypper.';

export const EXAMPLE_HOOKS = ['mail', 'webhook'] as const;

const packageVersion = async (): Promise<string> =>
  (JSON.parse(await readFile(`${root}/package.json`, 'utf8')) as { version: string }).version;

/** A maintainer script from scripts/pkg with the shared logic pasted in where it says `#@maintainer-lib`. */
const maintainerScript = async (name: string): Promise<string> => {
  const [script, lib] = await Promise.all([
    readFile(`${root}/scripts/pkg/${name}`, 'utf8'),
    readFile(`${root}/scripts/pkg/maintainer-lib.sh`, 'utf8'),
  ]);
  if (!script.includes('#@maintainer-lib\n')) throw new Error(`scripts/pkg/${name} lacks the #@maintainer-lib line`);
  return script.replace('#@maintainer-lib\n', lib);
};

/**
 * The installed tree, the same for both formats but for the unit directory: the binary, the units, the teleport.service
 * drop-in (with this updater's version, which the agent reports to the cluster), the config dir, the man page and the README.
 */
const stageTree = async (stage: string, binary: string, unitDir: string, version: string): Promise<void> => {
  await rm(stage, { recursive: true, force: true });
  const dirs = [
    'usr/sbin',
    `${unitDir}/teleport.service.d`,
    'etc/teleport-upgrade.d',
    'usr/share/man/man8',
    `usr/share/doc/${NAME}/examples/hooks`,
  ];
  await Promise.all(dirs.map((d) => mkdir(join(stage, d), { recursive: true })));
  await copyFile(binary, join(stage, 'usr/sbin/teleport-upgrade'));
  await chmod(join(stage, 'usr/sbin/teleport-upgrade'), 0o755);
  for (const unit of ['teleport-upgrade.service', 'teleport-upgrade.timer'])
    await copyFile(`${root}/systemd/${unit}`, join(stage, unitDir, unit));
  const dropIn = await readFile(`${root}/systemd/teleport-upgrader-env.conf`, 'utf8');
  await writeFile(
    join(stage, unitDir, 'teleport.service.d/teleport-upgrader-env.conf'),
    `${dropIn}Environment="TELEPORT_EXT_UPGRADER_VERSION=v${version}"\n`,
  );
  await writeFile(
    join(stage, 'usr/share/man/man8/teleport-upgrade.8.gz'),
    gzipSync(await readFile(`${root}/man/teleport-upgrade.8`), { level: 9 }),
  );
  await copyFile(`${root}/README.md`, join(stage, `usr/share/doc/${NAME}/README.md`));
  // Example hooks, not enabled: an operator copies one into /etc/teleport-upgrade.d/hooks.d.
  for (const hook of EXAMPLE_HOOKS) {
    await copyFile(`${root}/scripts/pkg/examples/hooks/${hook}`, join(stage, `usr/share/doc/${NAME}/examples/hooks/${hook}`));
    await chmod(join(stage, `usr/share/doc/${NAME}/examples/hooks/${hook}`), 0o755);
  }
  // Example window and freeze files, all commented out: an operator copies one to /etc/teleport-upgrade.d and edits it.
  for (const policy of ['window', 'freeze'])
    await copyFile(`${root}/scripts/pkg/examples/${policy}`, join(stage, `usr/share/doc/${NAME}/examples/${policy}`));
};

/** Builds `<dest>/packages/teleport-ent-updater_<version>_amd64.deb` around the binary at `binary`. */
const buildDebFrom = async (binary: string, dest: string, version: string): Promise<string> => {
  const stage = `${dest}/pkg/deb`;
  await stageTree(stage, binary, 'lib/systemd/system', version);
  await mkdir(`${stage}/DEBIAN`);
  for (const script of ['postinst', 'prerm', 'postrm']) {
    await writeFile(`${stage}/DEBIAN/${script}`, await maintainerScript(`deb/${script}`), { mode: 0o755 });
  }
  // No Depends: the binary carries its own Node (and needs only libc and libstdc++, which apt itself needs).
  await writeFile(
    `${stage}/DEBIAN/control`,
    [
      `Package: ${NAME}`,
      `Version: ${version}`,
      'Architecture: amd64',
      'Section: admin',
      'Priority: optional',
      'Maintainer: teleport-upgrade developers <dev@teleport-upgrade.invalid>',
      `Description: ${SUMMARY}`,
      ` ${DESCRIPTION}`,
      '',
    ].join('\n'),
  );
  const out = `${dest}/packages/${NAME}_${version}_amd64.deb`;
  await mkdir(`${dest}/packages`, { recursive: true });
  await execa('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '--build', stage, out]);
  return out;
};

const rpmSpec = async (version: string, stage: string): Promise<string> =>
  [
    `Name: ${NAME}`,
    `Version: ${version}`,
    'Release: 1',
    `Summary: ${SUMMARY}`,
    'License: Apache-2.0',
    'BuildArch: x86_64',
    // Requires are generated from the binary (glibc, libstdc++); it provides nothing other packages should link against.
    'AutoProv: no',
    // The binary is already stripped, and stripping it again or splitting debuginfo would break the injected script.
    '%global debug_package %{nil}',
    '%global __os_install_post %{nil}',
    '%define _build_id_links none',
    // gzip: every rpm that can run the binary (EL8 and later, SLES 15) reads it.
    '%define _binary_payload w1.gzdio',
    '%description',
    DESCRIPTION,
    '%install',
    `cp -a ${stage}/. %{buildroot}/`,
    '%files',
    '%defattr(-,root,root,-)',
    '/usr/sbin/teleport-upgrade',
    '/usr/lib/systemd/system/teleport-upgrade.service',
    '/usr/lib/systemd/system/teleport-upgrade.timer',
    '/usr/lib/systemd/system/teleport.service.d',
    '%dir /etc/teleport-upgrade.d',
    '%doc /usr/share/doc/teleport-ent-updater/README.md',
    '%doc /usr/share/doc/teleport-ent-updater/examples',
    '/usr/share/man/man8/teleport-upgrade.8.gz',
    '%post',
    await maintainerScript('rpm/post'),
    '%preun',
    await maintainerScript('rpm/preun'),
    '%postun',
    await maintainerScript('rpm/postun'),
    '',
  ].join('\n');

/** Builds `<dest>/packages/teleport-ent-updater-<version>-1.x86_64.rpm` around the binary at `binary`. */
const buildRpmFrom = async (binary: string, dest: string, version: string): Promise<string> => {
  const work = `${dest}/pkg/rpm`;
  const stage = `${work}/tree`;
  await stageTree(stage, binary, 'usr/lib/systemd/system', version);
  await writeFile(`${work}/${NAME}.spec`, await rpmSpec(version, stage));
  await mkdir(`${dest}/packages`, { recursive: true });
  await execa(
    'rpmbuild',
    [
      '-bb',
      '--quiet',
      '--define',
      `_topdir ${work}/rpmbuild`,
      '--define',
      `_rpmdir ${dest}/packages`,
      '--define',
      '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
      `${work}/${NAME}.spec`,
    ],
    // rpmbuild reads ~/.rpmmacros; a HOME of its own keeps a developer's macros out of the package.
    { env: { HOME: work } },
  );
  return `${dest}/packages/${NAME}-${version}-1.x86_64.rpm`;
};

/** Builds the binary (unless one is given) and both packages under `dest` (tests pass a directory of their own). */
export const buildPackages = async (dest = `${root}/dist`, prebuilt?: string): Promise<{ deb: string; rpm: string }> => {
  const [binary, version] = await Promise.all([prebuilt ?? buildBinary(dest), packageVersion()]);
  const [deb, rpm] = await Promise.all([buildDebFrom(binary, dest, version), buildRpmFrom(binary, dest, version)]);
  return { deb, rpm };
};

if (import.meta.main) {
  const started = performance.now();
  const { deb, rpm } = await buildPackages();
  console.log(`${deb}\n${rpm}\nbuilt in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
