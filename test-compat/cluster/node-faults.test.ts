import { rm } from 'node:fs/promises';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createTestDatabase } from '../../metadata/pg.testing';
import { objectBytes, pseudoRandom, s3Client, startTestServer, type TestServer } from '../harness';
import { MiB } from '../storage/disk';
import { freePort, holdersOver, nodeGatewayEnv, startChildNode, type ChildNode } from './nodes';

/**
 * Storage nodes as their own processes (`npm run storage-node`'s program), killed with
 * SIGKILL mid-write: what was acknowledged must read back byte-exact, and the replicas the
 * dead node missed must be healed once it returns. Membership in PostgreSQL (CockroachDB's
 * stand-in: CockroachDB-compatible SQL), a database of the suite's own.
 */
let database: { url: string; drop(): Promise<void> };
let nodes: ChildNode[] = [];
let gateway: TestServer;
let s3: S3Client;

beforeAll(async () => {
  database = await createTestDatabase(`rfs_node_faults_${process.pid}`);
  nodes = await Promise.all(['a', 'b', 'c'].map(async (zone) => startChildNode(database.url, `kill-${zone}`, zone, { port: await freePort() })));
  gateway = await startTestServer(nodeGatewayEnv(database.url, { RFS_REPLICAS: '3', RFS_WRITE_QUORUM: '2', RFS_REPAIR_INTERVAL_SECONDS: '3600' }));
  s3 = s3Client(gateway.url, undefined, { maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: 'faults' }));
});

afterAll(async () => {
  s3?.destroy();
  await gateway?.close();
  await Promise.all(nodes.map((n) => n.kill()));
  await Promise.all(nodes.map((n) => rm(n.dir, { recursive: true, force: true })));
  await database?.drop();
});

test('NodeKill9_50PUTs: a node killed with SIGKILL during 50 concurrent PUTs loses no acknowledged byte, and its replicas are healed after it restarts', async () => {
  const victim = nodes[1];
  const bodies = Array.from({ length: 50 }, (_, i) => pseudoRandom(MiB + 300_000 * (i % 7), 9000 + i));
  let acknowledged = 0;
  const acked = new Set<number>();
  const killed = new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (acknowledged < 10) return;
      clearInterval(check);
      void victim.kill('SIGKILL').then(resolve);
    }, 5);
  });
  const results = await Promise.allSettled(
    bodies.map(async (body, i) => {
      await s3.send(new PutObjectCommand({ Bucket: 'faults', Key: `obj-${i}`, Body: body }));
      acknowledged++;
      acked.add(i);
    }),
  );
  await killed;
  // W = 2 of R = 3: with one of three nodes gone, writes go on.
  expect(acked.size).toBeGreaterThanOrEqual(40);
  for (const r of results) if (r.status === 'rejected') expect((r.reason as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(503);
  for (const i of acked) expect((await objectBytes(s3, 'faults', `obj-${i}`)).equals(bodies[i])).toBe(true);
  const meta = gateway.rfs!.stores.meta;
  expect(await meta.cluster.repairBacklog()).toBeGreaterThan(0);

  await victim.restart();
  const membership = gateway.rfs!.stores.cluster!.membership;
  for (let i = 0; i < 100 && !membership.all().every((n) => n.alive); i++) {
    await membership.refresh();
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let i = 0; i < 100 && (await meta.cluster.repairBacklog()) > 0; i++) {
    await gateway.rfs!.repair!.runOnce();
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(await meta.cluster.repairBacklog()).toBe(0);
  // Every chunk any acknowledged object references is on all three nodes again.
  const held = await holdersOver(nodes);
  const referenced = await meta.referencedChunks([...held.keys()]);
  expect(referenced.length).toBeGreaterThan(0);
  for (const address of referenced) expect({ address, nodes: held.get(address)!.length }).toEqual({ address, nodes: 3 });
  for (const i of acked) expect((await objectBytes(s3, 'faults', `obj-${i}`)).equals(bodies[i])).toBe(true);
});
