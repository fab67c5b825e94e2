import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
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
};
registry.registerMetric(redisErrors);
