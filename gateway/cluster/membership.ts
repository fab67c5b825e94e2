import type { FastifyBaseLogger } from 'fastify';
import type { ClusterStore, NodeRecord } from '../../metadata/cluster-store';
import type { ChangeBus } from '../../metadata/change-bus';
import { RemoteChunkStore } from '../../storage-node/remote-store';
import { LatencyWindow } from './latency';
import { place, rank } from './placement';

/** A node as a gateway sees it: its row, a client, and what this gateway has noticed. */
export interface ClusterNode extends NodeRecord {
  client: RemoteChunkStore;
  latency: LatencyWindow;
  /** Heartbeating and not stopped. */
  alive: boolean;
}

export interface MembershipOptions {
  secret: string;
  /** A node silent this long is down. */
  heartbeatTimeoutMs: number;
  /** A node down this long no longer counts as holding its chunks: they are copied elsewhere. */
  downAfterMs: number;
  refreshMs: number;
  /** Free bytes a node must report to take new chunks. */
  reserveBytes?: number;
  bus?: ChangeBus;
  log?: FastifyBaseLogger;
}

export const NODES_TOPIC = 'nodes';

/**
 * The membership table, cached and refreshed every `refreshMs` (and at once when another
 * process announces a change, such as a drain), plus what this gateway learns between
 * refreshes: a node that refused a connection or reported itself full is passed over for a
 * few seconds, so one dead node costs one failed request, not one per chunk until its
 * heartbeat lapses.
 */
export class Membership {
  private nodes: ClusterNode[] = [];
  private readonly clients = new Map<string, { url: string; client: RemoteChunkStore; latency: LatencyWindow }>();
  private readonly avoidUntil = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly cluster: ClusterStore,
    private readonly opts: MembershipOptions,
  ) {
    opts.bus?.subscribe(NODES_TOPIC, () => void this.refresh().catch(() => undefined));
    opts.bus?.onResync(() => void this.refresh().catch(() => undefined));
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch((e: unknown) => this.opts.log?.warn({ err: e }, 'membership refresh failed')), this.opts.refreshMs);
    this.timer.unref();
  }

  /** Calls `fn` after each refresh whose node set or states changed (repair reacts to joins and losses). */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.load().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Every known node, dead or alive. */
  all(): readonly ClusterNode[] {
    return this.nodes;
  }

  /** Nodes that take new chunks now: alive, up, not passed over, with room. */
  writable(): ClusterNode[] {
    const reserve = this.opts.reserveBytes ?? 0;
    return this.nodes.filter((n) => n.alive && n.state === 'up' && n.freeBytes > reserve && !this.avoided(n));
  }

  /** The nodes that should hold chunks: up, or down for less than `downAfterMs` (a restart or
   * a short partition is waited out, not answered by copying everything it held). Draining
   * nodes are not members: their chunks move away. */
  members(): ClusterNode[] {
    return this.nodes.filter((n) => n.state !== 'draining' && (n.alive || n.silentMs < this.opts.downAfterMs));
  }

  /** Where new copies of the chunk go, best first: every writable node, distinct zones first. */
  writeOrder(address: string): ClusterNode[] {
    const writable = this.writable();
    return place(address, writable, writable.length);
  }

  /** Where to look for the chunk, best first: where a write would put it now, where it should
   * be, then every other reachable node in rendezvous order (a write that found a target down
   * went to the next one). Nodes passed over come last. */
  readOrder(address: string, replicas: number): ClusterNode[] {
    const order = new Set<ClusterNode>([...place(address, this.writable(), replicas), ...place(address, this.members(), replicas), ...rank(address, this.nodes)]);
    const reachable = [...order].filter((n) => n.alive);
    const avoided = reachable.filter((n) => this.avoided(n));
    return [...reachable.filter((n) => !this.avoided(n)), ...avoided];
  }

  private avoided(node: ClusterNode): boolean {
    return (this.avoidUntil.get(node.id) ?? 0) > Date.now();
  }

  /** Passes over a node for `ms` (it refused a connection, timed out, or is full). */
  avoid(node: ClusterNode, ms: number, why: string): void {
    if (!this.avoided(node)) this.opts.log?.warn({ node: node.id, url: node.url, why }, 'passing over a storage node');
    this.avoidUntil.set(node.id, Date.now() + ms);
  }

  /** A node answered again: stop passing over it. */
  recovered(node: ClusterNode): void {
    this.avoidUntil.delete(node.id);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing?.catch(() => undefined);
    await Promise.all([...this.clients.values()].map((c) => c.client.close()));
    this.clients.clear();
  }

  /** What repair reacts to: which nodes exist, their states, and which are down for good. */
  private signature(): string {
    return this.nodes.map((n) => `${n.id}:${n.state}:${n.alive}:${n.silentMs >= this.opts.downAfterMs}`).join();
  }

  private async load(): Promise<void> {
    const rows = await this.cluster.nodes();
    const before = this.signature();
    this.nodes = rows.map((row) => {
      let entry = this.clients.get(row.id);
      if (entry === undefined || entry.url !== row.url) {
        void entry?.client.close();
        entry = { url: row.url, client: new RemoteChunkStore({ url: row.url, secret: this.opts.secret }), latency: new LatencyWindow() };
        this.clients.set(row.id, entry);
      }
      return { ...row, client: entry.client, latency: entry.latency, alive: row.state !== 'down' && row.silentMs < this.opts.heartbeatTimeoutMs };
    });
    for (const [id, entry] of this.clients) {
      if (!rows.some((r) => r.id === id)) {
        void entry.client.close();
        this.clients.delete(id);
      }
    }
    if (this.signature() !== before) for (const fn of this.listeners) fn();
  }
}
