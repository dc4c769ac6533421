// Newer distributions' package tools, for real: Debian sid (dnf5 as dnf, rpm 6, zypper, apt 3.3) and trixie (apt 3.0),
// debootstrapped once into a cache, each test in a copy-on-write view of one, the updater chrooted into it.
import { execa } from 'execa';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BUNDLE } from '../../bin/teleport-upgrade.ts';
import { cachedFixture, fixtureKey } from './fixture-cache.ts';
import { privateMounts } from './mount-namespace.ts';
import { makeRpmHome } from './rpm-root.ts';
import { writeRecordingShims } from './recording.ts';
import { FIXTURE_BIN } from './sandbox.ts';
import { sh } from './tools.ts';

export type Distro = 'sid' | 'trixie';

/** Where the views find the updater: the project's Node and bundle, and the stand-in systemctl, bound in read-only. */
const OPT = '/opt/teleport-upgrade';
const PATH_INSIDE = `${OPT}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

/**
 * The rpm that makes a Debian root an rpm host as far as zypper and dnf care: it provides glibc (zypper refuses every
 * transaction on a root whose rpm database lacks it) and the release version (dnf's releasever).
 */
const RELEASE_SPEC = `Name: test-release
Version: 41
Release: 1
Summary: the release of an rpm host, for tests
License: none
BuildArch: noarch
Provides: glibc
Provides: system-release
Provides: system-release(releasever) = 41
%description
the release of an rpm host, for tests
%files
`;

const buildReleaseRpm = async (work: string): Promise<string> => {
  const home = await makeRpmHome(join(work, 'home'));
  await writeFile(join(work, 'release.spec'), RELEASE_SPEC);
  await sh(
    'rpmbuild',
    [
      '-bb',
      '--quiet',
      '--define',
      `_topdir ${join(work, 'rpmbuild')}`,
      '--define',
      `_rpmdir ${work}`,
      '--define',
      '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
      join(work, 'release.spec'),
    ],
    { env: { HOME: home } },
  );
  return join(work, 'test-release-41-1.noarch.rpm');
};

/** Bump when a recipe's setup changes: the roots are keyed by it, the suites and the packages, not by this file's code. */
const RECIPE_VERSION = 1;

interface Recipe {
  readonly suite: string;
  readonly include: readonly string[];
  /** Makes the fresh tree the host it stands for. */
  readonly setup: (root: string, work: string) => Promise<void>;
}

const RECIPES: Readonly<Record<Distro, Recipe>> = {
  sid: {
    suite: 'sid',
    include: ['dnf5', 'rpm', 'zypper', 'ca-certificates'],
    setup: async (root, work) => {
      // Fedora 41 and later: dnf is dnf5.
      await sh('ln', ['-s', 'dnf5', join(root, 'usr/bin/dnf')]);
      // Debian enables libdnf5's "local" plugin, which adds a repository without metadata; Fedora does not ship it.
      await sh('sed', ['-i', 's/^enabled = .*/enabled = 0/', join(root, 'etc/dnf/libdnf5-plugins/local.conf')]);
      const release = await buildReleaseRpm(work);
      await sh('cp', [release, join(root, 'tmp/release.rpm')]);
      await inRoot(root, ['rpm', '-i', '--nodeps', '/tmp/release.rpm']);
      await rm(join(root, 'tmp/release.rpm'));
    },
  },
  trixie: { suite: 'trixie', include: ['ca-certificates'], setup: async () => undefined },
};

/** Runs a command chrooted in `root` (no overlay), with /proc and /dev, in a private mount namespace. */
const inRoot = (root: string, argv: readonly string[]) =>
  sh(
    'unshare',
    privateMounts('mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" && r=$1 && shift && exec chroot "$r" "$@"', [root, ...argv]),
  );

/**
 * The tree of `distro` under `cache`, built when missing (one to two minutes; a few hundred MB): debootstrap, then the
 * recipe (see cachedFixture).
 */
export const distroRoot = async (distro: Distro, cache: string, mirror: string): Promise<string> => {
  const recipe = RECIPES[distro];
  const key = fixtureKey(
    `${distro}-root`,
    { suite: recipe.suite, include: recipe.include, release: RELEASE_SPEC, version: RECIPE_VERSION },
    [],
  );
  return cachedFixture(
    key,
    async (dir) => {
      await sh('debootstrap', ['--variant=minbase', `--include=${recipe.include.join(',')}`, recipe.suite, join(dir, 'root'), mirror]);
      await recipe.setup(join(dir, 'root'), dir);
      for (const mountPoint of ['node', 'bundle', 'bin', 'recording']) await mkdir(join(dir, 'root', OPT, mountPoint), { recursive: true });
    },
    cache,
  );
};

export interface Exec {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One test's view of a distribution's root: its own writable layer over the shared tree. */
export interface RootView {
  readonly distro: Distro;
  /** Where the test's changes land (files written here appear in the view). */
  readonly upper: string;
  /** Writes a file into the view (a path inside the root). */
  write(path: string, text: string, mode?: number): Promise<void>;
  /**
   * Runs argv inside the view, chrooted, as root, with a clean environment plus `env`; PATH starts with the recording
   * shims when `record` is set, then the stand-in systemctl. Rejects on a non-zero exit unless `reject` is false.
   */
  exec(argv: readonly string[], options?: { env?: Record<string, string>; reject?: boolean; record?: boolean }): Promise<Exec>;
  /** The updater inside the view: the project's Node running the bundle. */
  cli(args: readonly string[], env?: Record<string, string>, options?: { record?: boolean }): Promise<Exec>;
  close(): Promise<void>;
}

/**
 * Each exec mounts the overlay afresh in a mount namespace of its own, so nothing stays mounted: a killed test leaves
 * only files behind. Node, the bundle, the stand-ins and the recording shims are bound in read-only.
 */
const SCRIPT = `set -e
lower=$1 upper=$2 work=$3 mnt=$4 node=$5 bundle=$6 bin=$7 recording=$8
shift 8
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$mnt"
mount -t proc proc "$mnt/proc"
mount --rbind /dev "$mnt/dev"
for pair in "node:$node" "bundle:$bundle" "bin:$bin" "recording:$recording"; do
  mount --bind -o ro "\${pair#*:}" "$mnt${OPT}/\${pair%%:*}"
done
exec chroot "$mnt" "$@"`;

export const openView = async (distro: Distro, tree: string, dir: string): Promise<RootView> => {
  const [upper, work, mnt, recording] = ['upper', 'work', 'mnt', 'recording'].map((name) => join(dir, name)) as [
    string,
    string,
    string,
    string,
  ];
  await Promise.all([upper, work, mnt, recording].map((d) => mkdir(d, { recursive: true })));
  const nodeDir = dirname(process.execPath);
  const exec: RootView['exec'] = async (argv, options = {}) => {
    const path = options.record ? `${OPT}/recording:${PATH_INSIDE}` : PATH_INSIDE;
    const env = [
      'env',
      '-i',
      `PATH=${path}`,
      'HOME=/root',
      'LANG=C.UTF-8',
      'DEBIAN_FRONTEND=noninteractive',
      ...Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
    ];
    const result = await execa(
      'unshare',
      privateMounts(SCRIPT, [join(tree, 'root'), upper, work, mnt, nodeDir, dirname(BUNDLE), FIXTURE_BIN, recording, ...env, ...argv]),
      { reject: false, stdin: 'ignore', timeout: 180_000 },
    );
    const out = { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    if (options.reject !== false && out.exitCode !== 0)
      throw new Error(`${argv.join(' ')} in ${distro} failed (${out.exitCode}): ${out.stderr}${out.stdout}`);
    return out;
  };
  return {
    distro,
    upper,
    write: async (path, text, mode = 0o644) => {
      const file = join(upper, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, text);
      await chmod(file, mode);
    },
    exec,
    cli: (args, env = {}, options = {}) =>
      exec([`${OPT}/node/${process.execPath.split('/').at(-1)}`, '--liftoff-only', `${OPT}/bundle/${BUNDLE.split('/').at(-1)}`, ...args], {
        env,
        reject: false,
        ...options,
      }),
    close: () => rm(dir, { recursive: true, force: true }),
  };
};

/** Recording shims for `exec(…, { record: true })`: each appends its argv to /var/log/argv.log in the view, then runs the real tool. */
export const writeViewRecordingShims = (view: RootView): Promise<void> =>
  writeRecordingShims(join(dirname(view.upper), 'recording'), '/var/log/argv.log', `${OPT}/recording`);
