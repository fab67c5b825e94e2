import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { request } from 'undici';
import { chunkAddress } from './address';
import { ChunkCorruptError, ChunkNotFoundError } from './chunk-store';
import { describeChunkStore } from './chunk-store.contract';
import { DiskChunkStore } from './disk-store';
import { metrics } from './metrics';
import { HOLDING_MAX, NODE_TIME_HEADER } from './protocol';
import { AddressMismatchError, NodeFullError, NodeUnavailableError, RemoteChunkStore } from './remote-store';
import { buildNodeServer, type NodeServerOptions } from './server';

const SECRET = 'cluster-secret-5f1c9e0a77d2';
const quiet = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface TestNode {
  dir: string;
  store: DiskChunkStore;
  server: Awaited<ReturnType<typeof buildNodeServer>>;
  url: string;
  stop(): Promise<void>;
}

/** A storage node on a DiskChunkStore in a temp dir (or `dir`), on 127.0.0.1. */
async function startNode(options: Partial<NodeServerOptions> & { dir?: string } = {}): Promise<TestNode> {
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'rfs-node-')));
  const store = await DiskChunkStore.open(dir);
  const server = await buildNodeServer({ store, secret: SECRET, id: 'n1', zone: 'z1', log: quiet, ...options });
  await server.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.app.server.address() as { port: number };
  let stopped = false;
  return {
    dir,
    store,
    server,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One plain HTTP request, its whole answer. */
async function raw(url: string, method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD', p: string, options: { headers?: Record<string, string>; body?: Buffer | string; auth?: boolean } = {}) {
  const headers = { ...(options.auth === false ? {} : { authorization: `Bearer ${SECRET}` }), ...options.headers };
  const res = await request(url + p, { method, headers, body: options.body });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body, json: () => JSON.parse(body.toString()) as Record<string, unknown> };
}

function randomChunk(size = 4096): { address: string; data: Buffer } {
  const data = randomBytes(size);
  return { address: chunkAddress(data), data };
}

/** Text that LZ4 shrinks a lot. */
function compressible(bytes: number): Buffer {
  let text = '';
  for (let i = 0; text.length < bytes; i++) text += `{"ts":${1_700_000_000_000 + i * 137},"level":"info","path":"/bucket/key-${i % 977}"}\n`;
  return Buffer.from(text).subarray(0, bytes);
}

const fileOf = (dir: string, address: string) => path.join(dir, address.slice(0, 2), address.slice(2, 4), address);

async function settled(server: TestNode['server']) {
  for (let i = 0; i < 500; i++) {
    const status = await server.status();
    if (!status.counting) return status;
    await sleep(10);
  }
  throw new Error('the first count did not finish');
}

/** The truth about a store's totals, read from the disk. */
async function diskTotals(store: DiskChunkStore) {
  const totals = { chunks: 0, logicalBytes: 0, storedBytes: 0 };
  for await (const { address } of store.inventory()) {
    const info = await store.stat(address);
    if (info === undefined) continue;
    totals.chunks++;
    totals.logicalBytes += info.logicalBytes;
    totals.storedBytes += info.storedBytes;
  }
  return totals;
}

/** A hand-written HTTP server standing in for a node that misbehaves. */
async function fakeNode(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, server };
}

async function closeFake(fake: { server: Server }) {
  fake.server.closeAllConnections();
  await new Promise((resolve) => fake.server.close(resolve));
}

describeChunkStore('RemoteChunkStore → storage node', async () => {
  const node = await startNode();
  return { store: new RemoteChunkStore({ url: node.url, secret: SECRET }), cleanup: () => node.stop() };
});

describe('storage node protocol', () => {
  let node: TestNode;
  let client: RemoteChunkStore;
  const corrupt: string[] = [];

  beforeEach(async () => {
    corrupt.length = 0;
    node = await startNode({ onCorrupt: (a) => corrupt.push(a) });
    client = new RemoteChunkStore({ url: node.url, secret: SECRET });
  });

  afterEach(async () => {
    await client.close();
    await node.stop();
  });

  it('refuses requests without the secret, but serves /health and /metrics to anyone', async () => {
    const none = await raw(node.url, 'GET', '/status', { auth: false });
    expect(none.status).toBe(401);
    expect(none.json()).toMatchObject({ error: 'Unauthorized' });
    expect(Number(none.headers[NODE_TIME_HEADER])).toBeGreaterThan(Date.now() - 60_000);
    const wrong = await raw(node.url, 'GET', '/status', { auth: false, headers: { authorization: 'Bearer not-the-secret' } });
    expect(wrong.status).toBe(401);
    const { address, data } = randomChunk();
    expect((await raw(node.url, 'PUT', `/chunks/${address}`, { auth: false, body: data })).status).toBe(401);
    expect(await client.head(address)).toBeUndefined();

    const intruder = new RemoteChunkStore({ url: node.url, secret: 'guess' });
    await expect(intruder.status()).rejects.toMatchObject({ name: 'NodeRequestError', status: 401, code: 'Unauthorized' });
    await intruder.close();

    const health = await raw(node.url, 'GET', '/health', { auth: false });
    expect(health.status).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    await client.put(address, data);
    const scrape = await raw(node.url, 'GET', '/metrics', { auth: false });
    expect(scrape.status).toBe(200);
    const text = scrape.body.toString();
    for (const name of [
      'rfs_node_chunks 1', 'rfs_node_logical_bytes 4096', 'rfs_node_stored_bytes 4102', 'rfs_node_capacity_bytes', 'rfs_node_free_bytes',
      'rfs_node_request_seconds_bucket{le="0.001",op="put"}', 'rfs_node_requests_total{op="put",status="201"} ', 'rfs_node_dedup_hits_total',
      'rfs_node_corrupt_chunks_total', 'rfs_node_scrub_checked_chunks_total', 'rfs_node_scrub_checked_bytes_total', 'rfs_node_process_cpu_seconds_total',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('refuses bytes that are not the address, storing nothing', async () => {
    const a = randomChunk();
    const b = randomChunk();
    await expect(client.put(a.address, b.data)).rejects.toBeInstanceOf(AddressMismatchError);
    const answer = await raw(node.url, 'PUT', `/chunks/${a.address}`, { body: b.data, headers: { 'content-type': 'application/octet-stream' } });
    expect(answer.status).toBe(400);
    expect(answer.json()).toMatchObject({ error: 'AddressMismatch' });
    expect(await client.head(a.address)).toBeUndefined();
    expect(await client.head(b.address)).toBeUndefined();
    expect((await settled(node.server)).chunks).toBe(0);
  });

  it('answers malformed requests with 400 BadRequest and keeps serving', async () => {
    const { address, data } = randomChunk(100);
    await client.put(address, data);
    const bad: [Parameters<typeof raw>[1], string, Parameters<typeof raw>[3]?][] = [
      ['GET', '/chunks/not-an-address'],
      ['GET', `/chunks/${address.toUpperCase()}`],
      ['GET', `/chunks/${address}0`],
      ['GET', `/chunks/${'a'.repeat(2000)}`],
      ['PUT', '/chunks/..%2F..%2Fetc%2Fpasswd', { body: data }],
      ['DELETE', `/chunks/${address}`],
      ['DELETE', `/chunks/${address}?claimedBefore=-5`],
      ['DELETE', `/chunks/${address}?claimedBefore=soon`],
      ['DELETE', `/chunks/${address}?claimedBefore=1&claimedBefore=2`],
      ['GET', '/inventory?limit=0'],
      ['GET', '/inventory?limit=10001'],
      ['GET', '/inventory?limit=1e3'],
      ['GET', '/inventory?prefix=XYZ'],
      ['GET', `/inventory?after=${'0'.repeat(65)}`],
      ['GET', '/inventory?debrisIdleMs=-1'],
      ['POST', '/holding', { body: 'not json' }],
      ['POST', '/holding', { body: JSON.stringify({ addresses: ['nope'] }), headers: { 'content-type': 'application/json' } }],
      ['POST', '/holding', { body: JSON.stringify({ addresses: [address], claim: 'yes' }) }],
      ['POST', '/holding', { body: JSON.stringify({ addresses: Array(HOLDING_MAX + 1).fill(address) }) }],
      ['POST', '/holding'],
      ['GET', `/chunks/${address}`, { headers: { range: 'bytes=50-10' } }],
      ['GET', `/chunks/${address}`, { headers: { range: 'bytes=0-1,5-6' } }],
      ['GET', `/chunks/${address}`, { headers: { range: 'pages=1-2' } }],
    ];
    for (const [method, p, options] of bad) {
      const answer = await raw(node.url, method, p, options);
      expect({ method, p, status: answer.status, error: answer.json().error }).toEqual({ method, p, status: 400, error: 'BadRequest' });
    }
    expect((await raw(node.url, 'GET', '/nowhere')).status).toBe(404);
    expect((await client.get(address)).equals(data)).toBe(true);
  });

  it('serves byte ranges of a chunk', async () => {
    const { address, data } = randomChunk(1000);
    await client.put(address, data);
    expect((await client.getRange(address, 10, 20)).equals(data.subarray(10, 20))).toBe(true);
    expect((await client.getRange(address, 0, 1000)).equals(data)).toBe(true);
    for (const [range, start, end] of [['bytes=990-', 990, 999], ['bytes=-5', 995, 999], ['bytes=0-5000', 0, 999], ['bytes=-2000', 0, 999]] as const) {
      const answer = await raw(node.url, 'GET', `/chunks/${address}`, { headers: { range } });
      expect(answer.status).toBe(206);
      expect(answer.headers['content-range']).toBe(`bytes ${start}-${end}/1000`);
      expect(answer.body.equals(data.subarray(start, end + 1))).toBe(true);
    }
    const past = await raw(node.url, 'GET', `/chunks/${address}`, { headers: { range: 'bytes=1000-' } });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe('bytes */1000');
    await expect(client.getRange(address, 1000, 1001)).rejects.toBeInstanceOf(RangeError);
    await expect(client.getRange(address, 5, 5)).rejects.toBeInstanceOf(RangeError);
    await expect(client.getRange(randomChunk().address, 0, 1)).rejects.toBeInstanceOf(ChunkNotFoundError);
  });

  it('sets a corrupt chunk aside, reports it, and takes the chunk again', async () => {
    const { address, data } = randomChunk(50_000);
    await client.put(address, data);
    await settled(node.server);
    const before = (await metrics.corruptChunks.get()).values[0]?.value ?? 0;
    const file = await readFile(fileOf(node.dir, address));
    file[file.length - 100] ^= 0x40;
    await writeFile(fileOf(node.dir, address), file);

    await expect(client.get(address)).rejects.toBeInstanceOf(ChunkCorruptError);
    expect(corrupt).toEqual([address]);
    expect((await metrics.corruptChunks.get()).values[0].value).toBe(before + 1);
    const leaf = await readdir(path.dirname(fileOf(node.dir, address)));
    expect(leaf).not.toContain(address);
    expect(leaf.filter((n) => n.startsWith('.tmp-'))).toHaveLength(1);
    expect(await client.head(address)).toBeUndefined();
    expect(await node.server.status()).toMatchObject({ chunks: 0, storedBytes: 0, logicalBytes: 0 });

    expect(await client.put(address, data)).toBe(true);
    expect((await client.get(address)).equals(data)).toBe(true);
    expect(await node.server.status()).toMatchObject({ chunks: 1, logicalBytes: 50_000 });
  });

  it('checks the bytes it receives against the address', async () => {
    const fake = await fakeNode((_req, res) => {
      res.writeHead(200, { [NODE_TIME_HEADER]: String(Date.now()) }).end(randomBytes(100));
    });
    const liar = new RemoteChunkStore({ url: fake.url, secret: SECRET });
    await expect(liar.get(randomChunk().address)).rejects.toBeInstanceOf(ChunkCorruptError);
    await liar.close();
    await closeFake(fake);
  });

  it('lists chunks in address order, in pages, after a cursor and by prefix', async () => {
    const chunks = Array.from({ length: 25 }, () => randomChunk(300));
    await Promise.all(chunks.map((c) => client.put(c.address, c.data)));
    const sorted = chunks.map((c) => c.address).sort();

    const pages: string[][] = [];
    let after: string | undefined;
    for (;;) {
      const page = await client.inventoryPage({ after, limit: 7 });
      pages.push(page.chunks.map((c) => c.address));
      for (const c of page.chunks) expect(c.storedBytes).toBe(306);
      if (page.next === null) break;
      expect(page.next).toBe(page.chunks[page.chunks.length - 1].address);
      after = page.next;
    }
    expect(pages.map((p) => p.length)).toEqual([7, 7, 7, 4]);
    expect(pages.flat()).toEqual(sorted);

    const all: string[] = [];
    for await (const c of client.inventory()) all.push(c.address);
    expect(all).toEqual(sorted);
    const rest: string[] = [];
    for await (const c of client.inventory({ after: sorted[10] })) rest.push(c.address);
    expect(rest).toEqual(sorted.slice(11));
    for (const prefix of [sorted[3].slice(0, 1), sorted[3].slice(0, 2), sorted[3].slice(0, 5), sorted[3]]) {
      const listed: string[] = [];
      for await (const c of client.inventory({ prefix })) listed.push(c.address);
      expect(listed).toEqual(sorted.filter((a) => a.startsWith(prefix)));
    }
    expect((await client.inventoryPage({ after: sorted[24] })).chunks).toEqual([]);
  });

  it('tells which chunks it holds, renewing leases only when asked to claim', async () => {
    const [a, b] = [randomChunk(), randomChunk()];
    const missing = randomChunk().address;
    await client.put(a.address, a.data);
    await client.put(b.address, b.data);
    const old = new Date(Date.now() - 60_000);
    for (const c of [a, b]) await utimes(fileOf(node.dir, c.address), old, old);

    expect(await client.holding([a.address, missing, b.address])).toEqual([true, false, true]);
    expect((await client.head(a.address))!.claimedAt).toBeLessThan(Date.now() - 50_000);
    const beforeClaim = Date.now();
    expect(await client.holding([a.address, missing], true)).toEqual([true, false]);
    expect((await client.head(a.address))!.claimedAt).toBeGreaterThanOrEqual(beforeClaim);
    expect((await client.head(b.address))!.claimedAt).toBeLessThan(Date.now() - 50_000);
    expect(await client.head(missing)).toBeUndefined();

    // More than one request's worth, answered in order.
    const many = Array.from({ length: 2 * HOLDING_MAX + 500 }, () => randomChunk(8).address);
    many[7] = a.address;
    many[HOLDING_MAX + 3] = b.address;
    const held = await client.holding(many);
    expect(held).toHaveLength(many.length);
    expect(held.flatMap((h, i) => (h ? [i] : []))).toEqual([7, HOLDING_MAX + 3]);
    await expect(client.holding(['nope'])).rejects.toBeInstanceOf(TypeError);
  });

  it('deletes only chunks unclaimed since the cutoff', async () => {
    const { address, data } = randomChunk();
    await client.put(address, data);
    const tenMinutesAgo = new Date(Date.now() - 10 * 60_000);
    await utimes(fileOf(node.dir, address), tenMinutesAgo, tenMinutesAgo);
    expect(await client.deleteIfIdle(address, Date.now() - 20 * 60_000)).toBe(false);
    expect(await client.head(address)).toBeDefined();
    expect(await client.deleteIfIdle(address, Date.now() - 5 * 60_000)).toBe(true);
    expect(await client.head(address)).toBeUndefined();
    expect(await client.deleteIfIdle(address, Date.now())).toBe(false);

    await client.put(address, data);
    const answer = await raw(node.url, 'DELETE', `/chunks/${address}?claimedBefore=${Date.now() - 60_000}`);
    expect(answer.json()).toEqual({ deleted: false });
  });

  it('keeps a chunk whose claim reaches the node before the delete', async () => {
    // The cutoff is taken before the claim, so the claim must win even when the delete is
    // handled after it: the node must not measure the cutoff from the delete's arrival.
    for (let i = 0; i < 40; i++) {
      const { address, data } = randomChunk(256);
      await client.put(address, data);
      await sleep(2);
      const cutoff = Date.now();
      const claimed = await client.claim(address);
      await sleep(2);
      expect(await client.deleteIfIdle(address, cutoff)).toBe(!claimed);
      expect(claimed).toBe(true);
    }
  });

  it('converts lease times between its clock and a node whose clock is ten minutes behind', async () => {
    const skew = 10 * 60_000;
    const seen: string[] = [];
    const address = randomChunk().address;
    const fake = await fakeNode((req, res) => {
      const nodeNow = Date.now() - skew;
      seen.push(req.url ?? '');
      const headers = { [NODE_TIME_HEADER]: String(nodeNow), 'content-type': 'application/json' };
      if (req.method === 'HEAD') res.writeHead(200, { ...headers, 'x-rfs-claimed-at': String(nodeNow - 2000), 'x-rfs-stored-bytes': '10' }).end();
      else if (req.url?.startsWith('/inventory')) res.writeHead(200, headers).end(JSON.stringify({ chunks: [{ address, storedBytes: 10, claimedAt: nodeNow - 1000 }], next: null }));
      else if (req.method === 'DELETE') res.writeHead(200, headers).end(JSON.stringify({ deleted: false }));
      else res.writeHead(200, headers).end(JSON.stringify({ status: 'ok' }));
    });
    const remote = new RemoteChunkStore({ url: fake.url, secret: SECRET });
    const t0 = Date.now();
    const [listed] = (await remote.inventoryPage({ debrisBefore: t0 - 3_600_000 })).chunks;
    const t1 = Date.now();
    expect(listed.claimedAt).toBeGreaterThanOrEqual(t0 - 1000);
    expect(listed.claimedAt).toBeLessThanOrEqual(t1 - 1000 + 5);
    const head = await remote.head(address);
    expect(head!.claimedAt).toBeGreaterThan(Date.now() - 2100);
    expect(head!.claimedAt).toBeLessThanOrEqual(Date.now() - 2000 + 5);
    const cutoff = Date.now() - 60_000;
    await remote.deleteIfIdle(address, cutoff);
    const sent = Number(new URL(seen[seen.length - 1], fake.url).searchParams.get('claimedBefore'));
    expect(sent).toBeLessThanOrEqual(cutoff - skew); // never later than the caller's cutoff
    expect(sent).toBeGreaterThan(cutoff - skew - 100);
    expect(Number(new URL(seen[0], fake.url).searchParams.get('debrisIdleMs'))).toBeGreaterThanOrEqual(3_600_000);
    await remote.close();
    await closeFake(fake);
  });

  it('raises NodeUnavailableError when the node is down, fails or hangs, and the AbortError when the caller aborts', async () => {
    const { address, data } = randomChunk();
    await client.put(address, data);
    await node.stop();
    await expect(client.get(address)).rejects.toBeInstanceOf(NodeUnavailableError);
    await expect(client.put(address, data)).rejects.toMatchObject({ name: 'NodeUnavailableError', nodeUrl: node.url });
    await expect(client.status()).rejects.toBeInstanceOf(NodeUnavailableError);

    const hanging = await fakeNode(() => undefined);
    const slow = new RemoteChunkStore({ url: hanging.url, secret: SECRET, timeoutMs: 200 });
    await expect(slow.get(address)).rejects.toBeInstanceOf(NodeUnavailableError);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const aborted = await slow.get(address, { signal: abort.signal }).catch((e: unknown) => e);
    expect(aborted).not.toBeInstanceOf(NodeUnavailableError);
    expect(aborted).toMatchObject({ name: 'AbortError' });
    await slow.close();
    await closeFake(hanging);

    const failing = await fakeNode((_req, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"InternalError","message":"disk on fire"}'));
    const broken = new RemoteChunkStore({ url: failing.url, secret: SECRET });
    await expect(broken.claim(address)).rejects.toBeInstanceOf(NodeUnavailableError);
    await broken.close();
    await closeFake(failing);
  });

  it('closes promptly while clients keep sockets alive and a request is in flight', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rfs-node-'));
    const store = await DiskChunkStore.open(dir);
    const server = await buildNodeServer({ store, secret: SECRET, id: 'n2', zone: 'z1', log: quiet });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let arrived!: () => void;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    server.app.addHook('preHandler', async (request) => {
      if (request.url === '/status') {
        arrived();
        await gate;
      }
    });
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = server.app.server.address() as { port: number };
    const remote = new RemoteChunkStore({ url: `http://127.0.0.1:${port}`, secret: SECRET });
    const { address, data } = randomChunk();
    await Promise.all([remote.put(address, data), remote.get(address).catch(() => undefined), remote.holding([address])]);
    // A connection that never sends a request (a client's spare socket) must not hold close up either.
    const silent = connect(port, '127.0.0.1');
    await new Promise((resolve) => silent.once('connect', resolve));
    const silentClosed = new Promise((resolve) => silent.once('close', resolve));
    const slow = remote.status();
    await inFlight;
    const started = Date.now();
    const closed = server.close();
    await sleep(100);
    release();
    expect((await slow).chunks).toBe(1);
    await closed;
    await silentClosed;
    expect(Date.now() - started).toBeLessThan(3000);
    await expect(remote.status()).rejects.toBeInstanceOf(NodeUnavailableError);
    await remote.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('never logs the secret', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) });
    const logged = await startNode({ log: pino({ level: 'debug' }, sink) });
    const remote = new RemoteChunkStore({ url: logged.url, secret: SECRET });
    const { address, data } = randomChunk();
    await remote.put(address, data);
    await remote.get(address);
    await remote.holding([address], true);
    await remote.status();
    await expect(remote.get(randomChunk().address)).rejects.toBeInstanceOf(ChunkNotFoundError);
    await raw(logged.url, 'GET', '/status', { auth: false, headers: { authorization: `Bearer ${SECRET}x` } });
    await raw(logged.url, 'GET', '/chunks/zzz');
    await remote.close();
    await logged.stop();
    const output = lines.join('');
    expect(output).toContain('incoming request');
    expect(output).not.toContain(SECRET);
    expect(output.toLowerCase()).not.toContain('bearer');
  });
});

describe('storage node capacity and counts', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function nodeWith(options: Partial<NodeServerOptions> & { dir?: string } = {}) {
    const node = await startNode(options);
    const client = new RemoteChunkStore({ url: node.url, secret: SECRET });
    cleanups.push(async () => {
      await client.close();
      await node.stop();
    });
    return { node, client };
  }

  it('refuses chunks beyond its capacity with NodeFullError, but still takes chunks it holds', async () => {
    const { node, client } = await nodeWith({ capacityBytes: 10_000 });
    await settled(node.server);
    const first = randomChunk(4000);
    expect(await client.put(first.address, first.data)).toBe(true);
    const big = randomChunk(8000);
    await expect(client.put(big.address, big.data)).rejects.toBeInstanceOf(NodeFullError);
    expect(await client.head(big.address)).toBeUndefined();
    const fits = randomChunk(5000);
    expect(await client.put(fits.address, fits.data)).toBe(true);
    expect(await node.server.status()).toMatchObject({ capacityBytes: 10_000, freeBytes: 10_000 - 4006 - 5006 });
    const more = randomChunk(2000);
    await expect(client.put(more.address, more.data)).rejects.toMatchObject({ name: 'NodeFullError', nodeUrl: node.url });
    expect(await client.put(first.address, first.data)).toBe(false); // already held: no room needed
  });

  it('refuses a chunk larger than its limit with 413', async () => {
    const { client } = await nodeWith({ maxChunkBytes: 1024 });
    const ok = randomChunk(1024);
    expect(await client.put(ok.address, ok.data)).toBe(true);
    const big = randomChunk(2048);
    await expect(client.put(big.address, big.data)).rejects.toMatchObject({ name: 'NodeRequestError', status: 413, code: 'TooLarge' });
  });

  it('counts chunks, logical and stored bytes: first from the disk, then as chunks come and go', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rfs-node-'));
    const before = await DiskChunkStore.open(dir);
    const text = compressible(1024 * 1024);
    const chunks = [...Array.from({ length: 20 }, () => randomChunk(1000)), { address: chunkAddress(text), data: text }];
    for (const c of chunks) await before.put(c.address, c.data);
    await before.close();

    const { node, client } = await nodeWith({ dir });
    const status = await settled(node.server);
    const onDisk = await diskTotals(node.store);
    expect(onDisk).toMatchObject({ chunks: 21, logicalBytes: 20 * 1000 + text.length });
    expect(status).toMatchObject({ id: 'n1', zone: 'z1', counting: false, ...onDisk });
    expect(status.storedBytes).toBeLessThan(status.logicalBytes / 2);
    expect(status.freeBytes).toBeLessThanOrEqual(status.capacityBytes - status.storedBytes);

    const added = randomChunk(3000);
    await client.put(added.address, added.data);
    await client.put(added.address, added.data); // dedup: no change
    expect(await node.server.status()).toMatchObject({ chunks: 22, logicalBytes: status.logicalBytes + 3000, storedBytes: status.storedBytes + 3006 });
    await client.deleteIfIdle(chunks[20].address, Date.now() + 1);
    await client.deleteIfIdle(chunks[20].address, Date.now() + 1); // already gone: no change
    expect(await diskTotals(node.store)).toMatchObject({ chunks: 21 });
    expect(await node.server.status()).toMatchObject(await diskTotals(node.store));
    expect(await client.stats()).toEqual({ chunks: 21, storedBytes: (await diskTotals(node.store)).storedBytes });
  });

  it('keeps counts exact when puts and deletes race the first count', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rfs-node-'));
    const before = await DiskChunkStore.open(dir);
    const old = Array.from({ length: 1500 }, () => randomChunk(100));
    for (let i = 0; i < old.length; i += 100) await Promise.all(old.slice(i, i + 100).map((c) => before.put(c.address, c.data)));
    await before.close();

    const { node, client } = await nodeWith({ dir });
    let sawCounting = false;
    const fresh = Array.from({ length: 300 }, () => randomChunk(200));
    const work = [
      ...fresh.map((c) => client.put(c.address, c.data)),
      ...old.slice(0, 300).map((c) => client.deleteIfIdle(c.address, Date.now() + 1)),
      ...old.slice(300, 400).map((c) => client.put(c.address, c.data)),
      ...fresh.slice(0, 100).map(async (c) => {
        await sleep(5);
        return client.deleteIfIdle(c.address, Date.now() + 1);
      }),
      ...Array.from({ length: 100 }, async () => {
        const c = randomChunk(150);
        await client.put(c.address, c.data);
        return client.deleteIfIdle(c.address, Date.now() + 1);
      }),
      ...old.slice(400, 500).map(async (c) => {
        await client.deleteIfIdle(c.address, Date.now() + 1);
        return client.put(c.address, c.data);
      }),
      node.server.status().then((s) => (sawCounting ||= s.counting)),
    ];
    await Promise.all(work);
    const status = await settled(node.server);
    expect(sawCounting).toBe(true);
    const truth = await diskTotals(node.store);
    expect(truth.chunks).toBeGreaterThanOrEqual(1500 - 300 + 200);
    expect({ chunks: status.chunks, logicalBytes: status.logicalBytes, storedBytes: status.storedBytes }).toEqual(truth);
  });
});
