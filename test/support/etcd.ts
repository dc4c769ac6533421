// A real etcd on loopback for the FleetLock tests: its own data dir and ports, its v3 JSON gateway, stopped with the test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { freePort } from './free-port.ts';

export interface Etcd {
  /** `http://127.0.0.1:PORT`, the client URL. */
  readonly url: string;
  /** The value at `key` and its version (0: no such key). */
  get(key: string): Promise<{ value: string | undefined; version: number }>;
  /** Puts `value` at `key` if its version is still `version` (0: create it); whether it did. */
  putIfVersion(key: string, value: string, version: number): Promise<boolean>;
  close(): Promise<void>;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

export const startEtcd = async (): Promise<Etcd> => {
  const dir = await mkdtemp(join(tmpdir(), 'teleport-upgrade-etcd-'));
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const process: ResultPromise = execa(
    'etcd',
    [
      '--name=test',
      `--data-dir=${join(dir, 'data')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=test=${peerUrl}`,
      '--log-level=error',
    ],
    { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' },
  );
  const call = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`etcd ${path}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, unknown>;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const healthy = await fetch(`${url}/health`)
      .then(async (r) => ((await r.json()) as { health?: string }).health === 'true')
      .catch(() => false);
    if (healthy) break;
    if (process.exitCode !== null || Date.now() > deadline) {
      process.kill();
      throw new Error(`etcd did not start: ${String((await process).stderr).slice(-2000)}`);
    }
    await sleep(100);
  }
  return {
    url,
    get: async (key) => {
      const answer = await call('/v3/kv/range', { key: b64(key) });
      const kv = (answer.kvs as Array<{ value?: string; version?: string }> | undefined)?.[0];
      return kv === undefined
        ? { value: undefined, version: 0 }
        : { value: Buffer.from(kv.value ?? '', 'base64').toString(), version: Number(kv.version) };
    },
    putIfVersion: async (key, value, version) => {
      const answer = await call('/v3/kv/txn', {
        compare: [{ key: b64(key), target: 'VERSION', result: 'EQUAL', version: String(version) }],
        success: [{ requestPut: { key: b64(key), value: b64(value) } }],
      });
      return answer.succeeded === true;
    },
    close: async () => {
      process.kill();
      await process;
      await rm(dir, { recursive: true, force: true });
    },
  };
};
