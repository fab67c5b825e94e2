import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chunkAddress } from './address';
import { CHUNK_HEADER_BYTES, ChunkFormat } from './chunk-file-format';
import { ChunkCorruptError } from './chunk-store';
import { describeChunkStore } from './chunk-store.contract';
import { DiskChunkStore } from './disk-store';

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'rfs-disk-store-'));
}

describeChunkStore('DiskChunkStore', async () => {
  const dir = await tempDir();
  return { store: await DiskChunkStore.open(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

/** Text that compresses like logs or JSON do: repetitive structure, varying values. */
function logLines(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `{"ts":${1_700_000_000_000 + i * 137},"level":"info","msg":"request served","path":"/bucket/key-${i % 977}","status":200,"bytes":${(i * 7919) % 100_000}}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

describe('DiskChunkStore on disk', () => {
  let dir: string;
  let store: DiskChunkStore;

  beforeEach(async () => {
    dir = await tempDir();
    store = await DiskChunkStore.open(dir);
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const fileOf = (address: string) => path.join(dir, address.slice(0, 2), address.slice(2, 4), address);

  it('lays chunks out as dir/ab/cd/<address> with a header', async () => {
    const data = randomBytes(1000);
    const address = chunkAddress(data);
    await store.put(address, data);
    const file = await readFile(fileOf(address));
    expect(file[1]).toBe(ChunkFormat.raw);
    expect(file.readUInt32LE(2)).toBe(1000);
    expect(file.subarray(CHUNK_HEADER_BYTES).equals(data)).toBe(true);
  });

  it('stores compressible text smaller', async () => {
    const data = logLines(1024 * 1024);
    const address = chunkAddress(data);
    await store.put(address, data);
    const { size } = await stat(fileOf(address));
    console.log(`LZ4 on 1 MiB of JSON log lines: ${size} bytes on disk, ratio ${(data.length / size).toFixed(2)}`);
    expect((await readFile(fileOf(address)))[1]).toBe(ChunkFormat.lz4);
    expect(size).toBeLessThan(data.length / 2);
    expect((await store.get(address)).equals(data)).toBe(true);
  });

  it('does not store incompressible data bigger than data + header', async () => {
    const data = randomBytes(1024 * 1024);
    const address = chunkAddress(data);
    await store.put(address, data);
    const { size } = await stat(fileOf(address));
    console.log(`LZ4 on 1 MiB of random bytes: stored raw, ${size} bytes on disk`);
    expect(size).toBeLessThanOrEqual(data.length + CHUNK_HEADER_BYTES);
  });

  it('stores raw when the start looks incompressible, even if the rest is not', async () => {
    const data = Buffer.concat([randomBytes(64 * 1024), Buffer.alloc(512 * 1024)]);
    const address = chunkAddress(data);
    await store.put(address, data);
    expect((await readFile(fileOf(address)))[1]).toBe(ChunkFormat.raw);
  });

  it('stores everything raw with compressProbeBytes 0', async () => {
    const rawStore = await DiskChunkStore.open(path.join(dir, 'raw'), { compressProbeBytes: 0 });
    const data = logLines(200_000);
    const address = chunkAddress(data);
    await rawStore.put(address, data);
    const file = await readFile(path.join(dir, 'raw', address.slice(0, 2), address.slice(2, 4), address));
    expect(file.length).toBe(data.length + CHUNK_HEADER_BYTES);
    await rawStore.close();
  });

  it('reports a corrupted chunk file as ChunkCorruptError', async () => {
    const raw = randomBytes(50_000);
    const text = logLines(300_000);
    for (const data of [raw, text]) {
      const address = chunkAddress(data);
      await store.put(address, data);
      const file = await readFile(fileOf(address));
      file[file.length - 100] ^= 0x40; // one flipped bit in the payload
      await writeFile(fileOf(address), file);
      await expect(store.get(address)).rejects.toBeInstanceOf(ChunkCorruptError);
      await writeFile(fileOf(address), file.subarray(0, file.length - 10)); // truncated
      await expect(store.get(address)).rejects.toBeInstanceOf(ChunkCorruptError);
      await writeFile(fileOf(address), Buffer.alloc(3)); // not a chunk file at all
      await expect(store.get(address)).rejects.toMatchObject({ name: 'ChunkCorruptError', address });
    }
  });

  it('removes leftover temp files at open, but not ones another process may be writing, and keeps the chunks', async () => {
    const data = randomBytes(4096);
    const address = chunkAddress(data);
    await store.put(address, data);
    await store.close();
    const leaf = path.dirname(fileOf(address));
    const hourAgo = new Date(Date.now() - 61 * 60 * 1000);
    await writeFile(path.join(leaf, '.tmp-deadbeef'), 'half a chunk');
    await utimes(path.join(leaf, '.tmp-deadbeef'), hourAgo, hourAgo);
    await mkdir(path.join(dir, '00', '11'), { recursive: true });
    await writeFile(path.join(dir, '00', '11', '.tmp-0123'), 'another');
    await utimes(path.join(dir, '00', '11', '.tmp-0123'), hourAgo, hourAgo);
    await writeFile(path.join(dir, '00', '11', '.tmp-live'), 'being written by another gateway');

    store = await DiskChunkStore.open(dir);
    expect(await readdir(leaf)).toEqual([address]);
    expect(await readdir(path.join(dir, '00', '11'))).toEqual(['.tmp-live']);
    expect((await store.get(address)).equals(data)).toBe(true);
    expect((await store.stats()).chunks).toBe(1);
  });

  it('leaves no temp files behind after writes', async () => {
    const chunks = Array.from({ length: 20 }, () => randomBytes(10_000));
    await Promise.all(chunks.map((c) => store.put(chunkAddress(c), c)));
    const leftovers: string[] = [];
    for (const a of await readdir(dir)) for (const b of await readdir(path.join(dir, a))) {
      leftovers.push(...(await readdir(path.join(dir, a, b))).filter((n) => n.startsWith('.tmp-')));
    }
    expect(leftovers).toEqual([]);
  });

  it('answers exactly one of concurrent puts of one address with true', async () => {
    const data = randomBytes(256 * 1024);
    const address = chunkAddress(data);
    const results = await Promise.all(Array.from({ length: 6 }, () => store.put(address, data)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('ignores stray files in the tree when taking inventory', async () => {
    const data = randomBytes(100);
    const address = chunkAddress(data);
    await store.put(address, data);
    await writeFile(path.join(dir, 'README'), 'not a chunk');
    await writeFile(path.join(path.dirname(fileOf(address)), 'notes.txt'), 'not a chunk');
    const misplaced = (address.startsWith('ffff') ? 'ee' : 'ff').repeat(32);
    await writeFile(path.join(path.dirname(fileOf(address)), misplaced), 'wrong directory');
    const listed: string[] = [];
    for await (const info of store.inventory()) listed.push(info.address);
    expect(listed).toEqual([address]);
  });

  const listInventory = async (options: Parameters<DiskChunkStore['inventory']>[0] = {}) => {
    const out: string[] = [];
    for await (const info of store.inventory(options)) out.push(info.address);
    return out;
  };

  it('inventories in address order, after a cursor, and by prefix', async () => {
    const chunks = Array.from({ length: 60 }, () => randomBytes(64));
    await Promise.all(chunks.map((c) => store.put(chunkAddress(c), c)));
    const sorted = chunks.map((c) => chunkAddress(c)).sort();
    expect(await listInventory()).toEqual(sorted);
    for (const after of [sorted[0], sorted[25], sorted[59], sorted[30].slice(0, 1), sorted[30].slice(0, 3), sorted[30].slice(0, 5), '', 'f'.repeat(64)]) {
      expect(await listInventory({ after })).toEqual(sorted.filter((a) => a > after));
    }
    for (const prefix of [sorted[40].slice(0, 1), sorted[40].slice(0, 2), sorted[40].slice(0, 3), sorted[40].slice(0, 4), sorted[40].slice(0, 7), sorted[40], '']) {
      expect(await listInventory({ prefix })).toEqual(sorted.filter((a) => a.startsWith(prefix)));
    }
    const prefix = sorted[10].slice(0, 1);
    const inPrefix = sorted.filter((a) => a.startsWith(prefix));
    expect(await listInventory({ prefix, after: inPrefix[0] })).toEqual(inPrefix.slice(1));
    expect(await listInventory({ prefix: 'ab', after: 'ac' })).toEqual([]);
    await expect(listInventory({ prefix: 'XY' })).rejects.toThrow(TypeError);
    await expect(listInventory({ after: '0'.repeat(65) })).rejects.toThrow(TypeError);
  });

  it('sweeps debris only in the subtrees an inventory walks', async () => {
    const old = new Date(Date.now() - 60_000);
    const debris = ['00/11/.tmp-a', 'ff/ee/.tmp-b', '.tmp-root'];
    for (const d of debris) {
      await mkdir(path.dirname(path.join(dir, d)), { recursive: true });
      await writeFile(path.join(dir, d), 'left over');
      await utimes(path.join(dir, d), old, old);
    }
    const exists = async (d: string) => stat(path.join(dir, d)).then(() => true, () => false);
    await listInventory({ prefix: 'ff', debrisBefore: Date.now() });
    expect(await Promise.all(debris.map(exists))).toEqual([true, false, true]);
    await listInventory({ after: '00ff', debrisBefore: Date.now() }); // 00/11 sorts before the cursor
    expect(await Promise.all(debris.map(exists))).toEqual([true, false, true]);
    await listInventory({ debrisBefore: old.getTime() - 1000 }); // not older than the cutoff
    expect(await Promise.all(debris.map(exists))).toEqual([true, false, true]);
    await listInventory({ debrisBefore: Date.now() });
    expect(await Promise.all(debris.map(exists))).toEqual([false, false, false]);
  });

  it('stats a chunk from its inode and header', async () => {
    const raw = randomBytes(1000);
    const text = logLines(200_000);
    const before = Date.now();
    await store.put(chunkAddress(raw), raw);
    await store.put(chunkAddress(text), text);
    const rawStat = await store.stat(chunkAddress(raw));
    expect(rawStat).toMatchObject({ storedBytes: 1000 + CHUNK_HEADER_BYTES, logicalBytes: 1000 });
    expect(rawStat!.claimedAt).toBeGreaterThanOrEqual(before);
    expect(rawStat!.claimedAt).toBeLessThanOrEqual(Date.now());
    const textStat = await store.stat(chunkAddress(text));
    expect(textStat).toMatchObject({ storedBytes: (await stat(fileOf(chunkAddress(text)))).size, logicalBytes: 200_000 });
    expect(textStat!.storedBytes).toBeLessThan(100_000);
    expect(await store.stat(chunkAddress(randomBytes(5)))).toBeUndefined();
    expect(await store.has(chunkAddress(raw))).toBe(true);
    expect(await store.has(chunkAddress(randomBytes(5)))).toBe(false);
    await expect(store.stat('nope')).rejects.toThrow(TypeError);
  });

  it('sets a corrupt chunk aside, so the next put stores it afresh', async () => {
    const data = randomBytes(20_000);
    const address = chunkAddress(data);
    await store.put(address, data);
    const file = await readFile(fileOf(address));
    file[500] ^= 1;
    await writeFile(fileOf(address), file);
    await expect(store.get(address)).rejects.toBeInstanceOf(ChunkCorruptError);
    const leaf = await readdir(path.dirname(fileOf(address)));
    expect(leaf).toHaveLength(1);
    expect(leaf[0]).toMatch(/^\.tmp-corrupt-/);
    await expect(store.get(address)).rejects.toMatchObject({ name: 'ChunkNotFoundError' });
    expect(await store.claim(address)).toBe(false);
    expect(await store.put(address, data)).toBe(true);
    expect((await store.get(address)).equals(data)).toBe(true);
    await listInventory({ debrisBefore: Date.now() + 1 });
    expect(await readdir(path.dirname(fileOf(address)))).toEqual([address]);
  });

  it('tells listeners about chunk files appearing and disappearing, before and after', async () => {
    const events: string[] = [];
    const stop = store.onChange({
      begin: (a) => events.push(`begin ${a.slice(0, 6)}`),
      end: (a, before, after) => events.push(`end ${a.slice(0, 6)} ${before?.logicalBytes ?? '-'} ${after?.logicalBytes ?? '-'}`),
    });
    const data = randomBytes(300);
    const a = chunkAddress(data).slice(0, 6);
    await store.put(chunkAddress(data), data);
    await store.put(chunkAddress(data), data); // held: no change
    await store.claim(chunkAddress(data));
    expect(await store.deleteIfIdle(chunkAddress(data), Date.now() - 60_000)).toBe(false); // claimed since: no change
    expect(await store.deleteIfIdle(chunkAddress(data), Date.now() + 1)).toBe(true);
    await store.put(chunkAddress(data), data);
    await writeFile(fileOf(chunkAddress(data)), 'garbage');
    await expect(store.get(chunkAddress(data))).rejects.toBeInstanceOf(ChunkCorruptError);
    stop();
    await store.put(chunkAddress(data), data);
    expect(events).toEqual([`begin ${a}`, `end ${a} - 300`, `begin ${a}`, `end ${a} 300 -`, `begin ${a}`, `end ${a} - 300`, `begin ${a}`, `end ${a} 0 -`]);
  });

  it('refuses use after close', async () => {
    const data = randomBytes(10);
    await store.close();
    await expect(store.put(chunkAddress(data), data)).rejects.toThrow(/closed/);
    store = await DiskChunkStore.open(dir);
  });
});
