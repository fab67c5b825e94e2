import { randomBytes } from 'node:crypto';
import { chunkAddress } from './address';
import { ChunkNotFoundError, type ChunkInfo, type ChunkStore } from './chunk-store';

/** A store under test and how to dispose of it. */
export interface ChunkStoreFixture {
  store: ChunkStore;
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function randomChunk(size = 64 * 1024): { address: string; data: Buffer } {
  const data = randomBytes(size);
  return { address: chunkAddress(data), data };
}

async function collect(store: ChunkStore): Promise<ChunkInfo[]> {
  const out: ChunkInfo[] = [];
  for await (const info of store.inventory()) out.push(info);
  return out;
}

/**
 * The semantics every ChunkStore must keep (dedup on put, verified reads, leases against the
 * collector), as one Jest suite to run against each implementation: call it from the
 * implementation's *.test.ts with a factory for a fresh, empty store.
 */
export function describeChunkStore(name: string, make: () => Promise<ChunkStoreFixture>): void {
  describe(`${name} (ChunkStore contract)`, () => {
    let fixture: ChunkStoreFixture;
    let store: ChunkStore;

    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
    });

    afterEach(async () => {
      await store.close();
      await fixture.cleanup();
    });

    it('puts a new chunk (true), then reports it already held (false)', async () => {
      const { address, data } = randomChunk();
      expect(await store.put(address, data)).toBe(true);
      expect(await store.put(address, data)).toBe(false);
    });

    it('gets back the exact bytes put', async () => {
      const chunks = [randomChunk(1), randomChunk(100_000), randomChunk(1024 * 1024), randomChunk(0)];
      for (const c of chunks) await store.put(c.address, c.data);
      for (const c of chunks) expect((await store.get(c.address)).equals(c.data)).toBe(true);
      const text = Buffer.from('compressible '.repeat(50_000));
      await store.put(chunkAddress(text), text);
      expect((await store.get(chunkAddress(text))).equals(text)).toBe(true);
    });

    it('throws ChunkNotFoundError for a chunk it does not hold', async () => {
      const { address } = randomChunk();
      await expect(store.get(address)).rejects.toBeInstanceOf(ChunkNotFoundError);
      await expect(store.get(address)).rejects.toMatchObject({ address });
    });

    it('rejects something that is not an address', async () => {
      await expect(store.put('../../etc/passwd', Buffer.from('x'))).rejects.toThrow();
      await expect(store.get('ABC')).rejects.toThrow();
    });

    it('claims only chunks it holds', async () => {
      const { address, data } = randomChunk();
      expect(await store.claim(address)).toBe(false);
      await store.put(address, data);
      expect(await store.claim(address)).toBe(true);
    });

    it('renews the lease on claim and on a repeated put', async () => {
      const { address, data } = randomChunk();
      await store.put(address, data);
      const [first] = await collect(store);
      await sleep(15);
      const beforeClaim = Date.now();
      expect(await store.claim(address)).toBe(true);
      const [claimed] = await collect(store);
      expect(claimed.claimedAt).toBeGreaterThan(first.claimedAt);
      expect(claimed.claimedAt).toBeGreaterThanOrEqual(beforeClaim);
      await sleep(15);
      const beforePut = Date.now();
      expect(await store.put(address, data)).toBe(false);
      const [reput] = await collect(store);
      expect(reput.claimedAt).toBeGreaterThanOrEqual(beforePut);
    });

    it('deletes an idle chunk, and only once', async () => {
      const { address, data } = randomChunk();
      await store.put(address, data);
      await sleep(5);
      const cutoff = Date.now() + 1;
      expect(await store.deleteIfIdle(address, cutoff)).toBe(true);
      await expect(store.get(address)).rejects.toBeInstanceOf(ChunkNotFoundError);
      expect(await store.claim(address)).toBe(false);
      expect(await store.deleteIfIdle(address, cutoff)).toBe(false);
      expect(await store.put(address, data)).toBe(true);
    });

    it('keeps a chunk put or claimed at or after the cutoff', async () => {
      const put = randomChunk();
      const claimed = randomChunk();
      await store.put(claimed.address, claimed.data);
      await sleep(5);
      const cutoff = Date.now();
      await store.put(put.address, put.data);
      await store.claim(claimed.address);
      expect(await store.deleteIfIdle(put.address, cutoff)).toBe(false);
      expect(await store.deleteIfIdle(claimed.address, cutoff)).toBe(false);
      expect((await store.get(put.address)).equals(put.data)).toBe(true);
      expect((await store.get(claimed.address)).equals(claimed.data)).toBe(true);
    });

    it('orders a racing claim and delete: one of them wins, never both', async () => {
      for (let i = 0; i < 20; i++) {
        const { address, data } = randomChunk(1024);
        await store.put(address, data);
        await sleep(2);
        const cutoff = Date.now();
        const [deleted, claimed] = await Promise.all([store.deleteIfIdle(address, cutoff), store.claim(address)]);
        expect(deleted !== claimed).toBe(true);
        if (claimed) expect((await store.get(address)).equals(data)).toBe(true);
        else await expect(store.get(address)).rejects.toBeInstanceOf(ChunkNotFoundError);
      }
    });

    it('inventories exactly what it holds', async () => {
      expect(await collect(store)).toEqual([]);
      const chunks = Array.from({ length: 12 }, () => randomChunk(4096));
      const t0 = Date.now();
      for (const c of chunks) await store.put(c.address, c.data);
      await store.deleteIfIdle(chunks[0].address, Date.now() + 1);
      const listed = await collect(store);
      expect(listed.map((i) => i.address).sort()).toEqual(chunks.slice(1).map((c) => c.address).sort());
      for (const info of listed) {
        expect(info.storedBytes).toBeGreaterThan(0);
        expect(info.claimedAt).toBeGreaterThanOrEqual(t0);
        expect(info.claimedAt).toBeLessThanOrEqual(Date.now() + 1);
      }
      const stats = await store.stats();
      expect(stats.chunks).toBe(11);
      expect(stats.storedBytes).toBe(listed.reduce((n, i) => n + i.storedBytes, 0));
    });

    it('survives concurrent puts of one chunk', async () => {
      const { address, data } = randomChunk(512 * 1024);
      const results = await Promise.all(Array.from({ length: 8 }, () => store.put(address, data)));
      expect(results.filter(Boolean).length).toBeGreaterThanOrEqual(1);
      expect((await store.get(address)).equals(data)).toBe(true);
      expect((await collect(store)).map((i) => i.address)).toEqual([address]);
    });

    it('handles many different chunks concurrently', async () => {
      const chunks = Array.from({ length: 64 }, () => randomChunk(8192));
      expect(await Promise.all(chunks.map((c) => store.put(c.address, c.data)))).toEqual(chunks.map(() => true));
      const got = await Promise.all(chunks.map((c) => store.get(c.address)));
      got.forEach((g, i) => expect(g.equals(chunks[i].data)).toBe(true));
      expect((await store.stats()).chunks).toBe(64);
    });
  });
}
