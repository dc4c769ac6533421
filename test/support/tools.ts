// Runs the tools the tests build fixtures with, and says which are missing.
import { execa } from 'execa';

export const sh = async (file: string, args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}) => {
  const result = await execa(file, args, { ...options, reject: false, stdin: 'ignore' });
  if (result.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} failed (${result.exitCode}): ${result.stderr}`);
  return result.stdout;
};

const have = async (tool: string): Promise<boolean> => (await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode === 0;

/**
 * The reason a real-tool test cannot run here, or undefined when it can. Under CI a missing tool is an
 * error, not a skip: .ci/run installs every tool, so nothing may skip there.
 */
const missingTool = async (tools: readonly string[]): Promise<string | undefined> => {
  for (const tool of tools) {
    if (!(await have(tool))) {
      const reason = `${tool} is not installed (.ci/run installs it)`;
      if (process.env.CI === 'true') throw new Error(`CI must not skip tests: ${reason}`);
      return reason;
    }
  }
  return undefined;
};

/** For tests against real apt and dpkg. */
export const aptMissing = () => missingTool(['dpkg-deb', 'dpkg-scanpackages', 'apt-get', 'openssl', 'perl']);

/** For tests against real dnf (also as yum) and zypper. */
export const rpmMissing = () => missingTool(['rpm', 'rpmbuild', 'createrepo_c', 'dnf', 'zypper']);

/** For tests of the systemd units. */
export const systemdMissing = () => missingTool(['systemd-analyze']);

/** For building the standalone binary. */
export const binaryToolsMissing = () => missingTool(['strip']);

/** For checking the man page. */
export const manMissing = () => missingTool(['groff']);

/** For the end-to-end test under systemd-nspawn: it builds and boots a Debian root, which takes root. */
export const nspawnMissing = async (): Promise<string | undefined> => {
  const tool = await missingTool([
    'debootstrap',
    'systemd-nspawn',
    'unshare',
    'nsenter',
    'chroot',
    'dpkg-deb',
    'dpkg-scanpackages',
    'rpmbuild',
    'strip',
  ]);
  if (tool !== undefined || process.getuid?.() === 0) return tool;
  if (process.env.CI === 'true') throw new Error('CI must not skip tests: the systemd end-to-end test must run as root');
  return 'the systemd end-to-end test must run as root (debootstrap, chroot, systemd-nspawn)';
};

/** For the metrics: promtool and node_exporter (Debian's prometheus and prometheus-node-exporter). */
export const prometheusMissing = () => missingTool(['promtool', 'prometheus-node-exporter']);

/** For tests with a real other local account: root, runuser, perl, and Debian's nobody (uid 65534). */
export const localUsersMissing = async (): Promise<string | undefined> => {
  const tool = await missingTool(['runuser', 'perl']);
  if (tool !== undefined) return tool;
  const nobody = (await execa('id', ['-u', 'nobody'], { reject: false })).stdout.trim();
  const why =
    process.getuid?.() !== 0
      ? 'tests with another local account must run as root'
      : nobody !== '65534'
        ? 'this host has no user nobody with uid 65534'
        : undefined;
  if (why !== undefined && process.env.CI === 'true') throw new Error(`CI must not skip tests: ${why}`);
  return why;
};

/** For measuring a process's peak memory. */
export const timeMissing = () => missingTool(['/usr/bin/time']);

/** For watching the order of a process's syscalls. */
export const straceMissing = () => missingTool(['strace']);

/** For the tests on newer distributions' tools: debootstrapped roots, chrooted into through overlays, which takes root. */
export const distroRootsMissing = async (): Promise<string | undefined> => {
  const tool = await missingTool(['debootstrap', 'unshare', 'chroot', 'rpmbuild']);
  if (tool !== undefined || process.getuid?.() === 0) return tool;
  if (process.env.CI === 'true') throw new Error('CI must not skip tests: the tests on newer distributions must run as root');
  return 'the tests on newer distributions must run as root (debootstrap, mount, chroot)';
};

/** For the FleetLock tests: a real etcd (Debian's etcd-server) behind the test lock server. */
export const etcdMissing = () => missingTool(['etcd']);
