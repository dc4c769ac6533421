// The rpm hosts' suite on real zypper; see rpm-hosts.ts.
import { rpmHostsSuite } from './rpm-hosts.ts';

rpmHostsSuite('zypper');
