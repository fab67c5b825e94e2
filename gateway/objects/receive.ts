import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { PayloadAuth } from '../auth';
import { decodeAwsChunked } from '../body/aws-chunked';
import {
  BodyDigests, badDigest, checksumAlgorithms, declaredChecksums, verifyChecksums, type ChecksumAlgorithm, type DeclaredChecksums,
} from '../body/checksums';
import type { HashPool } from '../body/hash-pool';
import type { ChunkStore } from '../../storage-node/chunk-store';
import type { ChunkRef } from '../../metadata/store';
import type { Config } from '../config';
import { S3Error } from '../protocol/errors';
import { Chunker } from './chunker';
import { ChunkWriter } from './writer';
import type { Slots } from './slots';

const OFFLOAD_MIN_BYTES = 1024 * 1024;

/** A body stored as chunks (or held inline), with its digests: what a commit needs. */
export interface ReceivedBody {
  size: number;
  md5Hex: string;
  /** Checksums the client declared, all verified, by algorithm, base64. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  chunks: ChunkRef[];
  /** The whole body, when it is small enough to live in the metadata row. */
  inline?: Buffer;
}

/** How a request body is kept. */
export interface ReceiveOptions {
  /** False: store even a small body as a chunk. Multipart parts need this: Complete makes an
   * object by concatenating its parts' chunk lists. */
  inline?: boolean;
  /** Checksums to compute and return whether or not the client declared them. */
  compute?: readonly ChecksumAlgorithm[];
  /** A chunked body without a declared length is taken up to this many bytes (RequestBody.maxUnsized). */
  maxUnsized?: number;
}

/** The settings receiving reads: chunk sizes, write window, lease length, inline limit. */
export type ReceiveConfig = Pick<Config, 'chunking' | 'writeConcurrency' | 'gcGraceMs' | 'inlineMaxBytes'>;

/**
 * Streams bodies into the chunk store: aws-chunked decoding (chunk signatures verified),
 * every declared digest computed on the way, content-defined chunking, and bounded parallel
 * chunk writes. Each method resolves only once every chunk is durable, so nothing is visible
 * until the caller commits the manifest; if anything fails, the chunks written so far are
 * unreferenced and GC removes them. One receiver holds what every body shares (the store,
 * the server-wide write slots, the hash workers), so callers pass only the body.
 */
export class BodyReceiver {
  constructor(
    private readonly store: ChunkStore,
    private readonly config: ReceiveConfig,
    private readonly slots: Slots,
    private readonly hashes?: HashPool,
  ) {}

  /** A request body of declared length (PUT, UploadPart), checked against everything its
   * headers and payload mode declare. */
  async request(source: AsyncIterable<Buffer>, headers: IncomingHttpHeaders, payload: PayloadAuth, options: ReceiveOptions = {}): Promise<ReceivedBody> {
    const declared = declaredChecksums(headers);
    const expectedLength = declaredLength(headers, payload, options.maxUnsized);
    const algorithms = checksumAlgorithms(declared);
    for (const alg of options.compute ?? []) algorithms.add(alg);
    if (payload.mode === 'sha256') algorithms.add('SHA256');
    // Hashing a body a few KiB long costs less than a round trip to a hash worker.
    const digests = new BodyDigests(algorithms, (expectedLength ?? Infinity) > OFFLOAD_MIN_BYTES ? this.hashes : undefined);
    let trailers: Record<string, string> = {};
    const body =
      payload.mode === 'streaming'
        ? decodeAwsChunked(source, payload, { decodedLength: expectedLength!, onTrailers: (t: Record<string, string>) => (trailers = t) })
        : expectedLength === undefined
          ? atMost(source, options.maxUnsized!)
          : source;
    return this.receive(body, digests, async (size, sink) => {
      if (expectedLength !== undefined && size !== expectedLength) throw new S3Error('IncompleteBody');
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
      const { chunks, inline } = await sink.finish(options.inline !== false && size <= this.config.inlineMaxBytes);
      return { size, md5Hex: digests.md5Hex(), checksums, chunks, inline };
    });
  }

  /**
   * Bytes the gateway reads itself (UploadPartCopy's source range), with the same chunking as
   * an upload: content-defined boundaries mean content already stored maps to the chunks it
   * is stored as, so a copy writes little new data. Never inline.
   */
  stream(source: AsyncIterable<Buffer>, compute: readonly ChecksumAlgorithm[]): Promise<ReceivedBody> {
    const digests = new BodyDigests(compute, this.hashes);
    return this.receive(source, digests, async (size, sink) => {
      const checksums: ReceivedBody['checksums'] = {};
      for (const alg of compute) checksums[alg] = await digests.checksum(alg);
      const { chunks } = await sink.finish(false);
      return { size, md5Hex: digests.md5Hex(), checksums, chunks };
    });
  }

  /**
   * A body whose size shows only at its end (a form's file, which fields may follow), with
   * the x-amz-checksum-* values `checksumHeaders` declares. One that ends within the inline
   * limit is received whole as a request body (and may live in the metadata row); a longer one
   * streams through `stream`, its declared checksums verified at the end. Memory stays
   * bounded by the inline limit plus one piece.
   */
  async unsized(source: AsyncIterable<Buffer>, checksumHeaders: IncomingHttpHeaders): Promise<ReceivedBody> {
    const declared = declaredChecksums(checksumHeaders); // malformed values fail before any byte is read
    const rest = source[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let headSize = 0;
    for (;;) {
      if (headSize > this.config.inlineMaxBytes) return this.unsizedLarge(head, rest, declared);
      const next = await rest.next();
      if (next.done) break;
      head.push(next.value);
      headSize += next.value.length;
    }
    return this.request(Readable.from(head), { ...checksumHeaders, 'content-length': String(headSize) }, { mode: 'unsigned' });
  }

  private async unsizedLarge(head: Buffer[], rest: AsyncIterator<Buffer>, declared: DeclaredChecksums): Promise<ReceivedBody> {
    const given = Object.keys(declared.checksums) as ChecksumAlgorithm[];
    // An algorithm named without a value is computed and stored, as PutObject does.
    const algorithms = declared.algorithm && !given.includes(declared.algorithm) ? [...given, declared.algorithm] : given;
    const body = await this.stream(
      (async function* () {
        yield* head;
        for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
      })(),
      algorithms,
    );
    for (const alg of given) if (body.checksums[alg] !== declared.checksums[alg]) throw badDigest(alg);
    return body;
  }

  /** Chunks `body` to its end, then lets `complete` check it and take the manifest; on any
   * failure stops the digests and waits out the writes in flight. */
  private async receive(body: AsyncIterable<Buffer>, digests: BodyDigests, complete: (size: number, sink: ChunkSink) => Promise<ReceivedBody>): Promise<ReceivedBody> {
    const sink = new ChunkSink(this.store, this.config, this.slots);
    try {
      return await complete(await sink.consume(body, digests), sink);
    } catch (e) {
      digests.abort();
      await sink.abandon();
      throw e;
    }
  }
}

/** Chunking and chunk writes of one body, with its digests fed on the way. */
class ChunkSink {
  private readonly chunker: Chunker;
  private readonly writer: ChunkWriter;

  constructor(store: ChunkStore, config: ReceiveConfig, slots: Slots) {
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
 * Content-Length. Without either, a body sent with Transfer-Encoding: chunked (curl -T -, many
 * HTTP libraries streaming) has its length at its end: undefined, where `maxUnsized` allows it;
 * otherwise 411 MissingContentLength, as on S3. */
function declaredLength(headers: IncomingHttpHeaders, payload: PayloadAuth, maxUnsized: number | undefined): number | undefined {
  const raw = payload.mode === 'streaming' ? headers['x-amz-decoded-content-length'] : headers['content-length'];
  if (raw === undefined) {
    if (maxUnsized !== undefined && payload.mode !== 'streaming' && /\bchunked\b/i.test(String(headers['transfer-encoding'] ?? ''))) return undefined;
    throw new S3Error('MissingContentLength');
  }
  const n = Number(raw);
  if (!/^\d+$/.test(String(raw)) || !Number.isSafeInteger(n)) throw new S3Error('InvalidArgument', 'Invalid content length');
  return n;
}

/** The body, refused with EntityTooLarge once it passes `max` bytes. */
async function* atMost(source: AsyncIterable<Buffer>, max: number): AsyncIterable<Buffer> {
  let size = 0;
  for await (const piece of source) {
    size += piece.length;
    if (size > max) throw new S3Error('EntityTooLarge', undefined, { MaxSizeAllowed: String(max) });
    yield piece;
  }
}
