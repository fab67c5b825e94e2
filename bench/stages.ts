import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from '@node-rs/crc32';
import { compressSync, uncompressSync } from 'lz4-napi';
import { chunkAddress } from '../storage-node/address';
import { Chunker, DEFAULT_CHUNKING } from '../gateway/objects/chunker';
import { ChunkFormat, decodeChunk, encodeChunk, type EncodedChunk } from '../storage-node/chunk-file-format';
import { DiskChunkStore } from '../storage-node/disk-store';
import { logText, randomPieces } from './data';

/**
 * Throughput of each per-byte stage of a PUT and a GET, one at a time, in this process, on
 * the same kind of data the server gets: the random stream in 1 MiB pieces, and the chunks
 * the Chunker cuts from it (~1 MiB average) for the per-chunk stages (BLAKE3, encode,
 * decode), as the server calls them. Each stage runs `reps` times (each at least 0.25 s);
 * the best counts (the first warms up the JIT and the caches). CPU time is measured beside
 * wall time: cpu/wall near 1.0 confirms a stage ran on one core; below 1.0 the main thread
 * waited (LZ4 `compress`/`uncompress` run on the libuv pool: one core at a time, plus the
 * hand-offs).
 */

export interface StageResult {
  name: string;
  data: 'random' | 'log text' | 'random, disk';
  bytes: number;
  /** Wall and CPU seconds per pass over `bytes` (in the best repetition). */
  seconds: number;
  cpuSeconds: number;
  /** MB/s, MB = 10^6 bytes. */
  mbps: number;
  note?: string;
}

export interface StageResults {
  md5: StageResult;
  sha256: StageResult;
  blake3: StageResult;
  gear: StageResult;
  encodeRandom: StageResult;
  lz4CompressRandom: StageResult;
  crc32: StageResult;
  decodeRandom: StageResult;
  lz4UncompressRandom: StageResult;
  getChunkPath: StageResult;
  storePut: StageResult;
  storeGet: StageResult;
  encodeLog: StageResult;
  decodeLog: StageResult;
  lz4CompressLog: StageResult;
  lz4UncompressLog: StageResult;
  all: StageResult[];
  chunkCount: number;
  averageChunkBytes: number;
}

/** Each repetition runs `run` as many times as it takes to fill `MIN_REP_SECONDS`, so that the
 * fast stages (raw decode, CRC32) are timed over more than a few milliseconds. */
const MIN_REP_SECONDS = 0.25;

async function measure(
  name: string,
  data: StageResult['data'],
  bytes: number,
  reps: number,
  run: () => void | Promise<void>,
): Promise<StageResult> {
  let best = 0; // bytes per second
  let bestCpuShare = 0;
  for (let i = 0; i < reps; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let seconds = 0;
    let rounds = 0;
    do {
      await run();
      rounds++;
      seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    } while (seconds < MIN_REP_SECONDS);
    const cpu = process.cpuUsage(cpu0);
    if ((rounds * bytes) / seconds > best) {
      best = (rounds * bytes) / seconds;
      bestCpuShare = (cpu.user + cpu.system) / 1e6 / seconds;
    }
  }
  return { name, data, bytes, seconds: bytes / best, cpuSeconds: (bytes / best) * bestCpuShare, mbps: best / 1e6 };
}

function total(buffers: readonly Buffer[]): number {
  let n = 0;
  for (const b of buffers) n += b.length;
  return n;
}

/** Chunks as the server cuts them (pieces pushed in order, then the tail). */
function cut(pieces: readonly Buffer[]): Buffer[] {
  const chunker = new Chunker(DEFAULT_CHUNKING);
  const chunks: Buffer[] = [];
  for (const p of pieces) for (const c of chunker.push(p)) chunks.push(c);
  const last = chunker.finish();
  if (last) chunks.push(last);
  return chunks;
}

async function encodeAll(chunks: readonly Buffer[]): Promise<EncodedChunk[]> {
  const out: EncodedChunk[] = [];
  for (const c of chunks) out.push(await encodeChunk(c));
  return out;
}

/** Chunk files' bytes as the store reads them back (header then payload; the store writes the
 * two with one writev, so joining them is not part of the encode stage). */
function asFiles(encoded: readonly EncodedChunk[]): { files: Buffer[]; compressed: number } {
  return {
    files: encoded.map((e) => Buffer.concat([e.header, e.payload])),
    compressed: encoded.filter((e) => e.format === ChunkFormat.lz4).length,
  };
}

function ratio(original: number, stored: number): string {
  return `${(original / stored).toFixed(2)}× (${((stored / original) * 100).toFixed(1)} % of original)`;
}

export async function measureStages(opts: {
  randomBytes: number;
  logBytes: number;
  pieceSize: number;
  reps: number;
  /** Where DiskChunkStore may write (the filesystem the server's data dir was on). */
  scratchDir: string;
  /** Chunk writes in flight per upload and chunks read ahead per GET, as the server's defaults. */
  writeConcurrency: number;
  readAhead: number;
  progress: (line: string) => void;
}): Promise<StageResults> {
  const { reps, progress } = opts;
  const all: StageResult[] = [];
  const add = (r: StageResult): StageResult => {
    all.push(r);
    progress(`${r.name} (${r.data}): ${r.mbps.toFixed(1)} MB/s`);
    return r;
  };

  // --- random data, as a PUT of it arrives ---
  const pieces = [...randomPieces(opts.randomBytes, opts.pieceSize, 7)];
  const n = total(pieces);

  const md5 = add(await measure('MD5 (node:crypto)', 'random', n, reps, () => {
    const h = createHash('md5');
    for (const p of pieces) h.update(p);
    h.digest();
  }));
  const sha256 = add(await measure('SHA-256 (node:crypto)', 'random', n, reps, () => {
    const h = createHash('sha256');
    for (const p of pieces) h.update(p);
    h.digest();
  }));
  const crc = add(await measure('CRC32 (@node-rs/crc32)', 'random', n, reps, () => {
    let c = 0;
    for (const p of pieces) c = crc32(p, c);
  }));
  let chunks: Buffer[] = [];
  const gear = add(await measure('gear hash (Chunker.push)', 'random', n, reps, () => {
    chunks = cut(pieces);
  }));
  gear.note = `FastCDC: first 256 KiB of each chunk skipped; includes joining pieces into chunks`;
  const chunkCount = chunks.length;
  const averageChunkBytes = n / chunks.length;

  const blake3 = add(await measure('BLAKE3 (chunkAddress)', 'random', n, reps, () => {
    for (const c of chunks) chunkAddress(c);
  }));
  blake3.note = `per chunk, ${chunkCount} chunks of ${(averageChunkBytes / 1024 / 1024).toFixed(2)} MiB average`;

  let encodedChunks: EncodedChunk[] = [];
  const encodeRandom = add(await measure('LZ4 encodeChunk', 'random', n, reps, async () => {
    encodedChunks = await encodeAll(chunks);
  }));
  let encoded = asFiles(encodedChunks);
  encodedChunks = [];
  encodeRandom.note = `${encoded.compressed} of ${chunkCount} chunks stored LZ4 (a 64 KiB probe decides)`;

  let lz4Random: Buffer[] = [];
  const lz4CompressRandom = add(await measure('LZ4 compressSync (lz4-napi)', 'random', n, reps, () => {
    lz4Random = chunks.map((c) => compressSync(c));
  }));
  lz4CompressRandom.note = `reference: every byte compressed, ratio ${ratio(n, total(lz4Random))}`;

  const decodeRandom = add(await measure('decodeChunk', 'random', n, reps, async () => {
    for (const f of encoded.files) await decodeChunk(f);
  }));
  decodeRandom.note = encoded.compressed === 0 ? 'raw chunks: header check only' : `${encoded.compressed} LZ4 chunks`;

  const lz4UncompressRandom = add(await measure('LZ4 uncompressSync (lz4-napi)', 'random', n, reps, () => {
    for (const c of lz4Random) uncompressSync(c);
  }));
  lz4UncompressRandom.note = 'reference: decoding the compressSync output above';

  const getChunkPath = add(await measure('GET chunk path: decodeChunk + BLAKE3', 'random', n, reps, async () => {
    for (const f of encoded.files) chunkAddress(await decodeChunk(f));
  }));
  getChunkPath.note = 'what DiskChunkStore.get does per chunk after reading the file';

  const { storePut, storeGet } = await measureStore(chunks, n, opts);
  add(storePut);
  add(storeGet);

  // Let the random data go before generating the text.
  pieces.length = 0;
  chunks = [];
  lz4Random = [];
  encoded = { files: [], compressed: 0 };

  // --- log-like text: the compressed path ---
  const text = logText(opts.logBytes, opts.pieceSize, 11);
  const textBytes = total(text);
  const textChunks = cut(text);
  let textEncodedChunks: EncodedChunk[] = [];
  const encodeLog = add(await measure('LZ4 encodeChunk', 'log text', textBytes, reps, async () => {
    textEncodedChunks = await encodeAll(textChunks);
  }));
  const textEncoded = asFiles(textEncodedChunks);
  encodeLog.note = `${textEncoded.compressed} of ${textChunks.length} chunks stored LZ4, ratio ${ratio(textBytes, total(textEncoded.files))}`;
  const decodeLog = add(await measure('decodeChunk', 'log text', textBytes, reps, async () => {
    for (const f of textEncoded.files) await decodeChunk(f);
  }));
  decodeLog.note = 'LZ4 uncompress on the libuv pool, length checks';
  let lz4Text: Buffer[] = [];
  const lz4CompressLog = add(await measure('LZ4 compressSync (lz4-napi)', 'log text', textBytes, reps, () => {
    lz4Text = textChunks.map((c) => compressSync(c));
  }));
  lz4CompressLog.note = `ratio ${ratio(textBytes, total(lz4Text))}`;
  const lz4UncompressLog = add(await measure('LZ4 uncompressSync (lz4-napi)', 'log text', textBytes, reps, () => {
    for (const c of lz4Text) uncompressSync(c);
  }));

  return {
    md5, sha256, blake3, gear, encodeRandom, lz4CompressRandom, crc32: crc, decodeRandom, lz4UncompressRandom,
    getChunkPath, storePut, storeGet, encodeLog, decodeLog, lz4CompressLog, lz4UncompressLog,
    all, chunkCount, averageChunkBytes,
  };
}

/** Runs `work` over `items` with at most `limit` in flight, in order of start. */
async function window<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  for (const item of items) {
    const p = work(item).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= limit) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

/**
 * The storage layer alone, without HTTP: DiskChunkStore.put of every chunk into a fresh store
 * with `writeConcurrency` in flight (encode, write, fsync, rename, directory fsync, as a PUT's
 * ChunkWriter drives it), then DiskChunkStore.get of every chunk with `readAhead + 1` in flight
 * (read from the page cache, decode, BLAKE3 check, as a GET's reader drives it). Each
 * repetition writes a new store (a put of a chunk already stored only renews its lease).
 */
async function measureStore(
  chunks: readonly Buffer[],
  bytes: number,
  opts: { reps: number; scratchDir: string; writeConcurrency: number; readAhead: number },
): Promise<{ storePut: StageResult; storeGet: StageResult }> {
  const addressed = chunks.map((data) => ({ data, address: chunkAddress(data) }));
  let put = { seconds: Infinity, cpuSeconds: 0 };
  let get = { seconds: Infinity, cpuSeconds: 0 };
  for (let i = 0; i < opts.reps; i++) {
    const dir = await mkdtemp(path.join(opts.scratchDir, 'store-'));
    try {
      const store = await DiskChunkStore.open(dir);
      const timed = async (run: () => Promise<void>) => {
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        await run();
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const cpu = process.cpuUsage(cpu0);
        return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
      };
      const p = await timed(() => window(addressed, opts.writeConcurrency, (c) => store.put(c.address, c.data)));
      if (p.seconds < put.seconds) put = p;
      const g = await timed(() => window(addressed, opts.readAhead + 1, (c) => store.get(c.address)));
      if (g.seconds < get.seconds) get = g;
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const result = (name: string, r: { seconds: number; cpuSeconds: number }, note: string): StageResult => ({
    name, data: 'random, disk', bytes, seconds: r.seconds, cpuSeconds: r.cpuSeconds, mbps: bytes / r.seconds / 1e6, note,
  });
  return {
    storePut: result(`DiskChunkStore.put, ${opts.writeConcurrency} in flight`, put, 'encode, write, fsync, rename, dir fsync: the store alone, no HTTP'),
    storeGet: result(`DiskChunkStore.get, ${opts.readAhead + 1} in flight`, get, 'read (page cache), decode, BLAKE3 check: the store alone, no HTTP'),
  };
}
