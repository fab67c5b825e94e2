import http from 'node:http';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createTestDatabase } from '../../metadata/pg.testing';
import type { ChunkInfo } from '../../storage-node/chunk-store';
import { objectBytes, pseudoRandom, s3Client, s3Error, startTestServer, type TestServer } from '../harness';
import { MiB } from '../storage/disk';
import { signRequest } from '../http/signing';
import { Chunker } from '../../gateway/objects/chunker';
import { nodeGatewayEnv, startedInto, startTestNode, type TestNode } from './nodes';

/**
 * Storage nodes running out of room. A node refuses a chunk it has no room for (507), and
 * reports its free space with every heartbeat; the gateway places the chunk on the next node
 * instead, so a small node fills up to its capacity and no further while writes go on. When
 * every node is full, a PUT answers S3's 503 SlowDown and leaves no object behind.
 *
 * Membership in PostgreSQL (CockroachDB's stand-in: CockroachDB-compatible SQL), databases of
 * the suite's own; storage nodes in this process on 127.0.0.1.
 */
const CAPACITY = 3 * MiB;
/** Chunks of 64 KiB to 1 MiB (256 KiB on average): a 3 MiB node fills chunk by chunk. */
const CHUNKING = { RFS_CHUNK_MIN_BYTES: String(64 * 1024), RFS_CHUNK_AVG_BYTES: String(256 * 1024), RFS_CHUNK_MAX_BYTES: String(MiB), RFS_INLINE_MAX_BYTES: '4096' };

const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error('cleanup failed', e));
});

async function inventory(node: TestNode): Promise<ChunkInfo[]> {
  const out: ChunkInfo[] = [];
  for await (const c of node.node.store.inventory()) out.push(c);
  return out;
}

/** address → ids of the nodes holding it, from their disks. */
async function holders(nodes: TestNode[]): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  for (const node of nodes) for (const c of await inventory(node)) map.set(c.address, [...(map.get(c.address) ?? []), node.id]);
  return map;
}

/** A cluster of its own: a database, nodes, a gateway with an S3 client and one bucket. */
async function cluster(name: string, specs: { id: string; zone: string; extra?: Record<string, string> }[], env: Record<string, string>) {
  const database = await createTestDatabase(`rfs_${name}_${process.pid}`);
  cleanups.push(() => database.drop());
  const nodes: TestNode[] = [];
  cleanups.push(() => Promise.all(nodes.map((n) => n.destroy())));
  await startedInto(nodes, specs.map((s) => startTestNode(database.url, s.id, s.zone, s.extra)));
  const gateway: TestServer = await startTestServer(nodeGatewayEnv(database.url, { RFS_REPAIR_INTERVAL_SECONDS: '3600', RFS_GC_INTERVAL_SECONDS: '3600', ...CHUNKING, ...env }));
  cleanups.push(() => gateway.close());
  // One attempt per call: the SDK would otherwise retry the 503s looked at here.
  const s3 = s3Client(gateway.url, undefined, { maxAttempts: 1 });
  cleanups.push(async () => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: 'cap' }));
  return { database, nodes, gateway, s3 };
}

test('Capacity_smallNodeFills: with one node of 3 MiB among four, 20 MiB of writes all succeed, the small node stays within its capacity, and every chunk has 3 copies', async () => {
  // The small node is alone in its zone, so placement names it for every chunk (one copy
  // per zone first) until it is full; then the chunk's copy goes to the other zone-c node.
  const { nodes, s3 } = await cluster('capacity', [
    { id: 'small', zone: 'a', extra: { RFS_NODE_CAPACITY: String(CAPACITY) } },
    { id: 'big-b', zone: 'b' },
    { id: 'big-c1', zone: 'c' },
    { id: 'big-c2', zone: 'c' },
  ], { RFS_REPLICAS: '3' });
  const small = nodes[0];
  const bodies = Array.from({ length: 10 }, (_, i) => pseudoRandom(2 * MiB + 1000 * i, 300 + i));
  let largestSeen = 0;
  const sampler = setInterval(() => {
    void small.node.server.status().then((s) => (largestSeen = Math.max(largestSeen, s.storedBytes)), () => undefined);
  }, 20);
  try {
    // Two writers at once: the space checks must hold for concurrent chunk PUTs too.
    await Promise.all([0, 1].map(async (w) => {
      for (let i = w; i < bodies.length; i += 2) await s3.send(new PutObjectCommand({ Bucket: 'cap', Key: `obj-${i}`, Body: bodies[i] }));
    }));
  } finally {
    clearInterval(sampler);
  }
  for (const [i, body] of bodies.entries()) expect((await objectBytes(s3, 'cap', `obj-${i}`)).equals(body)).toBe(true);

  const status = await small.node.server.status();
  const onDisk = await small.node.store.stats();
  console.log(`capacity: small node holds ${onDisk.chunks} chunks, ${onDisk.storedBytes} bytes on disk (status ${status.storedBytes}, largest seen ${largestSeen}) of ${CAPACITY}`);
  // It took chunks until it was full, and never more than its capacity.
  expect(onDisk.storedBytes).toBeLessThanOrEqual(CAPACITY);
  expect(status.storedBytes).toBe(onDisk.storedBytes);
  expect(largestSeen).toBeLessThanOrEqual(CAPACITY);
  expect(onDisk.storedBytes).toBeGreaterThan(CAPACITY - MiB); // filled to within a chunk's size
  expect(status.freeBytes).toBeLessThan(MiB);

  const held = await holders(nodes);
  const chunks = [...held.keys()];
  expect(chunks.length).toBeGreaterThan(40);
  let elsewhere = 0;
  for (const [address, ids] of held) {
    expect({ address, copies: ids.length }).toEqual({ address, copies: 3 });
    if (!ids.includes('small')) {
      // Written when the small node was full: on the three others.
      expect([...ids].sort()).toEqual(['big-b', 'big-c1', 'big-c2']);
      elsewhere++;
    }
  }
  // Most of the 20 MiB went elsewhere once the small node was full.
  expect(elsewhere).toBeGreaterThan(chunks.length / 2);
}, 90_000);

test('Capacity_allFull: with every node full, a PUT answers 503 SlowDown, and nothing of it is visible', async () => {
  const { nodes, s3 } = await cluster('capacity_full', [
    { id: 'full-a', zone: 'a', extra: { RFS_NODE_CAPACITY: String(2 * MiB) } },
    { id: 'full-b', zone: 'b', extra: { RFS_NODE_CAPACITY: String(2 * MiB) } },
    { id: 'full-c', zone: 'c', extra: { RFS_NODE_CAPACITY: String(2 * MiB) } },
  ], { RFS_REPLICAS: '3', RFS_WRITE_QUORUM: '2' });
  // 8 MiB into three nodes of 2 MiB each (every chunk goes to all three): the first chunks
  // fit, then no node has room.
  const first = await s3Error(s3.send(new PutObjectCommand({ Bucket: 'cap', Key: 'too-big', Body: pseudoRandom(8 * MiB, 71) })));
  expect(first).toMatchObject({ name: 'SlowDown', status: 503 });
  // The nodes are full now: what they hold is near their capacity, and no more.
  for (const node of nodes) {
    const s = await node.node.server.status();
    expect({ id: node.id, within: s.storedBytes <= 2 * MiB, full: s.freeBytes < MiB }).toEqual({ id: node.id, within: true, full: true });
  }
  // Another PUT meets a cluster with no room at all.
  const second = await s3Error(s3.send(new PutObjectCommand({ Bucket: 'cap', Key: 'no-room', Body: pseudoRandom(3 * MiB, 72) })));
  expect(second).toMatchObject({ name: 'SlowDown', status: 503 });
  expect(second.headers['retry-after']).toBeDefined();
  // Nothing partial: neither key exists, the bucket lists empty.
  for (const key of ['too-big', 'no-room']) {
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: 'cap', Key: key })))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect((await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'cap', Key: key })))).status).toBe(404);
  }
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'cap' }));
  expect(listed.KeyCount).toBe(0);
  expect(listed.Contents ?? []).toEqual([]);
}, 60_000);

test('Capacity_spareCopiesRenewed: an upload that pauses long enough to renew its chunk leases commits, though a node too full for its chunks is writable again by then', async () => {
  // The tiny node (zone a, alone) has room for no chunk of the upload's first part, so each of
  // those chunks goes to the other zone-c node instead; it is passed over for a few seconds
  // after each refusal, then writable again (it has room for small chunks). W = R = 3, and a
  // grace period of 2 s: the upload renews its chunks' leases before it commits, and must
  // find three copies of each, wherever they are.
  const { gateway, nodes, s3 } = await cluster('capacity_spares', [
    { id: 'tiny', zone: 'a', extra: { RFS_NODE_CAPACITY: String(64 * 1024) } },
    { id: 'spare-b', zone: 'b' },
    { id: 'spare-c1', zone: 'c' },
    { id: 'spare-c2', zone: 'c' },
  ], { RFS_REPLICAS: '3', RFS_WRITE_QUORUM: '3', RFS_GC_GRACE_SECONDS: '2' });
  const membership = gateway.rfs!.stores.cluster!.membership;
  // The first part ends exactly at a chunk boundary, so all its chunks are written before
  // the pause; the rest (8 KiB, room enough on the tiny node) is the last chunk.
  const whole = pseudoRandom(MiB, 81);
  const chunker = new Chunker({ minSize: 64 * 1024, avgSize: 256 * 1024, maxSize: MiB });
  const cut = chunker.push(whole).reduce((n, c) => n + c.length, 0);
  const first = whole.subarray(0, cut);
  const rest = pseudoRandom(8 * 1024, 82);
  const body = Buffer.concat([first, rest]);
  expect(cut).toBeGreaterThan(256 * 1024);

  const signed = await signRequest(gateway.url, { method: 'PUT', path: '/cap/paused', headers: { 'content-length': String(body.length) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
  const req = http.request(signed.url, { method: 'PUT', headers: signed.headers });
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
  });
  req.write(first);
  const firstChunks = new Chunker({ minSize: 64 * 1024, avgSize: 256 * 1024, maxSize: MiB }).push(first).length;
  const bigNodes = nodes.slice(1);
  const stored = async () => (await Promise.all(bigNodes.map((n) => n.node.store.stats()))).every((s) => s.chunks === firstChunks);
  for (let i = 0; i < 100 && !(await stored()); i++) await new Promise((r) => setTimeout(r, 100));
  expect(await stored()).toBe(true);
  expect((await nodes[0].node.store.stats()).chunks).toBe(0);
  // The tiny node is back among the writable nodes (its refusals have been waited out).
  for (let i = 0; i < 100 && !membership.writable().some((n) => n.id === 'tiny'); i++) await new Promise((r) => setTimeout(r, 100));
  expect(membership.writable().some((n) => n.id === 'tiny')).toBe(true);
  req.end(rest);
  const { status, text } = await answer;
  expect({ status, text }).toEqual({ status: 200, text: '' });
  expect((await objectBytes(s3, 'cap', 'paused')).equals(body)).toBe(true);
  // Every chunk on three nodes: the first part's on the three big ones, the last one on the
  // tiny node and two others.
  const held = await holders(nodes);
  expect(held.size).toBe(firstChunks + 1);
  for (const [address, ids] of held) expect({ address, copies: ids.length }).toEqual({ address, copies: 3 });
  expect((await nodes[0].node.store.stats()).chunks).toBe(1);
}, 60_000);
