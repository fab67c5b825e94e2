import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticate, type Credential } from '../auth';
import type { Services } from '../services';
import { NODES_TOPIC, type Membership } from '../cluster/membership';
import type { ReplicatedChunkStore } from '../cluster/replicated-store';
import type { RepairJob } from '../cluster/repair';
import type { GarbageCollector } from '../objects/gc';
import type { ChangeBus } from '../../metadata/change-bus';
import { S3Error } from '../protocol/errors';

export interface ClusterAdminDeps {
  services: Services;
  bus: ChangeBus;
  gc: GarbageCollector;
  cluster?: { membership: Membership; store: ReplicatedChunkStore; repair: RepairJob };
  /** Whether a caller may administer the cluster (root, until users and policies exist). */
  isAdmin(caller: Credential): boolean;
}

/**
 * The cluster's admin calls, under /_rfs/admin/ (an underscore never starts a bucket name),
 * signed with SigV4 like any S3 request, by an admin:
 *
 *   GET  /_rfs/admin/cluster                    nodes (with their own status), jobs, repair backlog
 *   POST /_rfs/admin/nodes/<id>/drain           its chunks move to other nodes; it takes no new ones
 *   POST /_rfs/admin/nodes/<id>/undrain         takes it back
 *   DELETE /_rfs/admin/nodes/<id>               forgets a node that is drained empty, or down
 *   POST /_rfs/admin/jobs/<gc|repair|rebalance> runs a pass now (where the lease allows)
 */
export function registerClusterAdmin(app: FastifyInstance, deps: ClusterAdminDeps): void {
  const { services, cluster } = deps;
  const meta = services.meta.cluster;
  const admin = async (request: FastifyRequest) => {
    const [rawPath, rawQuery = ''] = (request.raw.url ?? '/').split('?', 2);
    const auth = await authenticate(
      { method: request.method, rawPath, rawQuery, headers: request.headers, rawHeaders: request.raw.rawHeaders },
      services.identity,
    );
    if (auth.principal.anonymous || !deps.isAdmin(auth.principal.credential)) throw new S3Error('AccessDenied');
  };
  const changed = () => deps.bus.publish(NODES_TOPIC, 'changed').then(() => cluster?.membership.refresh());

  app.get('/_rfs/admin/cluster', async (request) => {
    await admin(request);
    const nodes = await Promise.all(
      (cluster?.membership.all() ?? []).map(async (n) => ({
        id: n.id, url: n.url, zone: n.zone, state: n.alive ? n.state : 'down', silentMs: n.silentMs,
        capacityBytes: n.capacityBytes, freeBytes: n.freeBytes,
        status: n.alive ? await n.client.status().catch((e: Error) => ({ error: e.message })) : undefined,
      })),
    );
    return {
      storage: cluster ? 'nodes' : 'local',
      ...(cluster ? cluster.store.quorum() : { replicas: 1, writeQuorum: 1 }),
      nodes,
      repairBacklog: await meta.repairBacklog(),
      jobs: await meta.jobs(),
    };
  });

  app.post<{ Params: { id: string; action: string } }>('/_rfs/admin/nodes/:id/:action', async (request, reply) => {
    await admin(request);
    const { id, action } = request.params;
    if (action !== 'drain' && action !== 'undrain') return reply.code(404).send({ error: 'NoSuchAction' });
    if (!(await meta.setDraining(id, action === 'drain'))) return reply.code(404).send({ error: 'NoSuchNode', message: `no storage node ${id}` });
    await changed();
    cluster?.repair.wantRebalance();
    void cluster?.repair.runOnce().catch(() => undefined);
    return { id, state: action === 'drain' ? 'draining' : 'up' };
  });

  app.delete<{ Params: { id: string } }>('/_rfs/admin/nodes/:id', async (request, reply) => {
    await admin(request);
    const node = cluster?.membership.all().find((n) => n.id === request.params.id);
    if (!node) return reply.code(404).send({ error: 'NoSuchNode' });
    if (node.alive) {
      const status = await node.client.status();
      if (node.state !== 'draining' || status.chunks > 0) {
        return reply.code(409).send({ error: 'NodeNotEmpty', message: 'drain the node until it holds no chunks, or stop it, before forgetting it' });
      }
    }
    await meta.forget(node.id);
    await changed();
    return { id: node.id, forgotten: true };
  });

  app.post<{ Params: { job: string } }>('/_rfs/admin/jobs/:job', async (request, reply) => {
    await admin(request);
    const { job } = request.params;
    if (job === 'gc') return { job, report: (await deps.gc.runOnce()) ?? 'running elsewhere' };
    if (!cluster || (job !== 'repair' && job !== 'rebalance')) return reply.code(404).send({ error: 'NoSuchJob' });
    if (job === 'rebalance') cluster.repair.wantRebalance();
    return { job, report: (await cluster.repair.runOnce()) ?? 'running elsewhere' };
  });
}
