import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticate, type Credential } from '../auth';
import { S3Error } from '../protocol/errors';
import { mountAdmin, type AdminDeps } from './index';
import { registerNodeRoutes } from './nodes';
import { registerJobRoutes } from './jobs';

export interface ClusterAdminDeps extends Pick<AdminDeps, 'services' | 'bus' | 'gc' | 'cluster'> {
  /** Whether a caller may administer the cluster. */
  isAdmin(caller: Credential): boolean;
}

/**
 * @deprecated The cluster calls alone (GET /cluster, /nodes, /jobs; node drain, undrain and
 * removal; POST /jobs/:name), SigV4-signed by a caller `isAdmin` accepts: what the gateway
 * registered before the whole admin API. `registerAdmin` (./index.ts) registers these and
 * the rest; once the gateway calls it, this file goes.
 */
export function registerClusterAdmin(app: FastifyInstance, deps: ClusterAdminDeps): void {
  const authorize = async (request: FastifyRequest): Promise<Credential> => {
    const [rawPath, rawQuery = ''] = (request.raw.url ?? '/').split('?', 2);
    const auth = await authenticate(
      { method: request.method, rawPath, rawQuery, headers: request.headers, rawHeaders: request.raw.rawHeaders },
      deps.services.identity,
    );
    if (auth.principal.anonymous || !deps.isAdmin(auth.principal.credential)) throw new S3Error('AccessDenied');
    return auth.principal.credential;
  };
  mountAdmin(app, authorize, (admin) => {
    registerNodeRoutes(admin, deps);
    registerJobRoutes(admin, deps);
  });
}
