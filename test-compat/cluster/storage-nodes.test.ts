import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createTestDatabase } from '../../metadata/pg.testing';
import type { ChunkInfo } from '../../storage-node/chunk-store';
import { place } from '../../gateway/cluster/placement';
import { objectBytes, pseudoRandom, ROOT, s3Client, s3Error, startTestServer, type TestServer } from '../harness';
import { signRequest } from '../http/signing';
import { MiB } from '../storage/disk';
import { nodeGatewayEnv, startTestNode, waitFor, type TestNode } from './nodes';
import { flushRedisDb, redisDbUrl } from './redis-db';
import { metrics as nodeMetrics } from '../../storage-node/metrics';

/**
 * The storage-node tier through a real gateway: four storage nodes (zones a, b, c, c) over
 * HTTP on 127.0.0.1, membership in PostgreSQL (CockroachDB's stand-in: CockroachDB-compatible
 * SQL), the key and chunk filters in Redis (database 13, emptied afterwards), R = 3. Each test checks what a user or operator would: bytes round-trip, where the
 * copies are, the S3 error when too few nodes are up, what is left after GC and drain.
 */
let database: { url: string; drop(): Promise<void> };
let nodes: TestNode[] = [];
let gateway: TestServer;
let s3: S3Client;
const bucket = 'tier';
const REDIS_DB = 13;
const env = (extra: Record<string, string>) => nodeGatewayEnv(database.url, { RFS_REDIS_URL: redisDbUrl(REDIS_DB), ...extra });

async function inventory(node: TestNode): Promise<ChunkInfo[]> {
  const out: ChunkInfo[] = [];
  for await (const c of node.node.store.inventory()) out.push(c);
  return out;
}

/** address → ids of the nodes holding it. */
async function holders(): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  for (const node of nodes.filter((n) => n.running)) for (const c of await inventory(node)) map.set(c.address, [...(map.get(c.address) ?? []), node.id]);
  return map;
}


async function admin(method: string, route: string): Promise<{ status: number; body: any }> {
  const signed = await signRequest(gateway.url, { method, path: route }, { keys: ROOT });
  const res = await fetch(signed.url, { method, headers: signed.headers });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

/** The chunks `put` added to the nodes. */
async function newChunks(put: () => Promise<unknown>): Promise<string[]> {
  const before = await holders();
  await put();
  return [...(await holders()).keys()].filter((a) => !before.has(a));
}

const chunkFile = (node: TestNode, address: string) => path.join(node.dir, 'chunks', address.slice(0, 2), address.slice(2, 4), address);

const repair = () => gateway.rfs!.repair!.runOnce();
const alive = () => gateway.rfs!.stores.cluster!.membership.all().filter((n) => n.alive).map((n) => n.id).sort();

beforeAll(async () => {
  database = await createTestDatabase(`rfs_nodes_${process.pid}`);
  nodes = await Promise.all([
    startTestNode(database.url, 'n1', 'a'),
    startTestNode(database.url, 'n2', 'b'),
    startTestNode(database.url, 'n3', 'c'),
    startTestNode(database.url, 'n4', 'c'),
  ]);
  gateway = await startTestServer(env({ RFS_REPLICAS: '3', RFS_GC_GRACE_SECONDS: '1', RFS_GC_INTERVAL_SECONDS: '3600', RFS_REPAIR_INTERVAL_SECONDS: '3600' }));
  s3 = s3Client(gateway.url);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

afterAll(async () => {
  s3?.destroy();
  await gateway?.close();
  await Promise.all(nodes.map((n) => n.destroy()));
  await database?.drop();
  await flushRedisDb(REDIS_DB);
});

test('Nodes_roundTrip: every chunk of an object is on 3 nodes in 3 zones, the ones placement names, and reads back byte-exact', async () => {
  const body = pseudoRandom(6 * MiB, 1);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'six', Body: body }));
  expect((await objectBytes(s3, bucket, 'six')).equals(body)).toBe(true);
  const held = await holders();
  expect(held.size).toBeGreaterThanOrEqual(3);
  const zoneOf = new Map(nodes.map((n) => [n.id, n.zone]));
  const members = nodes.map((n) => ({ id: n.id, zone: n.zone, capacityBytes: 0 }));
  const capacity = new Map(gateway.rfs!.stores.cluster!.membership.all().map((n) => [n.id, n.capacityBytes]));
  for (const m of members) m.capacityBytes = capacity.get(m.id)!;
  for (const [address, ids] of held) {
    expect(ids).toHaveLength(3);
    expect(new Set(ids.map((id) => zoneOf.get(id))).size).toBe(3);
    expect([...ids].sort()).toEqual(place(address, members, 3).map((n) => n.id).sort());
  }
});

/** Chunk PUTs the nodes (all in this process, one metrics registry) have answered. */
async function chunkPuts(): Promise<number> {
  return (await nodeMetrics.requests.get()).values.filter((v) => v.labels.op === 'put').reduce((n, v) => n + v.value, 0);
}

test('Nodes_dedup: the same bytes under another key add no chunk to any node, and are not even sent (the Redis chunk filter)', async () => {
  const body = pseudoRandom(4 * MiB, 2);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dup-1', Body: body }));
  const before = await holders();
  const puts = await chunkPuts();
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dup-2', Body: body }));
  expect(await holders()).toEqual(before);
  // Every replica already held each chunk: the gateway asked (renewing the leases) instead.
  expect(await chunkPuts()).toBe(puts);
  expect((await objectBytes(s3, bucket, 'dup-2')).equals(body)).toBe(true);
});

test('Nodes_corruptReplica: a chunk file damaged on disk still reads right, and the read puts a good copy back', async () => {
  const body = pseudoRandom(3 * MiB, 3);
  const held = await newChunks(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'rot', Body: body })));
  // Damage every chunk of the object on its first placement target: reads go there first.
  const members = gateway.rfs!.stores.cluster!.membership.members();
  let damaged = 0;
  for (const address of held) {
    const first = place(address, members, 3)[0];
    const node = nodes.find((n) => n.id === first.id)!;
    const file = path.join(node.dir, 'chunks', address.slice(0, 2), address.slice(2, 4), address);
    const names = await readdir(path.dirname(file));
    if (!names.includes(address)) continue;
    await writeFile(file, Buffer.from('not the chunk you stored'));
    damaged++;
  }
  expect(damaged).toBeGreaterThan(0);
  expect((await objectBytes(s3, bucket, 'rot')).equals(body)).toBe(true);
  // Read repair rewrote each damaged replica with verified bytes; one whose read a hedged
  // read overtook (and cancelled) was queued for repair by the node, which the job heals.
  await waitFor('read repair and the repair queue rewrote the damaged replicas', async () => {
    await repair();
    for (const address of held) {
      const first = nodes.find((n) => n.id === place(address, members, 3)[0].id)!;
      const data = await first.node.store.get(address).catch(() => undefined);
      if (!data) return false;
    }
    return true;
  });
});

test('Nodes_scrub: a chunk file corrupted on disk is found by scrub on its node and replaced from a good replica', async () => {
  const body = pseudoRandom(2 * MiB, 8);
  const chunks = await newChunks(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'scrubbed', Body: body })));
  const address = chunks[0];
  const node = nodes.find((n) => n.running && existsSync(chunkFile(n, address)))!;
  const file = chunkFile(node, address);
  const good = await readFile(file);
  const bad = Buffer.from(good);
  bad[bad.length - 1] ^= 0xff; // one flipped bit's worth of rot, same size
  await writeFile(file, bad);
  const report = await node.node.scrub();
  expect(report?.corrupt).toBe(1);
  expect(existsSync(file)).toBe(false); // set aside, and queued for repair
  await repair();
  expect((await readFile(file)).equals(good)).toBe(true);
  expect((await node.node.store.get(address)).length).toBeGreaterThan(0);
  expect((await objectBytes(s3, bucket, 'scrubbed')).equals(body)).toBe(true);
});

test('Nodes_gc: deleting the objects frees their chunks on every node', async () => {
  const body = pseudoRandom(3 * MiB, 4);
  const doomed = await newChunks(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'doomed', Body: body })));
  expect(doomed.length).toBeGreaterThan(0);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'doomed' }));
  // Once their leases are older than the grace period, a pass sees them unreferenced; a pass
  // a grace period later deletes them.
  await new Promise((r) => setTimeout(r, 1200));
  expect((await gateway.rfs!.gc.runOnce())?.deleted).toBe(0);
  await new Promise((r) => setTimeout(r, 1200));
  const report = await gateway.rfs!.gc.runOnce();
  expect(report?.deleted).toBe(doomed.length * 3);
  const after = await holders();
  expect(doomed.filter((a) => after.has(a))).toEqual([]);
  // The other objects' chunks stay.
  for (const key of ['six', 'dup-1', 'dup-2', 'rot']) expect((await objectBytes(s3, bucket, key)).length).toBeGreaterThan(0);
});

test('Nodes_nodeDown: with a node stopped, reads still work, a write that cannot reach W=R answers 503 SlowDown, and W=2 writes are repaired when it returns', async () => {
  const body = pseudoRandom(2 * MiB, 5);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'before-stop', Body: body }));
  // Stop two nodes of four: only two up, fewer than W = R = 3.
  await nodes[0].stop();
  await nodes[1].stop();
  await gateway.rfs!.stores.cluster!.membership.refresh();
  expect(alive()).toEqual(['n3', 'n4']);
  expect((await objectBytes(s3, bucket, 'before-stop')).equals(body)).toBe(true);
  const refused = await s3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'refused', Body: pseudoRandom(MiB, 6) })));
  expect(refused).toMatchObject({ name: 'SlowDown', status: 503 });
  await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'refused' }))).rejects.toMatchObject({ name: 'NoSuchKey' });

  // A second gateway with W = 2 takes writes with two nodes up, and queues the third replica.
  const w2 = await startTestServer(env({ RFS_REPLICAS: '3', RFS_WRITE_QUORUM: '2', RFS_REPAIR_INTERVAL_SECONDS: '3600' }));
  const s3w2 = s3Client(w2.url);
  try {
    const later = pseudoRandom(3 * MiB, 7);
    const backlog = await gateway.rfs!.stores.meta.cluster.repairBacklog(); // the corrupt replicas reads found
    const written = await newChunks(() => s3w2.send(new PutObjectCommand({ Bucket: bucket, Key: 'written-with-w2', Body: later })));
    for (const address of written) expect((await holders()).get(address)).toHaveLength(2);
    expect(await gateway.rfs!.stores.meta.cluster.repairBacklog()).toBe(backlog + written.length);
    await nodes[0].restart();
    await nodes[1].restart();
    await w2.rfs!.stores.cluster!.membership.refresh();
    // A run under way when the nodes came back postpones what it could not copy, by a second.
    await waitFor('the repair queue is empty', async () => {
      await w2.rfs!.repair!.runOnce();
      return (await gateway.rfs!.stores.meta.cluster.repairBacklog()) === 0;
    });
    await gateway.rfs!.stores.cluster!.membership.refresh();
    const members = gateway.rfs!.stores.cluster!.membership.members();
    for (const [address, ids] of await holders()) {
      const targets = place(address, members, 3).map((n) => n.id);
      for (const t of targets) if (!ids.includes(t)) throw new Error(`chunk ${address} missing on target ${t} after repair (held by ${ids})`);
    }
    expect((await objectBytes(s3, bucket, 'written-with-w2')).equals(later)).toBe(true);
  } finally {
    s3w2.destroy();
    await w2.close();
  }
});

test('Nodes_drain: a drained node ends up empty, every chunk still on 3 nodes, and can then be forgotten', async () => {
  await waitFor('all four nodes up', async () => {
    await gateway.rfs!.stores.cluster!.membership.refresh();
    return alive().length === 4;
  });
  const drained = nodes[3]; // zone c, like n3: the cluster keeps 3 zones
  expect((await admin('POST', `/_rfs/admin/nodes/${drained.id}/drain`)).status).toBe(200);
  await repair();
  expect(await inventory(drained)).toEqual([]);
  const held = await holders();
  for (const [address, ids] of held) expect({ address, copies: ids.length }).toEqual({ address, copies: 3 });
  for (const key of ['six', 'dup-1', 'rot', 'before-stop', 'written-with-w2']) expect((await objectBytes(s3, bucket, key)).length).toBeGreaterThan(0);
  const status = await admin('GET', '/_rfs/admin/cluster');
  expect(status.body.nodes.find((n: { id: string }) => n.id === drained.id).state).toBe('draining');
  expect((await admin('DELETE', `/_rfs/admin/nodes/${drained.id}`)).status).toBe(200);
  // Admin calls are for admins only: unsigned is refused.
  expect((await fetch(`${gateway.url}/_rfs/admin/cluster`)).status).toBe(403);
});
