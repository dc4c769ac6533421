// A throwaway certificate authority and a server certificate for 127.0.0.1/localhost, made with openssl.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sh } from './tools.ts';

export interface TestTls {
  readonly caFile: string;
  readonly key: string;
  readonly cert: string;
}

export const makeTestTls = async (dir: string): Promise<TestTls> => {
  const f = (name: string) => join(dir, name);
  await sh('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=teleport-upgrade test CA',
  ]);
  await sh('openssl', [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
    '-subj',
    '/CN=localhost',
  ]);
  await writeFile(f('ext'), 'subjectAltName=DNS:localhost,DNS:updates.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await sh('openssl', [
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.crt'),
    '-days',
    '2',
    '-extfile',
    f('ext'),
  ]);
  return { caFile: f('ca.crt'), key: await readFile(f('server.key'), 'utf8'), cert: await readFile(f('server.crt'), 'utf8') };
};
