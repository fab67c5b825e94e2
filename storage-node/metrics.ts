import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { NodeStatus } from './protocol';

/** A storage node's Prometheus metrics, served at /metrics; a registry of its own, apart from
 * the gateway's, so a process running both exposes each under its own names. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'rfs_node_' });

export const NODE_OPS = ['put', 'get', 'head', 'claim', 'delete', 'holding', 'inventory', 'status'] as const;
export type NodeOp = (typeof NODE_OPS)[number];

/** Where the gauges read the node's counters at scrape time (the server sets it). One node per
 * process in production; in tests the latest server started wins. */
let statusSource: (() => Promise<NodeStatus>) | undefined;
let scrape: Promise<NodeStatus> | undefined;

/** Makes the gauges report `source`; returns the function that stops it. */
export function reportStatusFrom(source: () => Promise<NodeStatus>): () => void {
  statusSource = source;
  return () => {
    if (statusSource === source) statusSource = undefined;
  };
}

/** The five gauges of one scrape share one status() call. */
function currentStatus(): Promise<NodeStatus> | undefined {
  if (statusSource === undefined) return undefined;
  scrape ??= statusSource().finally(() => (scrape = undefined));
  return scrape;
}

function statusGauge(name: string, help: string, pick: (s: NodeStatus) => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      const status = await currentStatus();
      if (status !== undefined) this.set(pick(status));
    },
  });
}

export const metrics = {
  chunks: statusGauge('rfs_node_chunks', 'Chunks held', (s) => s.chunks),
  logicalBytes: statusGauge('rfs_node_logical_bytes', 'Original bytes of the chunks held', (s) => s.logicalBytes),
  storedBytes: statusGauge('rfs_node_stored_bytes', 'Bytes of the chunk files on disk', (s) => s.storedBytes),
  capacityBytes: statusGauge('rfs_node_capacity_bytes', 'Bytes the node offers', (s) => s.capacityBytes),
  freeBytes: statusGauge('rfs_node_free_bytes', 'min(capacity - stored, free space of the filesystem)', (s) => s.freeBytes),
  requestSeconds: new Histogram({
    name: 'rfs_node_request_seconds',
    help: 'Storage node request latency by operation',
    labelNames: ['op'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [registry],
  }),
  requests: new Counter({ name: 'rfs_node_requests_total', help: 'Storage node requests by operation and status', labelNames: ['op', 'status'], registers: [registry] }),
  dedupHits: new Counter({ name: 'rfs_node_dedup_hits_total', help: 'PUTs of a chunk already held', registers: [registry] }),
  corruptChunks: new Counter({ name: 'rfs_node_corrupt_chunks_total', help: 'Chunks found corrupt on read and set aside', registers: [registry] }),
  scrubCheckedChunks: new Counter({ name: 'rfs_node_scrub_checked_chunks_total', help: 'Chunks verified by the scrub job', registers: [registry] }),
  scrubCheckedBytes: new Counter({ name: 'rfs_node_scrub_checked_bytes_total', help: 'Stored bytes verified by the scrub job', registers: [registry] }),
};
