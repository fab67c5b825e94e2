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
): Promise<ReceivedBody> {
  const declared = declaredChecksums(headers);
  const expectedLength = declaredLength(headers, payload);
  const algorithms = checksumAlgorithms(declared);
  if (payload.mode === 'sha256') algorithms.add('SHA256');
  // Hashing a body a few KiB long costs less than a round trip to a hash worker.
  const digests = new BodyDigests(algorithms, expectedLength > OFFLOAD_MIN_BYTES ? hashes : undefined);
  let trailers: Record<string, string> = {};
  const body =
    payload.mode === 'streaming'
      ? decodeAwsChunked(source, payload, { decodedLength: expectedLength, onTrailers: (t: Record<string, string>) => (trailers = t) })
      : source;

  const chunker = new Chunker(config.chunking);
  const writer = new ChunkWriter(store, config.writeConcurrency, config.gcGraceMs, slots);
  let size = 0;
  try {
    for await (const piece of body) {
      size += piece.length;
      digests.update(piece);
      for (const chunk of chunker.push(piece)) await writer.add(chunk);
      await digests.drained();
    }
    await digests.finish();
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
    const last = chunker.finish();
    let inline: Buffer | undefined;
    if (writer.refs.length === 0 && size <= config.inlineMaxBytes) inline = last ?? Buffer.alloc(0);
    else if (last) await writer.add(last);
    const chunks = await writer.finish();
    return { size, md5Hex: digests.md5Hex(), checksums, chunks, inline };
  } catch (e) {
    digests.abort();
    await writer.abandon();
    throw e;
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
