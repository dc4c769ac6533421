// Runs the tools the tests build fixtures with, and says which are missing.
import { execa } from 'execa';

export const sh = async (file: string, args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}) => {
  const result = await execa(file, args, { ...options, reject: false, stdin: 'ignore' });
  if (result.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} failed (${result.exitCode}): ${result.stderr}`);
  return result.stdout;
};

const have = async (tool: string): Promise<boolean> => (await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode === 0;

/**
 * The reason a real-apt test cannot run here, or undefined when it can. Under CI a missing tool is an
 * error, not a skip: .ci/run installs every tool, so nothing may skip there.
 */
export const aptMissing = async (): Promise<string | undefined> => {
  for (const tool of ['dpkg-deb', 'dpkg-scanpackages', 'apt-get', 'openssl', 'perl']) {
    if (!(await have(tool))) {
      const reason = `${tool} is not installed (.ci/run installs it)`;
      if (process.env.CI === 'true') throw new Error(`CI must not skip tests: ${reason}`);
      return reason;
    }
  }
  return undefined;
};

/** The same for real dnf and zypper tests (rpm, rpmbuild, createrepo_c, dnf, zypper). */
export const rpmMissing = async (): Promise<string | undefined> => {
  for (const tool of ['rpm', 'rpmbuild', 'createrepo_c', 'dnf', 'zypper']) {
    if (!(await have(tool))) {
      const reason = `${tool} is not installed (.ci/run installs it)`;
      if (process.env.CI === 'true') throw new Error(`CI must not skip tests: ${reason}`);
      return reason;
    }
  }
  return undefined;
};
