import type { FastifyInstance } from 'fastify';
import type { JobRecord } from '../../metadata/cluster-store';
import type { AdminDeps } from './index';
import { badRequest, notFound, readJson } from './http';

/**
 * A job's lease row as the admin API shows it. `running`: the lease is held and the run has
 * not reported itself finished (ClusterJob writes `progress.finished`, by the clock of the
 * process that ran it, when a run ends, however it ends).
 */
export function jobView(job: JobRecord) {
  const progress = job.progress ?? {};
  return {
    name: job.name,
    holder: job.holder,
    started: new Date(job.started).toISOString(),
    expires: new Date(job.expires).toISOString(),
    running: progress.finished === undefined && new Date(job.expires).getTime() > Date.now(),
    progress,
  };
}

/** Jobs an administrator may start, and the lease row each one's progress shows in. */
const STARTABLE = { gc: 'gc', repair: 'repair', rebalance: 'repair', lifecycle: 'lifecycle' } as const;

/**
 *   GET  /jobs        every job's lease row: gc, repair, lifecycle, scrub:<node>, with its progress
 *   POST /jobs/:name  starts gc, repair, rebalance or lifecycle here and answers at once (202) with
 *                     `since`, this gateway's clock: the run is over when its lease row's
 *                     `progress.finished` is at or after it. A run already under way (here
 *                     or, under the lease, elsewhere) is the one that ends that wait.
 */
export function registerJobRoutes(admin: FastifyInstance, deps: Pick<AdminDeps, 'services' | 'gc' | 'lifecycle' | 'cluster'>): void {
  const meta = deps.services.meta.cluster;

  admin.get('/jobs', async () => ({ jobs: (await meta.jobs()).map(jobView) }));

  admin.post<{ Params: { name: string } }>('/jobs/:name', async (request, reply) => {
    await readJson(request);
    const { name } = request.params;
    const since = new Date().toISOString();
    let run: () => Promise<unknown>;
    if (name === 'gc') run = () => deps.gc.runOnce();
    else if (name === 'lifecycle') run = () => deps.lifecycle.runNow();
    else if (name === 'repair' || name === 'rebalance') {
      const repair = deps.cluster?.repair;
      if (!repair) throw badRequest('InvalidRequest', `${name} moves chunks between storage nodes; this gateway keeps chunks in its own directory, so there is nothing to ${name}`);
      if (name === 'rebalance') repair.wantRebalance();
      run = () => repair.runOnce();
    } else if (name === 'scrub' || name.startsWith('scrub:')) {
      throw badRequest('InvalidRequest', 'scrub runs on each storage node on its own schedule (RFS_SCRUB_MBPS, RFS_SCRUB_INTERVAL_SECONDS on the node); it cannot be started from the gateway. Its progress shows in `rfs job list`.');
    } else {
      throw notFound('NoSuchJob', `no job ${name}; jobs that can be started: gc, repair, rebalance, lifecycle`);
    }
    // The run goes on after the answer; its outcome shows in GET /jobs and the log.
    void run().catch((err: unknown) => request.log.error({ err, job: name }, 'admin-started job failed'));
    return reply.code(202).send({ job: name, lease: STARTABLE[name], started: true, since });
  });
}
