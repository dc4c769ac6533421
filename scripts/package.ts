// Builds dist/packages/teleport-ent-updater_<version>_amd64.deb with dpkg-deb, around the standalone binary.
import { execa } from 'execa';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildBinary } from './build-binary.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Builds the .deb under `<dest>/packages`, with the binary built under `dest` too. */
export const buildDeb = async (dest = `${root}/dist`): Promise<string> => {
  const { version } = JSON.parse(await readFile(`${root}/package.json`, 'utf8')) as { version: string };
  const stage = `${dest}/pkg/deb`;
  await rm(stage, { recursive: true, force: true });
  const dirs = ['DEBIAN', 'usr/sbin', 'lib/systemd/system/teleport.service.d', 'etc/teleport-upgrade.d', 'usr/share/doc/teleport-ent-updater'];
  await Promise.all(dirs.map((d) => mkdir(`${stage}/${d}`, { recursive: true })));
  await copyFile(await buildBinary(dest), `${stage}/usr/sbin/teleport-upgrade`);
  await chmod(`${stage}/usr/sbin/teleport-upgrade`, 0o755);
  for (const unit of ['teleport-upgrade.service', 'teleport-upgrade.timer']) await copyFile(`${root}/systemd/${unit}`, `${stage}/lib/systemd/system/${unit}`);
  await copyFile(`${root}/systemd/teleport-upgrader-env.conf`, `${stage}/lib/systemd/system/teleport.service.d/teleport-upgrader-env.conf`);
  await copyFile(`${root}/README.md`, `${stage}/usr/share/doc/teleport-ent-updater/README.md`);
  for (const script of ['postinst', 'prerm', 'postrm']) {
    await copyFile(`${root}/scripts/deb/${script}`, `${stage}/DEBIAN/${script}`);
    await chmod(`${stage}/DEBIAN/${script}`, 0o755);
  }
  // No Depends: the binary carries its own Node, and any Teleport package version will do.
  await writeFile(`${stage}/DEBIAN/control`, [
    'Package: teleport-ent-updater', `Version: ${version}`, 'Architecture: amd64', 'Section: admin', 'Priority: optional',
    'Maintainer: teleport-upgrade developers <dev@teleport-upgrade.invalid>',
    'Description: updater for Teleport agents (Managed Updates v1)',
    ' Installs the Teleport version the cluster advertises, inside its maintenance windows, through apt, yum/dnf or zypper.',
    '',
  ].join('\n'));
  const out = `${dest}/packages/teleport-ent-updater_${version}_amd64.deb`;
  await mkdir(`${dest}/packages`, { recursive: true });
  await execa('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '--build', stage, out]);
  return out;
};

if (import.meta.main) console.log(await buildDeb());
