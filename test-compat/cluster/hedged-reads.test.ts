import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createTestDatabase } from '../../metadata/pg.testing';
import { place } from '../../gateway/cluster/placement';
import { objectBytes, pseudoRandom, s3Client, startTestServer, type TestServer } from '../harness';
import { MiB } from '../storage/disk';
import { startTcpProxy, type TcpProxy } from '../tcp-proxy';
import { freePort, nodeGatewayEnv, startTestNode, type TestNode } from './nodes';

/**
 * Hedged reads: three storage nodes, R = 3, one of them reached through a TCP proxy that can
 * hold its answers back (a slow disk, a busy machine). A GET must not wait for the slow
 * replica: once it is slower than its recent p95, the next replica is asked too. Membership
 * in PostgreSQL (CockroachDB's stand-in: CockroachDB-compatible SQL).
 */
let database: { url: string; drop(): Promise<void> };
let nodes: TestNode[] = [];
let proxy: TcpProxy;
let gateway: TestServer;
let s3: S3Client;

beforeAll(async () => {
  database = await createTestDatabase(`rfs_hedged_${process.pid}`);
  const port = await freePort();
  proxy = await startTcpProxy('127.0.0.1', port);
  nodes = [
    await startTestNode(database.url, 'slow', 'a', { RFS_NODE_PORT: String(port), RFS_NODE_URL: `http://127.0.0.1:${proxy.port}` }),
    await startTestNode(database.url, 'fast-b', 'b'),
    await startTestNode(database.url, 'fast-c', 'c'),
  ];
  gateway = await startTestServer(nodeGatewayEnv(database.url, { RFS_REPLICAS: '3' }));
  s3 = s3Client(gateway.url);
  await s3.send(new CreateBucketCommand({ Bucket: 'hedge' }));
});

afterAll(async () => {
  s3?.destroy();
  await gateway?.close();
  await Promise.all(nodes.map((n) => n.destroy()));
  await proxy?.close();
  await database?.drop();
});

async function hedgedReads(): Promise<number> {
  const text = await (await fetch(`${gateway.url}/_rfs/metrics`)).text();
  return Number(/^rfs_hedged_reads_total (\S+)/m.exec(text)?.[1] ?? 0);
}

test('HedgedRead_slowReplica: a GET whose first replica stalls is answered by the next one, well before the stalled answer would arrive', async () => {
  const body = pseudoRandom(8 * MiB, 77);
  await s3.send(new PutObjectCommand({ Bucket: 'hedge', Key: 'obj', Body: body }));
  // The slow node must be the first replica asked for at least one chunk of the object.
  const membership = gateway.rfs!.stores.cluster!.membership;
  const refs = await gateway.rfs!.stores.meta.getChunks((await gateway.rfs!.stores.meta.getObject('hedge', 'obj')).id, 0, body.length - 1);
  const slowFirst = refs.filter((r) => membership.readOrder(r.address, 3)[0].id === 'slow');
  expect(slowFirst.length).toBeGreaterThan(0);
  expect(refs.every((r) => place(r.address, membership.members(), 3).length === 3)).toBe(true);
  // Warm the latency windows with ordinary reads.
  for (let i = 0; i < 12; i++) expect((await objectBytes(s3, 'hedge', 'obj')).equals(body)).toBe(true);
  const before = await hedgedReads();
  proxy.delay(3000);
  const started = Date.now();
  expect((await objectBytes(s3, 'hedge', 'obj')).equals(body)).toBe(true);
  const took = Date.now() - started;
  proxy.delay(0);
  expect(took).toBeLessThan(3000);
  expect((await hedgedReads()) - before).toBeGreaterThanOrEqual(slowFirst.length);
});
