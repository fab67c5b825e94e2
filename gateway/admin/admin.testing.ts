import { Writable } from 'node:stream';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../server';
import { ROOT_OWNER, type Rfs } from '../app';
import { registerAdmin } from './index';
import { adminAuthorizer } from './authorize-admin';

export interface AdminServer {
  url: string;
  app: FastifyInstance;
  /** Every log line the server wrote, at debug level and above. */
  logs: string[];
  close(): Promise<void>;
}

/**
 * The admin API of a running gateway's services, on a listener of its own: a test can check
 * the routes (and capture every log line) whether or not the gateway registers them itself.
 */
export async function startAdminServer(rfs: Rfs): Promise<AdminServer> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const log = pino({ level: 'debug', redact: ['req.headers.authorization'] }, sink);
  const app = buildServer(rfs.services, log);
  registerAdmin(app, {
    services: rfs.services,
    bus: rfs.stores.bus,
    gc: rfs.gc,
    lifecycle: rfs.lifecycle,
    cluster: rfs.stores.cluster && rfs.repair && { ...rfs.stores.cluster, repair: rfs.repair },
    authorizeAdmin: adminAuthorizer(rfs.services),
    rootOwner: ROOT_OWNER,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, app, logs, close: () => app.close() };
}
