import type { FastifyBaseLogger } from 'fastify';
import type { Bloom } from '../../metadata/bloom';
import type { ClusterStore } from '../../metadata/cluster-store';
import { ChunkCorruptError, ChunkNotFoundError, type ChunkInfo, type ChunkStore, type ChunkStoreStats } from '../../storage-node/chunk-store';
import { NodeFullError, NodeUnavailableError } from '../../storage-node/remote-store';
import { metrics } from '../metrics';
import { S3Error } from '../protocol/errors';
import type { ClusterNode, Membership } from './membership';
import { place } from './placement';

export interface ReplicationOptions {
  /** R: copies of each chunk (capped by the number of nodes that are not draining). */
  replicas: number;
  /** W: copies durable before a write is acknowledged (capped by R). */
  writeQuorum: number;
  /** How long a node that failed a request is passed over. */
  avoidMs?: number;
  /** "Definitely not stored yet" for chunk addresses (Redis): a chunk it may hold is first
   * asked for, so bytes all replicas hold are not sent again. */
  chunkFilter?: Bloom;
  log?: FastifyBaseLogger;
}

/**
 * The ChunkStore a gateway writes through in a cluster: each chunk goes to the R nodes
 * rendezvous hashing picks (storage nodes dedupe locally, since identical chunks always pick
 * the same nodes) and is acknowledged once W are durable; a replica short of R is queued for
 * repair in the metadata store before the acknowledgement, so a crash never forgets it. A
 * node that fails is skipped for the next in placement order. Reads try replicas in
 * placement order, hedge to the next one when the first is slower than its recent p95,
 * verify the bytes (the client hashes them), and put a good copy back where one was missing
 * or corrupt.
 *
 * GC, scrub and rebalance work node by node (gc.ts, repair.ts), so `inventory` and
 * `deleteIfIdle` here span every node only for completeness.
 */
export class ReplicatedChunkStore implements ChunkStore {
  private readonly avoidMs: number;

  constructor(
    private readonly membership: Membership,
    private readonly cluster: ClusterStore,
    private readonly opts: ReplicationOptions,
  ) {
    this.avoidMs = opts.avoidMs ?? 5000;
  }

  /** R and W for the cluster as it is now. */
  quorum(): { replicas: number; writeQuorum: number } {
    const eligible = this.membership.all().filter((n) => n.state !== 'draining').length;
    const replicas = Math.max(1, Math.min(this.opts.replicas, eligible));
    return { replicas, writeQuorum: Math.max(1, Math.min(this.opts.writeQuorum, replicas)) };
  }

  async put(address: string, data: Buffer): Promise<boolean> {
    const { replicas, writeQuorum } = this.quorum();
    const candidates = this.membership.writeOrder(address);
    if (candidates.length < writeQuorum) throw this.tooFewNodes(candidates.length, writeQuorum);
    const durable = new Set<ClusterNode>();
    if (await this.opts.chunkFilter?.mightContain(address).catch(() => true)) {
      await Promise.all(candidates.slice(0, replicas).map(async (node) => {
        if ((await this.call(node, () => node.client.holding([address], true)))?.[0]) durable.add(node);
      }));
    }
    let created = false;
    let failure: unknown;
    let quorumMet!: () => void;
    const quorum = new Promise<void>((resolve) => (quorumMet = resolve));
    const spares = candidates.slice(replicas);
    // One lane per missing replica: it tries its node, then the next spare in placement order.
    const lane = async (first: ClusterNode) => {
      for (let node: ClusterNode | undefined = first; node !== undefined; node = spares.shift()) {
        try {
          const stored = await this.call(node, () => node!.client.put(address, data));
          if (stored === undefined) continue;
          created ||= stored;
          durable.add(node);
          if (durable.size >= writeQuorum) quorumMet();
          return;
        } catch (e) {
          failure ??= e;
          return;
        }
      }
    };
    if (durable.size >= writeQuorum) quorumMet();
    const started = Date.now();
    const lanes = Promise.all(candidates.slice(0, replicas).filter((n) => !durable.has(n)).map(lane));
    // Replicas slower than the quorum get as long again as it took (20 ms to 2 s), then the
    // write is acknowledged without them and they are queued for repair.
    await Promise.race([lanes, quorum.then(() => sleep(Math.min(2000, Math.max(20, Date.now() - started))))]);
    if (failure !== undefined && durable.size < writeQuorum) throw failure;
    if (durable.size < writeQuorum) throw this.tooFewNodes(durable.size, writeQuorum);
    if (durable.size < replicas) {
      await this.cluster.queueRepair([address], `written to ${durable.size} of ${replicas} nodes`);
      metrics.underReplicatedWrites.inc();
    }
    void this.opts.chunkFilter?.add(address).catch(() => undefined);
    return created;
  }

  /** Renews the chunk's lease where it was written; false unless W copies hold it. The first
   * R nodes of the read order first, then, while fewer than W of them hold it, the ones after:
   * a write that found a target full or down put that copy on a spare, and the target may be
   * back in first place, without the chunk, by the time the upload renews its leases. */
  async claim(address: string): Promise<boolean> {
    const { replicas, writeQuorum } = this.quorum();
    const order = this.membership.readOrder(address, replicas);
    const targets = order.slice(0, replicas);
    const need = Math.min(writeQuorum, targets.length);
    const held = await Promise.all(targets.map((node) => this.call(node, () => node.client.claim(address))));
    let holders = held.filter(Boolean).length;
    for (const node of order.slice(replicas)) {
      if (holders >= need) break;
      if (await this.call(node, () => node.client.claim(address))) holders++;
    }
    return holders >= need && holders > 0;
  }

  async get(address: string): Promise<Buffer> {
    const { data, lacking } = await this.read(address);
    for (const node of lacking) {
      metrics.readRepairs.inc();
      void node.client.put(address, data).catch((e: unknown) => {
        this.opts.log?.warn({ err: e, node: node.id, address }, 'read repair failed; queued');
        void this.cluster.queueRepair([address], 'read repair failed').catch(() => undefined);
      });
    }
    return data;
  }

  /** The chunk's verified bytes from the first replica to answer, and those of its placement
   * targets that were found without it (or with it corrupt): `get` puts a copy back there,
   * repair copies itself. */
  async read(address: string): Promise<{ data: Buffer; lacking: ClusterNode[] }> {
    const { replicas } = this.quorum();
    const lacking: ClusterNode[] = [];
    const data = await this.hedgedRead(address, this.membership.readOrder(address, replicas), lacking);
    // By id: a membership refresh since the read began makes new node objects.
    const targets = new Set(place(address, this.membership.members(), replicas).map((n) => n.id));
    return { data, lacking: lacking.filter((n) => targets.has(n.id)) };
  }

  async deleteIfIdle(address: string, claimedBefore: number): Promise<boolean> {
    const deleted = await Promise.all(this.membership.all().filter((n) => n.alive).map((n) => n.client.deleteIfIdle(address, claimedBefore)));
    return deleted.some(Boolean);
  }

  async *inventory(options?: { debrisBefore?: number }): AsyncGenerator<ChunkInfo> {
    for (const node of this.membership.all().filter((n) => n.alive)) yield* node.client.inventory(options);
  }

  async stats(): Promise<ChunkStoreStats> {
    const all = await Promise.all(this.membership.all().filter((n) => n.alive).map((n) => n.client.status()));
    return { chunks: all.reduce((s, x) => s + x.chunks, 0), storedBytes: all.reduce((s, x) => s + x.storedBytes, 0) };
  }

  async close(): Promise<void> {
    await this.membership.stop();
  }

  /**
   * The first good answer of the replicas in `order`: the next one is asked when one fails,
   * or when it has not answered within its own recent p95 (a hedge); the rest are cancelled
   * once one answers. Nodes that lack the chunk or hold it corrupt are pushed to `lacking`.
   */
  private hedgedRead(address: string, order: ClusterNode[], lacking: ClusterNode[]): Promise<Buffer> {
    const cancel = new AbortController();
    let next = 0;
    let pending = 0;
    let settled = false;
    let unavailable: unknown;
    return new Promise<Buffer>((resolve, reject) => {
      const launch = (): void => {
        if (settled) return;
        if (next >= order.length) {
          if (pending > 0) return;
          settled = true;
          if (unavailable === undefined) reject(new ChunkNotFoundError(address));
          else reject(new S3Error('ServiceUnavailable', undefined, {}, { 'retry-after': '1' }));
          return;
        }
        const node = order[next++];
        const started = performance.now();
        pending++;
        const hedge = next < order.length ? setTimeout(() => {
          metrics.hedgedReads.inc();
          launch();
        }, node.latency.p95()) : undefined;
        node.client.get(address, { signal: cancel.signal }).then(
          (data) => {
            pending--;
            clearTimeout(hedge);
            node.latency.record(performance.now() - started);
            if (settled) return;
            settled = true;
            cancel.abort();
            resolve(data);
          },
          (e: unknown) => {
            pending--;
            clearTimeout(hedge);
            if (settled) return;
            if (e instanceof ChunkNotFoundError || e instanceof ChunkCorruptError) lacking.push(node);
            else if (this.isNodeFault(e)) {
              unavailable = e;
              this.membership.avoid(node, this.avoidMs, (e as Error).message);
            } else {
              settled = true;
              cancel.abort();
              reject(e);
              return;
            }
            launch();
          },
        );
      };
      launch();
    });
  }

  /** `fn` against one node; a node fault (unreachable, timed out, full) passes the node over
   * and yields undefined, anything else is thrown. */
  private async call<T>(node: ClusterNode, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await fn();
      this.membership.recovered(node);
      return result;
    } catch (e) {
      if (!this.isNodeFault(e)) throw e;
      this.membership.avoid(node, this.avoidMs, (e as Error).message);
      return undefined;
    }
  }

  private isNodeFault(e: unknown): boolean {
    return e instanceof NodeUnavailableError || e instanceof NodeFullError;
  }

  private tooFewNodes(have: number, need: number): S3Error {
    this.opts.log?.warn({ have, need }, 'too few storage nodes took a chunk: answering 503 SlowDown');
    return new S3Error('SlowDown', undefined, {}, { 'retry-after': '1' });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
