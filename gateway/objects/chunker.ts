/**
 * FastCDC (Xia et al., 2020) content-defined chunking: cut points depend on the bytes near
 * them, not on their offset, so an insert or delete in the middle of an object changes only
 * the chunks around it and the rest still dedup against what is already stored.
 *
 * Follows the 2020 algorithm (cf. nlfiedler/fastcdc-rs src/v2020): the first `minSize` bytes
 * of a chunk are skipped without hashing, a Gear hash rolls over the rest, a stricter mask
 * (more bits) applies below `avgSize` and a looser one above it (normalized chunking, level
 * 2), and a chunk is cut unconditionally at `maxSize`.
 *
 * The hash is 32 bits, not the paper's 64: JavaScript does 32-bit integer arithmetic natively
 * (`(h << 1) + g | 0` stays an int32 in V8) while 64 bits would need BigInt or two halves and
 * cost several times the throughput. 32 bits leave room for the widest mask used here (≤ 24
 * bits for the 4 MiB ceiling of avgSize) and a window of 32 bytes. The mask bits are the top
 * bits of the hash, the bits that depend on the most input bytes.
 *
 * Boundaries are part of the storage format in effect (they decide what dedups against what
 * is already stored): the Gear table, the masks and the cut rule must never change.
 */

/** Chunk size bounds in bytes; cuts fall between minSize and maxSize, averaging about avgSize. */
export interface ChunkerOptions {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

/** 256 KiB / 1 MiB / 4 MiB: large enough that per-chunk metadata stays small next to the data,
 * small enough that an edit rewrites only a few MiB. */
export const DEFAULT_CHUNKING: ChunkerOptions = Object.freeze({
  minSize: 256 * 1024,
  avgSize: 1024 * 1024,
  maxSize: 4 * 1024 * 1024,
});

/** Normalization level: mask bits added below avgSize and removed above it. */
const NORMALIZATION = 2;

/** Gear table: 256 pseudo-random int32s from a fixed-seed splitmix32, so every process and
 * every version derives the same table and thus the same boundaries. */
const GEAR: Int32Array = (() => {
  const table = new Int32Array(256);
  let state = 0x7266_7321; // "rfs!"
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e37_79b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85eb_ca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2_ae35);
    table[i] = z ^ (z >>> 16);
  }
  return table;
})();

/** A mask of the top `bits` bits of a 32-bit hash, as an int32. */
function topBitsMask(bits: number): number {
  return (~0 << (32 - bits)) | 0;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The aligned 32-bit words lying within buf, for the word-at-a-time scan; undefined on a
 * big-endian host (which then scans byte by byte, to the same boundaries). */
function wordView(buf: Buffer): Uint32Array | undefined {
  if (!LITTLE_ENDIAN) return undefined;
  const start = (buf.byteOffset + 3) & ~3;
  const count = (buf.byteOffset + buf.length - start) >> 2;
  return count > 0 ? new Uint32Array(buf.buffer, start, count) : undefined;
}

function validate(opts: ChunkerOptions): void {
  const { minSize, avgSize, maxSize } = opts;
  for (const [name, v] of Object.entries({ minSize, avgSize, maxSize })) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`chunker ${name} must be a positive integer, got ${v}`);
  }
  if (minSize < 64) throw new RangeError(`chunker minSize must be at least 64, got ${minSize}`);
  if (avgSize < 256 || avgSize > 4 * 1024 * 1024) throw new RangeError(`chunker avgSize must be within 256 B..4 MiB, got ${avgSize}`);
  if (!(minSize <= avgSize && avgSize <= maxSize)) throw new RangeError(`chunker sizes must satisfy minSize <= avgSize <= maxSize`);
}

/**
 * The synchronous core of chunkStream: feed bytes with `push`, collect the chunks cut so far,
 * and take the tail with `finish`. Input pieces are held by reference (not copied) until their
 * chunk is emitted, so the caller must not reuse or mutate a pushed buffer; each chunk is
 * assembled with one copy (none when it lies within a single pushed piece). At most maxSize
 * bytes are ever pending.
 */
export class Chunker {
  private readonly minSize: number;
  private readonly avgSize: number;
  private readonly maxSize: number;
  private readonly maskS: number;
  private readonly maskL: number;
  /** Pieces of the current chunk, in order, and their total length. */
  private pieces: Buffer[] = [];
  private pending = 0;
  private hash = 0;

  constructor(opts: ChunkerOptions = DEFAULT_CHUNKING) {
    validate(opts);
    this.minSize = opts.minSize;
    this.avgSize = opts.avgSize;
    this.maxSize = opts.maxSize;
    const bits = Math.round(Math.log2(opts.avgSize));
    this.maskS = topBitsMask(bits + NORMALIZATION);
    this.maskL = topBitsMask(bits - NORMALIZATION);
  }

  /** Consumes `data` and returns the chunks it completed, in order (often none). */
  push(data: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const len = buf.length;
    const words = wordView(buf);
    let start = 0; // start of the not-yet-emitted part of buf
    let pos = 0; // next byte of buf to look at
    while (pos < len) {
      const offset = this.pending + (pos - start); // position of buf[pos] within the current chunk
      let cutEnd = -1; // when a boundary is found: index in buf just past the chunk's last byte
      if (offset < this.minSize) {
        // Cut-point skipping: no boundary can fall before minSize, so these bytes are not hashed.
        pos += Math.min(this.minSize - offset, len - pos);
      } else if (offset < this.avgSize) {
        const end = pos + Math.min(this.avgSize - offset, len - pos);
        const at = this.scan(buf, words, pos, end, this.maskS);
        if (at >= 0) cutEnd = at + 1;
        else pos = end;
      } else {
        const room = this.maxSize - offset;
        const end = pos + Math.min(room, len - pos);
        const at = this.scan(buf, words, pos, end, this.maskL);
        if (at >= 0) cutEnd = at + 1;
        else if (end - pos === room) cutEnd = end; // reached maxSize
        else pos = end;
      }
      if (cutEnd >= 0) {
        out.push(this.emit(buf.subarray(start, cutEnd)));
        start = pos = cutEnd;
      }
    }
    if (start < len) {
      this.pieces.push(start === 0 ? buf : buf.subarray(start));
      this.pending += len - start;
    }
    return out;
  }

  /** Returns the final chunk (whatever is pending, possibly shorter than minSize) and resets
   * the chunker for a new stream; undefined when nothing is pending. */
  finish(): Buffer | undefined {
    if (this.pending === 0) return undefined;
    return this.emit(undefined);
  }

  /** Rolls the hash over buf[from, to) and returns the index of the first byte at which the
   * masked bits are all zero, or -1 (a cut resets the hash, so it is saved only on -1). Every
   * input byte past minSize goes through this loop, so it reads aligned 32-bit words (4 bytes
   * per load and bounds check, ~1.7× the byte loop); the bytes before the first aligned word
   * and after the last are rolled one at a time. */
  private scan(buf: Buffer, words: Uint32Array | undefined, from: number, to: number, mask: number): number {
    const gear = GEAR;
    let h = this.hash;
    let i = from;
    if (words !== undefined) {
      const aligned = Math.min(to, i + ((4 - ((buf.byteOffset + i) & 3)) & 3));
      for (; i < aligned; i++) {
        h = ((h << 1) + gear[buf[i]]) | 0;
        if ((h & mask) === 0) return i;
      }
      const wordsEnd = i + ((to - i) & ~3);
      for (let j = (buf.byteOffset + i - words.byteOffset) >> 2; i < wordsEnd; i += 4, j++) {
        const w = words[j]; // little-endian: the byte at i is the low byte
        h = ((h << 1) + gear[w & 0xff]) | 0;
        if ((h & mask) === 0) return i;
        h = ((h << 1) + gear[(w >>> 8) & 0xff]) | 0;
        if ((h & mask) === 0) return i + 1;
        h = ((h << 1) + gear[(w >>> 16) & 0xff]) | 0;
        if ((h & mask) === 0) return i + 2;
        h = ((h << 1) + gear[w >>> 24]) | 0;
        if ((h & mask) === 0) return i + 3;
      }
    }
    for (; i < to; i++) {
      h = ((h << 1) + gear[buf[i]]) | 0;
      if ((h & mask) === 0) return i;
    }
    this.hash = h;
    return -1;
  }

  /** Joins the pending pieces and `tail` into one chunk and starts the next chunk. */
  private emit(tail: Buffer | undefined): Buffer {
    const pieces = this.pieces;
    let total = this.pending;
    if (tail !== undefined && tail.length > 0) {
      pieces.push(tail);
      total += tail.length;
    }
    const chunk = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, total);
    this.pieces = [];
    this.pending = 0;
    this.hash = 0;
    return chunk;
  }
}

/** Splits a byte stream (e.g. a request body) into content-defined chunks, yielding each as
 * soon as its end is found; holds at most maxSize bytes plus the current input piece. */
export async function* chunkStream(
  source: AsyncIterable<Uint8Array>,
  opts: ChunkerOptions = DEFAULT_CHUNKING,
): AsyncGenerator<Buffer> {
  const chunker = new Chunker(opts);
  for await (const piece of source) {
    for (const chunk of chunker.push(piece)) yield chunk;
  }
  const last = chunker.finish();
  if (last !== undefined) yield last;
}
