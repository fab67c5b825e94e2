import type { IncomingHttpHeaders } from 'node:http';
import type { PayloadAuth } from '../auth';
import { decodeAwsChunked } from '../body/aws-chunked';
import { BodyDigests, checksumAlgorithms, declaredChecksums, verifyChecksums, type ChecksumAlgorithm } from '../body/checksums';
import { Chunker } from '../../storage-node/chunker';
import type { ChunkStore } from '../../storage-node/chunk-store';
import type { ChunkRef } from '../../metadata/store';
import type { Config } from '../config';
import { S3Error } from '../s3/errors';
import { ChunkWriter } from './writer';
import type { Slots } from './slots';
import type { HashPool } from '../body/hash-pool';

const OFFLOAD_MIN_BYTES = 1024 * 1024;

export interface ReceivedBody {
  size: number;
  md5Hex: string;
  /** Checksums the client declared, all verified, by algorithm, base64. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  chunks: ChunkRef[];
  /** The whole body, when it is small enough to live in the metadata row. */
  inline?: Buffer;
}

export interface ReceiveOptions {
  /** False: store even a small body as a chunk. Multipart parts need this: Complete makes an
   * object by concatenating its parts' chunk lists. */
  inline?: boolean;
  /** Checksums to compute and return whether or not the client declared them. */
  compute?: readonly ChecksumAlgorithm[];
}

/**
 * Streams a request body into the chunk store: aws-chunked decoding (chunk signatures
 * verified), every declared digest computed on the way, content-defined chunking, and
 * bounded parallel chunk writes. Nothing is visible until the caller commits the manifest;
 * if anything fails, the chunks written so far are unreferenced and GC removes them.
 */
export async function receiveBody(
  source: AsyncIterable<Buffer>,
  headers: IncomingHttpHeaders,
  payload: PayloadAuth,
  store: ChunkStore,
  config: Config,
  slots: Slots,
  hashes?: HashPool,
  options: ReceiveOptions = {},
): Promise<ReceivedBody> {
  const declared = declaredChecksums(headers);
  const expectedLength = declaredLength(headers, payload);
  const algorithms = checksumAlgorithms(declared);
  for (const alg of options.compute ?? []) algorithms.add(alg);
  if (payload.mode === 'sha256') algorithms.add('SHA256');
  // Hashing a body a few KiB long costs less than a round trip to a hash worker.
  const digests = new BodyDigests(algorithms, expectedLength > OFFLOAD_MIN_BYTES ? hashes : undefined);
  let trailers: Record<string, string> = {};
  const body =
    payload.mode === 'streaming'
      ? decodeAwsChunked(source, payload, { decodedLength: expectedLength, onTrailers: (t: Record<string, string>) => (trailers = t) })
      : source;

  const sink = new ChunkSink(store, config, slots);
  try {
    const size = await sink.consume(body, digests);
    if (size !== expectedLength) throw new S3Error('IncompleteBody');
    if (payload.mode === 'sha256') {
      const computed = (await digests.digest('SHA256')).toString('hex');
      if (computed !== payload.expectedHex.toLowerCase()) {
        throw new S3Error('XAmzContentSHA256Mismatch', undefined, { ClientComputedContentSHA256: payload.expectedHex, S3ComputedContentSHA256: computed });
      }
    }
    const checksums = await verifyChecksums(declared, trailers, digests);
    // An algorithm named without a value (x-amz-checksum-algorithm alone): S3 computes it.
    if (declared.algorithm && !checksums[declared.algorithm]) checksums[declared.algorithm] = await digests.checksum(declared.algorithm);
    for (const alg of options.compute ?? []) checksums[alg] ??= await digests.checksum(alg);
    const { chunks, inline } = await sink.finish(options.inline !== false && size <= config.inlineMaxBytes);
    return { size, md5Hex: digests.md5Hex(), checksums, chunks, inline };
  } catch (e) {
    digests.abort();
    await sink.abandon();
    throw e;
  }
}

/**
 * Stores bytes the gateway reads itself (UploadPartCopy's source range) as chunks, with the
 * same chunking as an upload: content-defined boundaries mean content already stored maps to
 * the chunks it is stored as, so a copy writes little new data. Never inline.
 */
export async function storeStream(
  source: AsyncIterable<Buffer>,
  compute: readonly ChecksumAlgorithm[],
  store: ChunkStore,
  config: Config,
  slots: Slots,
  hashes?: HashPool,
): Promise<ReceivedBody> {
  const digests = new BodyDigests(compute, hashes);
  const sink = new ChunkSink(store, config, slots);
  try {
    const size = await sink.consume(source, digests);
    const checksums: ReceivedBody['checksums'] = {};
    for (const alg of compute) checksums[alg] = await digests.checksum(alg);
    const { chunks } = await sink.finish(false);
    return { size, md5Hex: digests.md5Hex(), checksums, chunks };
  } catch (e) {
    digests.abort();
    await sink.abandon();
    throw e;
  }
}

/** Chunking and chunk writes of one body, with its digests fed on the way. */
class ChunkSink {
  private readonly chunker: Chunker;
  private readonly writer: ChunkWriter;

  constructor(store: ChunkStore, config: Config, slots: Slots) {
    this.chunker = new Chunker(config.chunking);
    this.writer = new ChunkWriter(store, config.writeConcurrency, config.gcGraceMs, slots);
  }

  /** Reads the body to its end; resolves with its size once the digests have it all. */
  async consume(body: AsyncIterable<Buffer>, digests: BodyDigests): Promise<number> {
    let size = 0;
    for await (const piece of body) {
      size += piece.length;
      digests.update(piece);
      for (const chunk of this.chunker.push(piece)) await this.writer.add(chunk);
      await digests.drained();
    }
    await digests.finish();
    return size;
  }

  /** The manifest, once every chunk is durable; a body that fits in one chunk stays in
   * memory instead when `inline` allows. */
  async finish(inline: boolean): Promise<{ chunks: ChunkRef[]; inline?: Buffer }> {
    const last = this.chunker.finish();
    if (inline && this.writer.refs.length === 0) return { chunks: await this.writer.finish(), inline: last ?? Buffer.alloc(0) };
    if (last) await this.writer.add(last);
    return { chunks: await this.writer.finish() };
  }

  abandon(): Promise<void> {
    return this.writer.abandon();
  }
}

/** The body length the client declared: x-amz-decoded-content-length for aws-chunked, else
 * Content-Length. PUT without either is 411 MissingContentLength, as on S3. */
function declaredLength(headers: IncomingHttpHeaders, payload: PayloadAuth): number {
  const raw = payload.mode === 'streaming' ? headers['x-amz-decoded-content-length'] : headers['content-length'];
  if (raw === undefined) throw new S3Error('MissingContentLength');
  const n = Number(raw);
  if (!/^\d+$/.test(String(raw)) || !Number.isSafeInteger(n)) throw new S3Error('InvalidArgument', 'Invalid content length');
  return n;
}
