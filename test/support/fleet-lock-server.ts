// A FleetLock server for the tests with airlock's semantics (coreos/airlock): per group one semaphore document in one etcd key, changed only by compare-and-swap, with airlock's status codes and error bodies.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Etcd } from './etcd.ts';

/** What the server does with the next requests: answer (airlock), or misbehave. */
export type FleetLockMode = 'airlock' | 'hang' | 'garbage' | 'close' | 'not-json';

export interface FleetLockEvent {
  readonly at: number;
  readonly request: 'pre-reboot' | 'steady-state';
  readonly id: string;
  readonly group: string;
  readonly status: number;
  /** The semaphore's holders after the request. */
  readonly holders: readonly string[];
}

export interface FleetLockServer {
  /** `http://127.0.0.1:PORT/base`, to be written to the fleetlock file. */
  readonly url: string;
  readonly events: FleetLockEvent[];
  /** The most holders any group ever had at once. */
  maxHolders(group?: string): number;
  holders(group?: string): Promise<string[]>;
  mode(mode: FleetLockMode): void;
  close(): Promise<void>;
}

interface Semaphore {
  total_slots: number;
  holders: string[];
}

/** airlock's key for a group's semaphore. */
export const semaphoreKey = (group: string): string => `com.coreos.airlock/groups/${encodeURIComponent(group)}/v1/semaphore`;

class HttpError extends Error {
  readonly code: number;
  readonly kind: string;
  constructor(code: number, kind: string, value: string) {
    super(value);
    this.code = code;
    this.kind = kind;
  }
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
};

/** `groups`: each group's slots (airlock's `[lock]` and `[[lock.groups]]`). The base path is /base: the client appends /v1/... to it. */
export const startFleetLockServer = async (etcd: Etcd, groups: Readonly<Record<string, number>>): Promise<FleetLockServer> => {
  const events: FleetLockEvent[] = [];
  const most = new Map<string, number>();
  let mode: FleetLockMode = 'airlock';
  const sockets = new Set<Socket>();

  const get = async (group: string): Promise<{ sem: Semaphore; version: number }> => {
    const key = semaphoreKey(group);
    // ensureInit: created only where absent (version 0), never overwritten.
    await etcd.putIfVersion(key, JSON.stringify({ total_slots: groups[group], holders: [] }), 0);
    const { value, version } = await etcd.get(key);
    if (value === undefined || version === 0) throw new HttpError(500, 'failed_sem_init', 'key at version 0');
    return { sem: JSON.parse(value) as Semaphore, version };
  };

  const handle = async (
    req: IncomingMessage,
  ): Promise<{ status: number; body?: string; id?: string; group?: string; holders?: string[] }> => {
    const request = req.url === '/base/v1/pre-reboot' ? 'pre-reboot' : req.url === '/base/v1/steady-state' ? 'steady-state' : undefined;
    const text = await readBody(req);
    if (request === undefined || req.method !== 'POST') return { status: 404, body: '404 page not found\n' };
    if (req.headers['fleet-lock-protocol'] !== 'true') {
      throw new HttpError(400, 'invalid_client_identity', "failed to validate client identity: wrong 'fleet-lock-protocol' header");
    }
    let params: { client_params?: { id?: unknown; group?: unknown } };
    try {
      params = JSON.parse(text) as typeof params;
    } catch (error) {
      throw new HttpError(400, 'invalid_client_identity', `failed to validate client identity: ${String(error)}`);
    }
    const { id, group } = params.client_params ?? {};
    if (typeof group !== 'string' || group === '')
      throw new HttpError(400, 'invalid_client_identity', 'failed to validate client identity: empty client group');
    if (typeof id !== 'string' || id === '')
      throw new HttpError(400, 'invalid_client_identity', 'failed to validate client identity: empty client ID');
    if (groups[group] === undefined) throw new HttpError(400, 'unknown_group', `unknown group "${group}"`);
    const { sem, version } = await get(group);
    const present = sem.holders.includes(id);
    if (request === 'pre-reboot') {
      if (present) return { status: 200, id, group, holders: sem.holders };
      if (sem.holders.length >= sem.total_slots)
        throw new HttpError(500, 'failed_lock', `all ${sem.total_slots} semaphore slots currently locked`);
      sem.holders = [...sem.holders, id].sort();
    } else {
      sem.holders = sem.holders.filter((h) => h !== id);
    }
    if (!(await etcd.putIfVersion(semaphoreKey(group), JSON.stringify(sem), version))) {
      throw new HttpError(500, request === 'pre-reboot' ? 'failed_lock' : 'failed_unlock', 'conflict on semaphore detected, aborting');
    }
    most.set(group, Math.max(most.get(group) ?? 0, sem.holders.length));
    return { status: 200, id, group, holders: sem.holders };
  };

  const server: Server = createServer((req, res: ServerResponse) => {
    if (mode === 'hang') return;
    if (mode === 'close') {
      req.socket.destroy();
      return;
    }
    if (mode === 'garbage') {
      req.socket.end('\u0000\u00ffthis is no HTTP\r\n\r\n');
      return;
    }
    if (mode === 'not-json') {
      res.writeHead(503, { 'content-type': 'text/html' }).end('<html><body>Service Unavailable</body></html>');
      return;
    }
    handle(req).then(
      (answer) => {
        const request = req.url?.endsWith('pre-reboot') ? 'pre-reboot' : 'steady-state';
        if (answer.id !== undefined && answer.group !== undefined) {
          events.push({
            at: Date.now(),
            request,
            id: answer.id,
            group: answer.group,
            status: answer.status,
            holders: answer.holders ?? [],
          });
        }
        res.writeHead(answer.status).end(answer.body ?? '');
      },
      (error: unknown) => {
        // airlock answers with http.Error: the JSON error as text/plain, a newline after it.
        const e = error instanceof HttpError ? error : new HttpError(500, 'generic_error', String(error));
        res
          .writeHead(e.code, { 'content-type': 'text/plain; charset=utf-8' })
          .end(`${JSON.stringify({ kind: e.kind, value: e.message })}\n`);
      },
    );
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/base`,
    events,
    maxHolders: (group = 'default') => most.get(group) ?? 0,
    holders: async (group = 'default') => {
      const { value } = await etcd.get(semaphoreKey(group));
      return value === undefined ? [] : (JSON.parse(value) as Semaphore).holders;
    },
    mode: (next) => {
      mode = next;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
