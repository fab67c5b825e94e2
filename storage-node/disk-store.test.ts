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

  it('refuses use after close', async () => {
    const data = randomBytes(10);
    await store.close();
    await expect(store.put(chunkAddress(data), data)).rejects.toThrow(/closed/);
    store = await DiskChunkStore.open(dir);
  });
});
