import net from 'node:net';

export interface TcpProxy {
  /** The port (on the listen host, 127.0.0.1 by default) to connect to instead of the target. */
  port: number;
  /** Simulates an outage: destroys every open connection; new ones are accepted and destroyed at once. */
  cut(): void;
  /** Ends the outage: new connections reach the target again. */
  restore(): void;
  /** Holds every piece of the target's answers this long before passing it on (a slow server). */
  delay(ms: number): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy for fault tests: point a client (Redis, PostgreSQL, ...) at `port` and call `cut()`
 * to make its server unreachable without touching the real server, which other tests share.
 */
export async function startTcpProxy(targetHost: string, targetPort: number, listenHost = '127.0.0.1'): Promise<TcpProxy> {
  let down = false;
  let delayMs = 0;
  const open = new Set<net.Socket>();
  const destroyAll = () => {
    for (const socket of open) socket.destroy();
    open.clear();
  };
  const server = net.createServer((client) => {
    if (down) return void client.destroy();
    const upstream = net.connect(targetPort, targetHost);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', drop).on('close', drop);
    }
    client.pipe(upstream);
    upstream.on('data', (piece: Buffer) => {
      if (delayMs === 0) return void client.write(piece);
      upstream.pause();
      setTimeout(() => {
        client.write(piece);
        upstream.resume();
      }, delayMs);
    });
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, listenHost, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => {
      down = true;
      destroyAll();
    },
    restore: () => {
      down = false;
    },
    delay: (ms: number) => {
      delayMs = ms;
    },
    close: () => {
      destroyAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
