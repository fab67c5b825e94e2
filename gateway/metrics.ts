import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { redisErrors } from '../metadata/redis-bloom';

/** Prometheus metrics, served at /_rfs/metrics (an underscore can never start a bucket name). */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'rfs_' });

export const metrics = {
  requests: new Counter({ name: 'rfs_s3_requests_total', help: 'S3 requests by action and status', labelNames: ['action', 'status'], registers: [registry] }),
  requestSeconds: new Histogram({
    name: 'rfs_s3_request_seconds',
    help: 'S3 request latency by action',
    labelNames: ['action'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  }),
  gcDeletedChunks: new Counter({ name: 'rfs_gc_deleted_chunks_total', help: 'Chunks deleted by garbage collection', registers: [registry] }),
  gcDeletedBytes: new Counter({ name: 'rfs_gc_deleted_bytes_total', help: 'Stored bytes freed by garbage collection', registers: [registry] }),
  metadataUnavailable: new Counter({ name: 'rfs_metadata_unavailable_total', help: 'Requests answered 503 because the metadata database could not be reached', registers: [registry] }),
  // The storage-node tier (gateway/cluster/).
  underReplicatedWrites: new Counter({ name: 'rfs_under_replicated_writes_total', help: 'Chunks acknowledged with fewer than R replicas (W reached), queued for repair', registers: [registry] }),
  readRepairs: new Counter({ name: 'rfs_read_repairs_total', help: 'Replicas found missing or corrupt by a read and put back', registers: [registry] }),
  hedgedReads: new Counter({ name: 'rfs_hedged_reads_total', help: 'Chunk reads sent to a second replica because the first was slower than its p95', registers: [registry] }),
  replicasMissing: new Gauge({ name: 'rfs_replicas_missing', help: 'Chunks queued for repair (fewer than R good replicas)', registers: [registry] }),
  repairCopiedChunks: new Counter({ name: 'rfs_repair_copied_chunks_total', help: 'Replicas copied by repair and rebalance', registers: [registry] }),
  repairCopiedBytes: new Counter({ name: 'rfs_repair_copied_bytes_total', help: 'Bytes copied by repair and rebalance', registers: [registry] }),
  rebalanceDeletedChunks: new Counter({ name: 'rfs_rebalance_deleted_chunks_total', help: 'Extra replicas deleted once R good copies existed on their placement targets', registers: [registry] }),
  gcScannedChunks: new Counter({ name: 'rfs_gc_scanned_chunks_total', help: 'Chunks looked at by garbage collection', registers: [registry] }),
  lifecycleRows: new Counter({ name: 'rfs_lifecycle_rows_scanned_total', help: 'Metadata rows (versions, uploads) read by lifecycle passes', registers: [registry] }),
  lifecycleActions: new Counter({
    name: 'rfs_lifecycle_actions_total',
    help: 'What lifecycle rules did: expire (current version), noncurrent, delete_marker, abort_upload; locked: a version object lock kept',
    labelNames: ['action'],
    registers: [registry],
  }),
  jobRunning: new Gauge({ name: 'rfs_job_running', help: 'Whether this process is running the cluster job now', labelNames: ['task'], registers: [registry] }),
  nodes: new Gauge({ name: 'rfs_nodes', help: 'Storage nodes by state, as this gateway sees them', labelNames: ['state'], registers: [registry] }),
  objectsBytes: new Gauge({ name: 'rfs_objects_bytes', help: 'Bytes of every object version stored, before dedup and compression (set by each GC pass)', registers: [registry] }),
  replicas: new Gauge({ name: 'rfs_replicas', help: 'Configured replicas per chunk (R)', registers: [registry] }),
};
registry.registerMetric(redisErrors);
