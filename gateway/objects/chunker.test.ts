import { chunkAddress } from '../../storage-node/address';
import { Chunker, ChunkerOptions, DEFAULT_CHUNKING, chunkStream } from './chunker';

/** Deterministic pseudo-random bytes (xorshift32), so boundaries can be pinned. */
function seededBytes(length: number, seed: number): Buffer {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer, 0, length);
}

function chunkAll(data: Buffer, opts: ChunkerOptions = DEFAULT_CHUNKING, pieceSize = data.length): Buffer[] {
  const chunker = new Chunker(opts);
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += pieceSize) out.push(...chunker.push(data.subarray(i, i + pieceSize)));
  const last = chunker.finish();
  if (last !== undefined) out.push(last);
  return out;
}

const lengths = (chunks: Buffer[]) => chunks.map((c) => c.length);

async function* pieces(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

const SMALL: ChunkerOptions = { minSize: 2048, avgSize: 8192, maxSize: 32768 };

describe('Chunker', () => {
  it('yields no chunk for empty input', async () => {
    expect(chunkAll(Buffer.alloc(0))).toEqual([]);
    const chunker = new Chunker();
    expect(chunker.push(new Uint8Array(0))).toEqual([]);
    expect(chunker.finish()).toBeUndefined();
    const streamed: Buffer[] = [];
    for await (const c of chunkStream(pieces(Buffer.alloc(0), 1))) streamed.push(c);
    expect(streamed).toEqual([]);
  });

  it('yields input smaller than minSize as one chunk', () => {
    const data = seededBytes(DEFAULT_CHUNKING.minSize - 1, 7);
    const chunks = chunkAll(data, DEFAULT_CHUNKING, 1000);
    expect(chunks).toHaveLength(1);
    expect(chunks[0].equals(data)).toBe(true);
  });

  it('keeps every chunk within its bounds and reassembles the input', () => {
    const data = seededBytes(32 * 1024 * 1024, 11);
    const chunks = chunkAll(data, DEFAULT_CHUNKING, 65536);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    for (const c of chunks.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(DEFAULT_CHUNKING.minSize);
      expect(c.length).toBeLessThanOrEqual(DEFAULT_CHUNKING.maxSize);
    }
    const mean = data.length / chunks.length;
    expect(mean).toBeGreaterThan(DEFAULT_CHUNKING.avgSize * 0.75);
    expect(mean).toBeLessThan(DEFAULT_CHUNKING.avgSize * 1.5);
  });

  it('cuts data without boundaries (all zeros) at or below maxSize', () => {
    const data = Buffer.alloc(10 * 1024 * 1024);
    const chunks = chunkAll(data, DEFAULT_CHUNKING, 100_000);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(DEFAULT_CHUNKING.maxSize);
  });

  it('gives the same boundaries whatever the input is split into', () => {
    const data = seededBytes(1024 * 1024 + 3, 3);
    const whole = lengths(chunkAll(data, SMALL));
    expect(whole.length).toBeGreaterThan(50);
    expect(lengths(chunkAll(data, SMALL, 1))).toEqual(whole);
    expect(lengths(chunkAll(data, SMALL, 7))).toEqual(whole);
    expect(lengths(chunkAll(data, SMALL, 4096))).toEqual(whole);

    // Irregular pieces at odd offsets in their ArrayBuffers, as a plain Uint8Array.
    const chunker = new Chunker(SMALL);
    const got: Buffer[] = [];
    let seed = 1;
    for (let i = 0; i < data.length; ) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const n = 1 + (seed % 20000);
      const copy = new Uint8Array(n + 5);
      copy.set(data.subarray(i, i + n), 1 + (seed % 4));
      got.push(...chunker.push(copy.subarray(1 + (seed % 4), 1 + (seed % 4) + Math.min(n, data.length - i))));
      i += n;
    }
    const last = chunker.finish();
    if (last) got.push(last);
    expect(lengths(got)).toEqual(whole);
    expect(Buffer.concat(got).equals(data)).toBe(true);
  });

  it('streams the same chunks as the synchronous core', async () => {
    const data = seededBytes(6 * 1024 * 1024, 5);
    const streamed: Buffer[] = [];
    for await (const c of chunkStream(pieces(data, 65536))) streamed.push(c);
    expect(lengths(streamed)).toEqual(lengths(chunkAll(data)));
    expect(Buffer.concat(streamed).equals(data)).toBe(true);
  });

  it('handles degenerate size options', () => {
    const data = seededBytes(200_000, 9);
    for (const opts of [
      { minSize: 4096, avgSize: 4096, maxSize: 4096 },
      { minSize: 1024, avgSize: 4096, maxSize: 4096 },
      { minSize: 4096, avgSize: 4096, maxSize: 16384 },
    ]) {
      for (const piece of [1, 333, data.length]) {
        const chunks = chunkAll(data, opts, piece);
        expect(Buffer.concat(chunks).equals(data)).toBe(true);
        for (const c of chunks.slice(0, -1)) {
          expect(c.length).toBeGreaterThanOrEqual(opts.minSize);
          expect(c.length).toBeLessThanOrEqual(opts.maxSize);
        }
      }
    }
  });

  it('rejects inconsistent options', () => {
    expect(() => new Chunker({ minSize: 10, avgSize: 4096, maxSize: 8192 })).toThrow(RangeError);
    expect(() => new Chunker({ minSize: 8192, avgSize: 4096, maxSize: 16384 })).toThrow(RangeError);
    expect(() => new Chunker({ minSize: 1024, avgSize: 4096, maxSize: 2048 })).toThrow(RangeError);
    expect(() => new Chunker({ minSize: 1024, avgSize: 4096.5, maxSize: 8192 })).toThrow(RangeError);
  });

  it('keeps its boundaries stable across versions', () => {
    // Boundaries decide what dedups against chunks already stored: if this test fails, the
    // Gear table, masks or cut rule changed, and new writes would stop matching old data.
    expect(lengths(chunkAll(seededBytes(12 * 1024 * 1024, 42)))).toEqual(PINNED_DEFAULT);
    expect(lengths(chunkAll(seededBytes(200_000, 42), SMALL))).toEqual(PINNED_SMALL);
  });

  it('changes only the chunks around an insertion', () => {
    const size = 64 * 1024 * 1024;
    const original = seededBytes(size, 1234);
    const insert = seededBytes(1024 * 1024, 5678);
    const edited = Buffer.concat([original.subarray(0, size / 2), insert, original.subarray(size / 2)]);
    const before = chunkAll(original, DEFAULT_CHUNKING, 65536).map(chunkAddress);
    const after = chunkAll(edited, DEFAULT_CHUNKING, 65536).map(chunkAddress);
    const known = new Set(before);
    const shared = after.filter((a) => known.has(a)).length;
    const fresh = after.length - shared;
    console.log(`insert 1 MiB into 64 MiB: ${before.length} chunks before, ${after.length} after, ${shared} shared, ${fresh} new`);
    expect(fresh).toBeLessThanOrEqual(4);
    expect(shared).toBeGreaterThanOrEqual(before.length - 4);
  });

  it('reports its throughput', () => {
    const data = seededBytes(128 * 1024 * 1024, 99);
    chunkAll(data.subarray(0, 16 * 1024 * 1024), DEFAULT_CHUNKING, 65536); // warm up
    let best = 0;
    for (let round = 0; round < 3; round++) {
      const t0 = process.hrtime.bigint();
      const n = chunkAll(data, DEFAULT_CHUNKING, 65536).length;
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      best = Math.max(best, data.length / 1e6 / seconds);
      expect(n).toBeGreaterThan(0);
    }
    console.log(`chunker throughput (random data, 64 KiB pieces, best of 3): ${best.toFixed(0)} MB/s`);
  });
});

/** Chunk lengths of seededBytes(12 MiB, 42) with DEFAULT_CHUNKING. */
const PINNED_DEFAULT = [1150981, 1738883, 1486498, 754281, 1180761, 1374075, 1152473, 1240045, 1343642, 1057589, 103684];
/** Chunk lengths of seededBytes(200_000, 42) with SMALL. */
const PINNED_SMALL = [
  8480, 8330, 11238, 11638, 6339, 10272, 8348, 10128, 8279, 12126, 4966, 9079, 8639, 8518, 8308, 9621, 4441, 3083, 9103,
  13804, 11089, 4332, 5307, 3102, 1430,
];
