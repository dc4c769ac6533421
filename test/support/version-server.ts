// A real version channel on 127.0.0.1 (HTTPS with the test CA, or plain HTTP), with fault modes.
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TestTls } from './tls.ts';

export type Fault = 'hang' | 'reset' | 'drip' | 'giant';
export type Answer =
  | string
  | { readonly status?: number; readonly body?: string; readonly headers?: Record<string, string>; readonly fault?: Fault };

export interface VersionServer {
  /** `127.0.0.1:PORT/v1/webapi/automaticupgrades/channel/default`, as written to the endpoint file. */
  readonly endpoint: string;
  readonly port: number;
  answer(version: Answer, critical?: Answer): void;
  /** What /webapi/ping answers; by default a cluster at 1.2.4. */
  ping(answer: Answer): void;
  /** TCP connections accepted so far. */
  readonly connections: () => number;
  readonly requests: string[];
  close(): Promise<void>;
}

export const CHANNEL_PATH = '/v1/webapi/automaticupgrades/channel/default';

/** A /webapi/ping answer the way a proxy shapes it, naming the cluster's version. */
export const pingBody = (serverVersion: string): string =>
  JSON.stringify({
    auth: { type: 'local', second_factor: 'on' },
    proxy: { ssh: { listen_addr: '0.0.0.0:3023' } },
    server_version: serverVersion,
    min_client_version: '0.0.0',
    cluster_name: 'test',
  });

const respond = (answer: Answer, res: ServerResponse): void => {
  const a = typeof answer === 'string' ? { body: answer } : answer;
  switch (a.fault) {
    case 'hang':
      return; // never answers; the client must give up
    case 'reset':
      res.socket?.destroy();
      return;
    case 'giant': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = 'v'.repeat(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 64 && res.write(chunk)) sent++;
        if (sent < 64) res.once('drain', pump);
        else res.end();
      };
      pump();
      return;
    }
    case 'drip': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('1'), 200);
      res.on('close', () => clearInterval(timer));
      return;
    }
  }
  res.writeHead(a.status ?? 200, { 'content-type': 'text/plain', ...a.headers });
  res.end(a.body ?? '');
};

export const startVersionServer = async (tls?: TestTls): Promise<VersionServer> => {
  let answers: { version: Answer; critical: Answer } = { version: 'v1.2.4', critical: 'no' };
  let ping: Answer = { body: pingBody('1.2.4'), headers: { 'content-type': 'application/json' } };
  let connections = 0;
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    requests.push(req.url ?? '');
    const url = req.url ?? '';
    if (url === `${CHANNEL_PATH}/version`) return respond(answers.version, res);
    if (url === `${CHANNEL_PATH}/critical`) return respond(answers.critical, res);
    if (url === '/webapi/ping') return respond(ping, res);
    res.writeHead(404).end('not found');
  };
  const server: Server = tls ? createHttps({ key: tls.key, cert: tls.cert }, handler) : createHttp(handler);
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `127.0.0.1:${port}${CHANNEL_PATH}`,
    port,
    answer: (version, critical = 'no') => {
      answers = { version, critical };
    },
    ping: (answer) => {
      ping = answer;
    },
    connections: () => connections,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
