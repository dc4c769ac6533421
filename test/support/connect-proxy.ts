// A real HTTP CONNECT proxy on 127.0.0.1, with the ways corporate proxies fail: refusing, closing, answering an error, hanging.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export type ProxyMode =
  /** Tunnels to 127.0.0.1 at the requested port, whatever the requested name (it resolves names for the tests). */
  | 'tunnel'
  /** Reads the CONNECT request and closes the connection without a word (HAProxy's `http-request reject`). */
  | 'reject'
  /** Never answers the CONNECT request. */
  | 'hang'
  /** Answers the CONNECT request with this status. */
  | number;

export interface ConnectProxy {
  /** `http://127.0.0.1:PORT`, for HTTPS_PROXY. */
  readonly url: string;
  mode(mode: ProxyMode): void;
  /** Every CONNECT target asked for, in order. */
  readonly tunnels: string[];
  /** TCP connections accepted so far. */
  readonly connections: () => number;
  close(): Promise<void>;
}

export const startConnectProxy = async (): Promise<ConnectProxy> => {
  let mode: ProxyMode = 'tunnel';
  let connections = 0;
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (req, client: Socket) => {
    tunnels.push(req.url ?? '');
    client.on('error', () => undefined);
    if (mode === 'reject') return void client.destroy();
    if (mode === 'hang') return;
    if (typeof mode === 'number') return void client.end(`HTTP/1.1 ${mode} Refused by test proxy\r\nContent-Length: 0\r\n\r\n`);
    const port = Number((req.url ?? '').split(':').at(-1));
    const upstream = connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    mode: (m) => {
      mode = m;
    },
    tunnels,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
