// A TCP relay on 127.0.0.1 that makes a local server look `rttMs` away, for the benchmark: every byte takes half the
// round trip each way, and a new connection carries data only one round trip after it was accepted (TCP's own
// handshake, which the kernel completes at once on loopback).
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface Relay {
  readonly port: number;
  close(): Promise<void>;
}

/** Forwards `from` to `to`, each chunk (and the end) delivered half a round trip later and never before `notBefore`. */
const delayed = (from: Socket, to: Socket, oneWayMs: number, notBefore: number): void => {
  let last = 0;
  const later = (act: () => void): void => {
    last = Math.max(Date.now() + oneWayMs, notBefore + oneWayMs, last);
    setTimeout(act, last - Date.now());
  };
  from.on('data', (chunk) => later(() => to.write(chunk)));
  from.on('end', () => later(() => to.end()));
};

export const startRelay = async (targetPort: number, rttMs: number): Promise<Relay> => {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const accepted = Date.now();
    for (const socket of [client, upstream]) {
      // Nagle's algorithm would hold small writes back for the peer's delayed ACK, a stall no real path adds.
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    delayed(client, upstream, rttMs / 2, accepted + rttMs);
    delayed(upstream, client, rttMs / 2, 0);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
