// The rpm hosts' suite on real dnf (also as yum); see rpm-hosts.ts.
import { rpmHostsSuite } from './rpm-hosts.ts';

rpmHostsSuite('dnf');
