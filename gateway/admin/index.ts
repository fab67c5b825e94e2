import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Credential } from '../auth';
import type { Services } from '../services';
import type { Membership } from '../cluster/membership';
import type { ReplicatedChunkStore } from '../cluster/replicated-store';
import type { RepairJob } from '../cluster/repair';
import type { GarbageCollector } from '../objects/gc';
import type { LifecycleRunner } from '../objects/lifecycle';
import type { ChangeBus } from '../../metadata/change-bus';
import { notFound, sendAdminError } from './http';
import { registerUserRoutes } from './users';
import { registerKeyRoutes } from './keys';
import { registerPolicyRoutes } from './policies';
import { registerBucketRoutes } from './buckets';
import { registerNodeRoutes } from './nodes';
import { registerJobRoutes } from './jobs';

export { ensureBuiltinPolicies, BUILTIN_POLICIES } from './policies';

export const ADMIN_PREFIX = '/_rfs/admin';

/** What the admin API works with. From `services` it uses `meta` (users, keys, policies,
 * buckets, usage, jobs), `buckets` (quota changes reach every gateway), `box` (seals a new
 * key's secret) and `iam` (a change reaches every gateway's IAM cache). */
export interface AdminDeps {
  services: Services;
  bus: ChangeBus;
  gc: GarbageCollector;
  lifecycle: LifecycleRunner;
  /** With storage nodes: membership, the replicated store and the repair job. */
  cluster?: { membership: Membership; store: ReplicatedChunkStore; repair: RepairJob };
  /** Who the caller is, if an administrator (a SigV4 admin key, or an OIDC bearer token with
   * the admin role); throws S3Error (AccessDenied, SignatureDoesNotMatch, …) otherwise. Runs
   * before the body is read. */
  authorizeAdmin(request: FastifyRequest): Promise<Credential>;
  /** Canonical id of the root account, shown as owner `root` in bucket listings. */
  rootOwner?: string;
}

type AdminRequest = FastifyRequest & { adminCaller?: Credential; s3Action?: string };

/**
 * The admin REST API under /_rfs/admin/ (an underscore never starts a bucket name): JSON in
 * and out, errors as `{ "error": { "code", "message" } }` with an HTTP status (400 invalid
 * input, 403 not an admin, 404 no such thing, 409 conflict). Every call is authorized by
 * `deps.authorizeAdmin` before its body is read. The `rfs` CLI (cli/) is its client.
 *
 *   users     GET /users, POST /users, GET|PATCH|DELETE /users/:name, POST /users/:name/revoke-sessions
 *   keys      POST|GET /users/:name/keys, PATCH|DELETE /keys/:id
 *   policies  GET /policies, PUT|GET|DELETE /policies/:name
 *   buckets   GET /buckets, GET /buckets/:name, PUT|DELETE /buckets/:name/quota
 *   cluster   GET /cluster, GET /nodes, POST /nodes/:id/drain|undrain, DELETE /nodes/:id
 *   jobs      GET /jobs, POST /jobs/:name
 */
export function registerAdmin(app: FastifyInstance, deps: AdminDeps): void {
  mountAdmin(app, deps.authorizeAdmin, (admin) => {
    registerUserRoutes(admin, deps);
    registerKeyRoutes(admin, deps);
    registerPolicyRoutes(admin, deps);
    registerBucketRoutes(admin, deps);
    registerNodeRoutes(admin, deps);
    registerJobRoutes(admin, deps);
  });
}

/** The admin routes `routes` adds, under the prefix, behind `authorize`, with JSON errors. */
export function mountAdmin(app: FastifyInstance, authorize: AdminDeps['authorizeAdmin'], routes: (admin: FastifyInstance) => void): void {
  void app.register(
    async (admin) => {
      admin.setErrorHandler((error, request, reply) => sendAdminError(error, request, reply));
      admin.addHook('preHandler', async (request, reply) => {
        const r = request as AdminRequest;
        // The access log and request metrics label a request by its action: here, the route.
        r.s3Action = `admin ${request.method} ${request.routeOptions.url ?? ''}`;
        r.adminCaller = await authorize(request);
        // The server answers 100-continue itself only for S3 calls: an admin is told to send
        // its body once it is known to be one (curl asks before a body over 1 KiB).
        if (request.headers.expect?.toLowerCase() === '100-continue') reply.raw.writeContinue();
      });
      // One line per change, naming the administrator (never a body: it may hold a secret).
      admin.addHook('onResponse', async (request, reply) => {
        const caller = (request as AdminRequest).adminCaller;
        if (caller && request.method !== 'GET') {
          request.log.info({ admin: caller.user ?? caller.displayName, route: (request as AdminRequest).s3Action, status: reply.statusCode }, 'admin change');
        }
      });
      routes(admin);
      // Anything else under the prefix is an admin 404 in JSON, not an S3 answer in XML.
      admin.route({
        method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH'],
        url: '/*',
        handler: async (request) => {
          throw notFound('NoSuchRoute', `no admin call ${request.method} ${request.url.split('?')[0]}`);
        },
      });
    },
    { prefix: ADMIN_PREFIX },
  );
}
