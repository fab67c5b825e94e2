import type { FastifyInstance } from 'fastify';
import { NODES_TOPIC } from '../cluster/membership';
import type { AdminDeps } from './index';
import { AdminError, notFound, readJson } from './http';
import { jobView } from './jobs';

/** The storage nodes with each one's own status (asked of the node itself when it is up). */
async function nodesView(deps: Pick<AdminDeps, 'cluster'>) {
  return Promise.all(
    (deps.cluster?.membership.all() ?? []).map(async (n) => ({
      id: n.id, url: n.url, zone: n.zone, state: n.alive ? n.state : 'down', silentMs: n.silentMs,
      capacityBytes: n.capacityBytes, freeBytes: n.freeBytes,
      status: n.alive ? await n.client.status().catch((e: Error) => ({ error: e.message })) : undefined,
    })),
  );
}

/**
 * The storage-node tier:
 *   GET    /cluster              nodes (with their own status), jobs, repair backlog
 *   GET    /nodes                the nodes alone
 *   POST   /nodes/:id/drain      its chunks move to other nodes; it takes no new ones
 *   POST   /nodes/:id/undrain    takes it back
 *   DELETE /nodes/:id            forgets a node that is drained empty, or down
 * An embedded gateway (chunks in its own directory) has no nodes: `storage: 'local'`.
 */
export function registerNodeRoutes(admin: FastifyInstance, deps: Pick<AdminDeps, 'services' | 'bus' | 'cluster'>): void {
  const { cluster } = deps;
  const meta = deps.services.meta.cluster;
  const changed = () => deps.bus.publish(NODES_TOPIC, 'changed').then(() => cluster?.membership.refresh());

  admin.get('/cluster', async () => ({
    storage: cluster ? 'nodes' : 'local',
    ...(cluster ? cluster.store.quorum() : { replicas: 1, writeQuorum: 1 }),
    nodes: await nodesView(deps),
    repairBacklog: await meta.repairBacklog(),
    jobs: (await meta.jobs()).map(jobView),
  }));

  admin.get('/nodes', async () => ({ storage: cluster ? 'nodes' : 'local', nodes: await nodesView(deps) }));

  admin.post<{ Params: { id: string; action: string } }>('/nodes/:id/:action', async (request) => {
    await readJson(request);
    const { id, action } = request.params;
    if (action !== 'drain' && action !== 'undrain') throw notFound('NoSuchRoute', `nodes can be drained or undrained, not ${action}`);
    if (!(await meta.setDraining(id, action === 'drain'))) throw notFound('NoSuchNode', `no storage node ${id}`);
    await changed();
    cluster?.repair.wantRebalance();
    void cluster?.repair.runOnce().catch(() => undefined);
    return { id, state: action === 'drain' ? 'draining' : 'up' };
  });

  admin.delete<{ Params: { id: string } }>('/nodes/:id', async (request) => {
    const node = cluster?.membership.all().find((n) => n.id === request.params.id);
    if (!node) throw notFound('NoSuchNode', `no storage node ${request.params.id}`);
    if (node.alive) {
      const status = await node.client.status();
      if (node.state !== 'draining' || status.chunks > 0) {
        throw new AdminError(409, 'NodeNotEmpty', 'drain the node until it holds no chunks, or stop it, before forgetting it');
      }
    }
    await meta.forget(node.id);
    await changed();
    return { id: node.id, forgotten: true };
  });
}
