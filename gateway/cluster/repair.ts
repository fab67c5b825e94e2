import type { FastifyBaseLogger } from 'fastify';
import type { MetadataStore } from '../../metadata/store';
import { ChunkNotFoundError } from '../../storage-node/chunk-store';
import { mapLimited } from '../../storage-node/map-limited';
import { metrics } from '../metrics';
import { Periodic } from '../objects/periodic';
import { ClusterJob, type JobRun } from '../../metadata/cluster-job';
import type { ClusterNode, Membership } from './membership';
import { place } from './placement';
import type { ReplicatedChunkStore } from './replicated-store';

export interface RepairOptions {
  /** Copy rate, MB/s (0: unthrottled). */
  mbps: number;
  /** A full rebalance pass at least this often, besides the ones membership changes start. */
  rebalanceIntervalMs: number;
  /** An extra copy is deleted only if nobody claimed it this long (a writer that used the node
   * as a stand-in for a target that was down may be about to commit it). */
  extraCopyIdleMs: number;
  log?: FastifyBaseLogger;
}

export interface RepairReport {
  repaired: number;
  postponed: number;
  copied: number;
  copiedBytes: number;
  deletedExtra: number;
  scanned: number;
  rebalanced: boolean;
}

const QUEUE_BATCH = 100;
const PAGE = 1000;
/** Chunks copied at once: one copy at a time leaves the nodes' disks and the loopback idle
 * between a read and the next write. */
const COPIES_IN_FLIGHT = 4;

/**
 * Keeps every chunk at R good copies on its placement targets, in one place at a time (the
 * `repair` lease). Each run:
 *
 * 1. works through the repair queue (writes acknowledged short of R, corrupt chunks scrub or
 *    a read found), copying a good replica to each target that lacks one;
 * 2. when membership changed (a node joined, was drained, or has been down longer than
 *    RFS_NODE_DOWN_AFTER) or the rebalance interval passed, walks every reachable node's
 *    inventory: a chunk is copied to whichever of its targets lack it, and a copy on a node
 *    that is not a target is deleted once all R targets hold the chunk.
 *
 * A node down for less than RFS_NODE_DOWN_AFTER still counts as a target (Membership.members):
 * its chunks are not copied elsewhere while it restarts; writes queue what it missed.
 */
export class RepairJob extends Periodic<RepairReport | undefined> {
  private readonly job: ClusterJob;
  private rebalanceWanted = true;
  private lastRebalance = 0;
  /** Bumped by every membership change: a pass begun on an older view stops and starts over. */
  private generation = 0;

  constructor(
    private readonly meta: MetadataStore,
    private readonly membership: Membership,
    private readonly store: ReplicatedChunkStore,
    private readonly opts: RepairOptions,
  ) {
    super('repair', opts.log);
    this.job = new ClusterJob(meta.cluster, 'repair', opts.mbps * 1_000_000, (on) => metrics.jobRunning.set({ task: 'repair' }, on ? 1 : 0));
    membership.onChange(() => {
      this.rebalanceWanted = true;
      this.generation++;
      void this.runOnce().catch(() => undefined);
    });
  }

  /** Asks for a full rebalance pass on the next run. */
  wantRebalance(): void {
    this.rebalanceWanted = true;
  }

  protected async run(): Promise<RepairReport | undefined> {
    const report = await this.job.run(async (run) => {
      const r: RepairReport = { repaired: 0, postponed: 0, copied: 0, copiedBytes: 0, deletedExtra: 0, scanned: 0, rebalanced: false };
      await this.drainQueue(run, r);
      while (this.rebalanceWanted || Date.now() - this.lastRebalance > this.opts.rebalanceIntervalMs) {
        this.rebalanceWanted = false;
        this.lastRebalance = Date.now();
        try {
          r.rebalanced = await this.rebalance(run, r);
        } catch (e) {
          this.rebalanceWanted = true;
          throw e;
        }
      }
      return r;
    });
    metrics.replicasMissing.set(await this.meta.cluster.repairBacklog().catch(() => 0));
    if (report && (report.copied > 0 || report.deletedExtra > 0)) this.log?.info(report, 'repair copied or removed replicas');
    return report;
  }

  private async drainQueue(run: JobRun, r: RepairReport): Promise<void> {
    for (;;) {
      const due = await this.meta.cluster.dueRepairs(QUEUE_BATCH);
      if (due.length === 0) return;
      const done: string[] = [];
      for (const { address, attempts } of due) {
        if (await this.heal(address, run, r)) done.push(address);
        else {
          r.postponed++;
          await this.meta.cluster.postponeRepair(address, Math.min(300, 2 ** attempts));
        }
        run.progress({ phase: 'queue', ...r });
      }
      await this.meta.cluster.repaired(done);
      r.repaired += done.length;
      if (due.length < QUEUE_BATCH) return;
    }
  }

  /** Copies the chunk to whichever of its targets lack it; true once all R targets hold it
   * (or no object references it any more, so there is nothing to heal). */
  private async heal(address: string, run: JobRun, r: RepairReport): Promise<boolean> {
    const { replicas } = this.store.quorum();
    const targets = place(address, this.membership.members(), replicas);
    const lacking: ClusterNode[] = [];
    for (const node of targets) {
      const held = node.alive ? await node.client.holding([address]).catch(() => undefined) : undefined;
      if (held === undefined) return false; // a target is unreachable: try later
      if (!held[0]) lacking.push(node);
    }
    if (lacking.length === 0) return targets.length >= replicas;
    let data: Buffer;
    try {
      data = (await this.store.read(address)).data; // not get: its read repair would copy too
    } catch (e) {
      if (!(e instanceof ChunkNotFoundError)) return false;
      if ((await this.meta.referencedChunks([address])).length === 0) return true;
      this.log?.error({ address }, 'repair: no replica of a referenced chunk could be read');
      return false;
    }
    for (const node of lacking) await copy(node, address, data, run, r);
    return targets.length >= replicas;
  }

  /** One pass over every reachable node's inventory (see the class comment); false if the
   * membership changed under it (a node lost mid-pass must not wait for the pass to end). */
  private async rebalance(run: JobRun, r: RepairReport): Promise<boolean> {
    const { replicas } = this.store.quorum();
    const members = this.membership.members();
    const generation = this.generation;
    for (const node of this.membership.all().filter((n) => n.alive)) {
      let after: string | undefined;
      do {
        if (this.generation !== generation) return false;
        const page = await node.client.inventoryPage({ after, limit: PAGE });
        after = page.next ?? undefined;
        r.scanned += page.chunks.length;
        await this.rebalancePage(node, page.chunks.map((c) => c.address), members, replicas, run, r);
        run.progress({ phase: 'rebalance', node: node.id, ...r });
      } while (after !== undefined);
    }
    return true;
  }

  /** For chunks `source` holds: every target gets a copy, and a copy on a node that is not a
   * target goes once every target holds the chunk. */
  private async rebalancePage(source: ClusterNode, addresses: string[], members: ClusterNode[], replicas: number, run: JobRun, r: RepairReport): Promise<void> {
    const targetsOf = new Map(addresses.map((a) => [a, place(a, members, replicas)]));
    // Ask each target, in one request per target, which of its chunks it holds.
    const held = new Map<string, Set<ClusterNode>>(addresses.map((a) => [a, new Set()]));
    for (const target of members) {
      const mine = addresses.filter((a) => targetsOf.get(a)!.includes(target));
      if (mine.length === 0) continue;
      const answer = target === source ? mine.map(() => true) : target.alive ? await target.client.holding(mine).catch(() => undefined) : undefined;
      if (answer === undefined) continue; // unreachable: it counts as not holding, and nothing is deleted for it
      mine.forEach((a, i) => answer[i] && held.get(a)!.add(target));
    }
    await mapLimited(addresses, COPIES_IN_FLIGHT, async (address) => {
      const targets = targetsOf.get(address)!;
      const holders = held.get(address)!;
      for (const target of targets) {
        if (holders.has(target) || !target.alive) continue;
        let data: Buffer;
        try {
          data = await source.client.get(address);
        } catch (e) {
          if (e instanceof ChunkNotFoundError) return; // deleted since listed (GC)
          throw e;
        }
        if (await copy(target, address, data, run, r).then(() => true, () => false)) holders.add(target);
      }
      if (!targets.includes(source) && targets.length >= replicas && targets.every((t) => holders.has(t))) {
        if (await source.client.deleteIfIdle(address, Date.now() - this.opts.extraCopyIdleMs)) {
          r.deletedExtra++;
          metrics.rebalanceDeletedChunks.inc();
        }
      }
    });
  }
}

/** Puts one replica on `target`, paced to the job's rate, and counts it. */
async function copy(target: ClusterNode, address: string, data: Buffer, run: JobRun, r: RepairReport): Promise<void> {
  await run.pace(data.length);
  await target.client.put(address, data);
  r.copied++;
  r.copiedBytes += data.length;
  metrics.repairCopiedChunks.inc();
  metrics.repairCopiedBytes.inc(data.length);
}
