import { compress, compressSync, uncompress } from 'lz4-napi';

/**
 * The bytes of one chunk file: a 6-byte header, then the payload.
 *
 *   byte 0     magic 0xC5, so a stray or truncated file is recognised as not a chunk
 *   byte 1     format: 0 = raw, 1 = LZ4 (lz4-napi block: 4-byte LE length + LZ4 block)
 *   bytes 2-5  original length, u32 LE (checked after decoding)
 *
 * LZ4 is used only when it pays: most object data (media, archives, encrypted) does not
 * compress, and compressing it would cost CPU on every write and read for nothing.
 */
export const CHUNK_FILE_MAGIC = 0xc5;
export const CHUNK_HEADER_BYTES = 6;

/** How a chunk's payload is stored. */
export const ChunkFormat = { raw: 0, lz4: 1 } as const;
export type ChunkFormat = (typeof ChunkFormat)[keyof typeof ChunkFormat];

/** Default probe: LZ4 on the first 64 KiB predicts the whole chunk's ratio for ~0.1 ms. */
export const DEFAULT_COMPRESS_PROBE_BYTES = 64 * 1024;
/** The probe must save at least this fraction, or the chunk is stored raw without further work. */
const PROBE_MIN_SAVING = 0.1;
/** The whole chunk must compress by at least this fraction to be stored compressed. */
const STORE_MIN_SAVING = 0.05;
/** LZ4 cannot expand more than ~255×; a header claiming more is corrupt (and must not make
 * the decoder allocate gigabytes). */
const LZ4_MAX_RATIO = 255;

/** A chunk ready to write: `header` then `payload`. */
export interface EncodedChunk {
  format: ChunkFormat;
  header: Buffer;
  payload: Buffer;
}

/** Chooses raw or LZ4 for `data` and builds its header. `probeBytes` 0 disables compression.
 * The probe runs synchronously (tens of µs); compressing the whole chunk runs off the main
 * thread. */
export async function encodeChunk(data: Buffer, probeBytes = DEFAULT_COMPRESS_PROBE_BYTES): Promise<EncodedChunk> {
  if (data.length > 0xffff_ffff) throw new RangeError(`chunk of ${data.length} bytes exceeds the 4 GiB format limit`);
  const compressed = probeBytes > 0 && data.length > 0 ? await compressIfWorthwhile(data, probeBytes) : undefined;
  const format = compressed === undefined ? ChunkFormat.raw : ChunkFormat.lz4;
  const header = Buffer.allocUnsafe(CHUNK_HEADER_BYTES);
  header[0] = CHUNK_FILE_MAGIC;
  header[1] = format;
  header.writeUInt32LE(data.length, 2);
  return { format, header, payload: compressed ?? data };
}

async function compressIfWorthwhile(data: Buffer, probeBytes: number): Promise<Buffer | undefined> {
  const probe = data.length <= probeBytes ? data : data.subarray(0, probeBytes);
  const probeOut = compressSync(probe);
  if (probeOut.length > probe.length * (1 - PROBE_MIN_SAVING)) return undefined;
  const whole = probe === data ? probeOut : await compress(data);
  return whole.length <= data.length * (1 - STORE_MIN_SAVING) ? whole : undefined;
}

/** Why a chunk file could not be decoded. */
export class ChunkFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChunkFormatError';
  }
}

/** The original bytes of a chunk file (not yet checked against the address). Throws
 * ChunkFormatError on a bad header, an unknown format, or a length mismatch. */
export async function decodeChunk(file: Buffer): Promise<Buffer> {
  if (file.length < CHUNK_HEADER_BYTES || file[0] !== CHUNK_FILE_MAGIC) throw new ChunkFormatError('bad chunk header');
  const length = file.readUInt32LE(2);
  const payload = file.subarray(CHUNK_HEADER_BYTES);
  switch (file[1]) {
    case ChunkFormat.raw:
      if (payload.length !== length) throw new ChunkFormatError(`raw chunk holds ${payload.length} bytes, header says ${length}`);
      return payload;
    case ChunkFormat.lz4: {
      if (payload.length < 4 || payload.readUInt32LE(0) !== length || length > payload.length * LZ4_MAX_RATIO) {
        throw new ChunkFormatError('LZ4 payload length does not match the header');
      }
      let out: Buffer;
      try {
        out = await uncompress(payload);
      } catch (err) {
        throw new ChunkFormatError(`LZ4 payload does not decode: ${(err as Error).message}`);
      }
      if (out.length !== length) throw new ChunkFormatError(`LZ4 chunk decodes to ${out.length} bytes, header says ${length}`);
      return out;
    }
    default:
      throw new ChunkFormatError(`unknown chunk format ${file[1]}`);
  }
}
