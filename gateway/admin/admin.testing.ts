import { Writable } from 'node:stream';
import pino from 'pino';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticate, type Credential } from '../auth';
import { buildServer } from '../server';
import { S3Error } from '../protocol/errors';
import { ROOT_OWNER, type Rfs } from '../app';
import { registerAdmin } from './index';

/**
 * For tests only: the root key, SigV4-signed, is the one administrator. The gateway supplies
 * the product's authorizeAdmin (admin-policy users and Keycloak's admin role too).
 */
export function rootOnlyAdmin(rfs: Rfs): (request: FastifyRequest) => Promise<Credential> {
  return async (request) => {
    const [rawPath, rawQuery = ''] = (request.raw.url ?? '/').split('?', 2);
    const auth = await authenticate(
      { method: request.method, rawPath, rawQuery, headers: request.headers, rawHeaders: request.raw.rawHeaders },
      rfs.services.identity,
    );
    if (auth.principal.anonymous || auth.principal.credential.owner !== ROOT_OWNER) throw new S3Error('AccessDenied');
    return auth.principal.credential;
  };
}

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
    cluster: rfs.stores.cluster && rfs.repair && { ...rfs.stores.cluster, repair: rfs.repair },
    authorizeAdmin: rootOnlyAdmin(rfs),
    rootOwner: ROOT_OWNER,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, app, logs, close: () => app.close() };
}
