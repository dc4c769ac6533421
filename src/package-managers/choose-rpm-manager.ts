// Which manager acts on an rpm host that may have both dnf/yum and zypper: a pure choice over what the host says.

/** What the choice is made from. `repo` is the Teleport repository each installed manager's configuration names. */
export interface RpmHostFacts {
  readonly has: { readonly dnf: boolean; readonly yum: boolean; readonly zypper: boolean };
  readonly repo: { readonly yum?: string | undefined; readonly zypper?: string | undefined };
  /** The text of /etc/os-release, when readable. */
  readonly osRelease: string | undefined;
}

export interface RpmChoice {
  readonly installer: 'yum' | 'zypper';
  /** The sentence that says which rule decided, for the log. */
  readonly rule: string;
}

const SUSE = /^(suse|sles|sled|opensuse.*)$/;
const RED_HAT = /^(rhel|fedora|centos|rocky|almalinux|amzn|ol|cloudlinux|eurolinux)$/;

/** ID then ID_LIKE of an os-release file, lower-case, unquoted. */
export const osIds = (text: string | undefined): string[] => {
  const field = (name: string) =>
    new RegExp(`^${name}=(.*)$`, 'm')
      .exec(text ?? '')?.[1]
      ?.trim()
      .replace(/^(["'])(.*)\1$/, '$2') ?? '';
  return [field('ID'), ...field('ID_LIKE').split(/\s+/)].map((id) => id.toLowerCase()).filter(Boolean);
};

/**
 * The first rule that tells: the manager whose repository configuration has the Teleport repository; then the
 * distribution (os-release ID, then ID_LIKE); then the only one installed. With both installed and nothing else to
 * tell, yum/dnf (the installer file decides).
 */
export const chooseRpmManager = ({ has, repo, osRelease }: RpmHostFacts): RpmChoice => {
  const yumTool = has.dnf ? 'dnf' : 'yum';
  const hasYum = has.dnf || has.yum;
  if (!hasYum || !has.zypper) {
    const installer = has.zypper ? 'zypper' : 'yum';
    return { installer, rule: `${installer === 'zypper' ? 'zypper' : yumTool} is the only rpm package manager installed` };
  }
  if ((repo.yum === undefined) !== (repo.zypper === undefined)) {
    const [installer, tool, name] =
      repo.yum !== undefined ? (['yum', yumTool, repo.yum] as const) : (['zypper', 'zypper', repo.zypper!] as const);
    return {
      installer,
      rule: `both ${yumTool} and zypper are installed; only ${tool}'s repository configuration has the Teleport repository (${name})`,
    };
  }
  for (const id of osIds(osRelease)) {
    if (SUSE.test(id))
      return { installer: 'zypper', rule: `both ${yumTool} and zypper are installed; the distribution is ${id} (/etc/os-release)` };
    if (RED_HAT.test(id))
      return { installer: 'yum', rule: `both ${yumTool} and zypper are installed; the distribution is ${id} (/etc/os-release)` };
  }
  return {
    installer: 'yum',
    rule: `both ${yumTool} and zypper are installed and neither their repositories nor /etc/os-release tell which manages Teleport; using ${yumTool} (write zypper to the installer file to choose it)`,
  };
};
