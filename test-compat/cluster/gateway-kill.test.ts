import http from 'node:http';
import { rm } from 'node:fs/promises';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createTestDatabase } from '../../metadata/pg.testing';
import { objectBytes, pseudoRandom, s3Client, s3Error, startChildServer, startTestServer, tempDataDir, type ChildServer, type TestServer } from '../harness';
import { signRequest } from '../http/signing';
import { MiB } from '../storage/disk';
import { holdersOver, nodeGatewayEnv, startedInto, startTestNode, type TestNode } from './nodes';
import { flushRedisDb, redisDbUrl } from './redis-db';

/**
 * A gateway killed with SIGKILL in the middle of a large PUT, in a cluster of storage nodes:
 * the chunks it had already sent stay on the nodes, but no object refers to them. Through a
 * second gateway on the same database and Redis, the object does not exist (HEAD, GET, LIST),
 * and garbage collection removes every chunk the dead upload left, after its grace period.
 *
 * Three storage nodes in this process; the gateway that dies is a child process (`npm start`'s
 * program), the one that lives is in this process. Membership and metadata in PostgreSQL
 * (CockroachDB's stand-in: CockroachDB-compatible SQL), a database of the suite's own; Redis
 * database 14, emptied afterwards.
 */
const REDIS_DB = 14;
const bucket = 'killed';
const GRACE_MS = 2000;

let database: { url: string; drop(): Promise<void> };
let nodes: TestNode[] = [];
let survivor: TestServer;
let s3: S3Client;
let childDir: string | undefined;
let child: ChildServer | undefined;

beforeAll(async () => {
  await flushRedisDb(REDIS_DB);
  database = await createTestDatabase(`rfs_gateway_kill_${process.pid}`);
  await startedInto(nodes, [
    startTestNode(database.url, 'gk-a', 'a'),
    startTestNode(database.url, 'gk-b', 'b'),
    startTestNode(database.url, 'gk-c', 'c'),
  ]);
  const cluster = { RFS_REDIS_URL: redisDbUrl(REDIS_DB), RFS_REPLICAS: '3', RFS_REPAIR_INTERVAL_SECONDS: '3600', RFS_GC_INTERVAL_SECONDS: '3600' };
  survivor = await startTestServer(nodeGatewayEnv(database.url, { ...cluster, RFS_GC_GRACE_SECONDS: String(GRACE_MS / 1000) }));
  s3 = s3Client(survivor.url, undefined, { maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  childDir = await tempDataDir('gateway-kill');
  child = await startChildServer(childDir, nodeGatewayEnv(database.url, cluster));
}, 90_000);

afterAll(async () => {
  s3?.destroy();
  await child?.stop();
  await survivor?.close();
  await Promise.all(nodes.map((n) => n.destroy()));
  if (childDir) await rm(childDir, { recursive: true, force: true });
  await database?.drop();
  await flushRedisDb(REDIS_DB);
}, 60_000);

test('GatewayKill9_midPut: a gateway killed mid-PUT leaves no object visible through the other, and GC removes every chunk the dead upload left on the nodes', async () => {
  // An object committed through the child before it dies: it must survive all of this.
  const kept = pseudoRandom(3 * MiB, 601);
  const throughChild = s3Client(child!.url, undefined, { maxAttempts: 1 });
  try {
    await throughChild.send(new PutObjectCommand({ Bucket: bucket, Key: 'kept', Body: kept }));
  } finally {
    throughChild.destroy();
  }
  expect((await objectBytes(s3, bucket, 'kept')).equals(kept)).toBe(true);
  const before = await holdersOver(nodes.map((n) => ({ id: n.id, url: n.node.url })));
  expect(before.size).toBeGreaterThan(0);

  // 40 MiB announced, 20 MiB sent, then SIGKILL.
  const total = 40 * MiB;
  const signed = await signRequest(child!.url, { method: 'PUT', path: `/${bucket}/crash/victim`, headers: { 'content-length': String(total) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
  const req = http.request(signed.url, { method: 'PUT', headers: signed.headers });
  req.on('error', () => undefined);
  for (let sent = 0; sent < 20 * MiB; sent += MiB) {
    if (!req.write(pseudoRandom(MiB, 700 + sent / MiB))) await new Promise((r) => req.once('drain', r));
  }
  // Until the chunks of what was sent have reached the nodes (the stream keeps the last
  // partial chunk): the upload is well under way when it dies.
  const fresh = async () => [...(await holdersOver(nodes.map((n) => ({ id: n.id, url: n.node.url })))).keys()].filter((a) => !before.has(a));
  for (let i = 0; i < 100 && (await fresh()).length < 10; i++) await new Promise((r) => setTimeout(r, 100));
  child!.process.kill('SIGKILL');
  expect(await child!.exited).toBe('SIGKILL');
  req.destroy();

  // Through the surviving gateway: no such object, nothing listed.
  expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'crash/victim' })))).toMatchObject({ status: 404 });
  expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'crash/victim' })))).toMatchObject({ name: 'NoSuchKey', status: 404 });
  const crashed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'crash/' }));
  expect(crashed.KeyCount).toBe(0);
  const all = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  expect(all.Contents?.map((o) => [o.Key, o.Size])).toEqual([['kept', kept.length]]);

  // What the dead upload left on the nodes: chunks no object refers to.
  const left = await fresh();
  expect(left.length).toBeGreaterThanOrEqual(10);
  expect(await survivor.rfs!.stores.meta.referencedChunks(left)).toEqual([]);

  // GC (2 s grace) removes them from every node; nothing else goes.
  const gc = survivor.rfs!.gc;
  const started = Date.now();
  let remaining = left;
  while (remaining.length > 0 && Date.now() - started < 20_000) {
    await gc.runOnce();
    const held = await holdersOver(nodes.map((n) => ({ id: n.id, url: n.node.url })));
    remaining = left.filter((a) => held.has(a));
    if (remaining.length > 0) await new Promise((r) => setTimeout(r, 300));
  }
  console.log(`gateway kill: ${left.length} chunks of the dead upload, gone from every node ${Date.now() - started} ms after the first GC pass`);
  expect(remaining).toEqual([]);
  const after = await holdersOver(nodes.map((n) => ({ id: n.id, url: n.node.url })));
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  for (const [address, ids] of after) expect({ address, copies: ids.length }).toEqual({ address, copies: 3 });
  expect((await objectBytes(s3, bucket, 'kept')).equals(kept)).toBe(true);
}, 90_000);
