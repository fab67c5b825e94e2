import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { crc32, crc32c } from '@node-rs/crc32';
import { createHash, type Hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { declaredTrailerNames } from '../auth/payload-mode';
import { S3Error } from '../protocol/errors';
import type { HashPool, HashSession } from './hash-pool';
import type { HashName } from './hash-worker';
import { single } from '../protocol/headers';

/** The flexible checksums S3 accepts. */
export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];

/** Digest sizes: a value of another length is malformed. */
const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 };

/** The header (or trailer) that carries a checksum: `x-amz-checksum-crc32`, … */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** What the client declared about its body, before reading it. */
export interface DeclaredChecksums {
  /** Content-MD5, base64. */
  contentMd5?: string;
  /** Values of x-amz-checksum-* headers, base64 (at most one, as S3 allows). */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  /** The checksum x-amz-trailer says will follow the body. */
  trailer?: ChecksumAlgorithm;
  /** x-amz-sdk-checksum-algorithm, else x-amz-checksum-algorithm (CreateMultipartUpload). */
  algorithm?: ChecksumAlgorithm;
}


/** Whether a value is a well-formed base64 digest of the algorithm (its length, strict padding). */
export function isBase64Digest(value: string, algorithm: ChecksumAlgorithm): boolean {
  return decodeBase64(value, DIGEST_BYTES[algorithm]) !== undefined;
}

/** The bytes of a strict, padded base64 value of the given length, or undefined. */
function decodeBase64(value: string, bytes: number): Buffer | undefined {
  const buf = Buffer.from(value, 'base64');
  return buf.length === bytes && buf.toString('base64') === value ? buf : undefined;
}

function parseAlgorithm(value: string): ChecksumAlgorithm {
  const alg = value.trim().toUpperCase() as ChecksumAlgorithm;
  if (!CHECKSUM_ALGORITHMS.includes(alg)) {
    throw new S3Error(
      'InvalidRequest',
      `Checksum algorithm provided is unsupported. Please try again with any of the valid types: [${CHECKSUM_ALGORITHMS.join(', ')}]`,
    );
  }
  return alg;
}

/** BadDigest for one algorithm, in S3's words; also for checks made outside verifyChecksums. */
export function badDigest(algorithm: ChecksumAlgorithm): S3Error {
  return new S3Error('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
}

/** The trailer problems S3 reports as MalformedTrailerError, which the shared error table lacks. */
function malformedTrailer(detail: string): S3Error {
  return new S3Error(
    'InvalidRequest',
    `The request contained trailing data that was not well-formed or did not conform to our published schema: ${detail}.`,
  );
}

/**
 * Reads Content-MD5, x-amz-checksum-*, x-amz-trailer and the checksum algorithm headers, with
 * S3's answers: malformed Content-MD5 is InvalidDigest; a malformed checksum value, an unknown
 * algorithm or trailer, or more than one checksum is InvalidRequest.
 */
export function declaredChecksums(headers: IncomingHttpHeaders): DeclaredChecksums {
  const declared: DeclaredChecksums = { checksums: {} };

  const md5 = single(headers['content-md5']);
  if (md5 !== undefined) {
    if (!decodeBase64(md5, 16)) throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.', { 'Content-MD5': md5 });
    declared.contentMd5 = md5;
  }

  const given = CHECKSUM_ALGORITHMS.filter((alg) => headers[checksumHeaderName(alg)] !== undefined);
  const trailers = declaredTrailerNames(headers['x-amz-trailer']);
  if (given.length > 1) {
    throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  }
  if (given.length + trailers.length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header');
  for (const alg of given) {
    const name = checksumHeaderName(alg);
    const value = single(headers[name])!;
    if (!decodeBase64(value, DIGEST_BYTES[alg])) throw new S3Error('InvalidRequest', `Value for ${name} header is invalid.`);
    declared.checksums[alg] = value;
  }
  for (const name of trailers) {
    const alg = CHECKSUM_ALGORITHMS.find((a) => checksumHeaderName(a) === name);
    if (!alg) throw new S3Error('InvalidRequest', 'The value specified in the x-amz-trailer header is not supported');
    declared.trailer = alg;
  }

  const sdk = single(headers['x-amz-sdk-checksum-algorithm']);
  const plain = single(headers['x-amz-checksum-algorithm']);
  if (plain !== undefined) declared.algorithm = parseAlgorithm(plain);
  if (sdk !== undefined) {
    declared.algorithm = parseAlgorithm(sdk);
    const sent = given[0] ?? declared.trailer;
    if (!sent) {
      throw new S3Error(
        'InvalidRequest',
        'x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.',
      );
    }
    // S3 computes the named algorithm and finds no value of it to match.
    if (sent !== declared.algorithm) throw badDigest(declared.algorithm);
  }
  return declared;
}

/** The algorithms a body must be hashed with to check (and store) what was declared. */
export function checksumAlgorithms(declared: DeclaredChecksums): Set<ChecksumAlgorithm> {
  const algs = new Set(Object.keys(declared.checksums) as ChecksumAlgorithm[]);
  if (declared.trailer) algs.add(declared.trailer);
  if (declared.algorithm) algs.add(declared.algorithm);
  return algs;
}

interface Digester {
  update(data: Buffer): void;
  digest(): Promise<Buffer>;
}

function crcDigester(fn: (data: Uint8Array, initial?: number) => number): Digester {
  let state = 0;
  return {
    update: (data) => {
      state = fn(data, state);
    },
    digest: async () => {
      const out = Buffer.allocUnsafe(4);
      out.writeUInt32BE(state >>> 0);
      return out;
    },
  };
}

function hashDigester(hash: Hash): Digester {
  return { update: (data) => hash.update(data), digest: async () => hash.digest() };
}

function crc64Digester(): Digester {
  const crc = new Crc64Nvme();
  return { update: (data) => crc.update(data), digest: async () => Buffer.from(await crc.digest()) };
}

function digesterFor(algorithm: ChecksumAlgorithm): Digester {
  switch (algorithm) {
    case 'CRC32':
      return crcDigester(crc32);
    case 'CRC32C':
      return crcDigester(crc32c);
    case 'CRC64NVME':
      return crc64Digester();
    case 'SHA1':
      return hashDigester(createHash('sha1'));
    case 'SHA256':
      return hashDigester(createHash('sha256'));
  }
}

/**
 * MD5 (for the ETag) and the requested flexible checksums of a body, fed piece by piece.
 * Given a HashPool, MD5, SHA-1 and SHA-256 run on a hash worker and the CRCs here; then
 * `drained()` is the worker's backpressure and `finish()` must be awaited before reading.
 * Results are final: once one is read, update() throws. checksum() is async because the
 * CRC64NVME package only digests asynchronously.
 */
export class BodyDigests {
  private readonly md5 = createHash('md5');
  private md5Value: Buffer | undefined;
  private readonly digesters = new Map<ChecksumAlgorithm, Digester>();
  private readonly results = new Map<ChecksumAlgorithm, Promise<Buffer>>();
  /** One session per offloaded hash: the pool spreads them over its workers, so a signed
   * payload's SHA-256 runs beside the MD5 instead of after it on one thread. */
  private readonly sessions: HashSession[] = [];

  constructor(algorithms: Iterable<ChecksumAlgorithm>, pool?: HashPool) {
    const offloaded: HashName[] = [];
    for (const alg of algorithms) {
      if (pool && (alg === 'SHA1' || alg === 'SHA256')) offloaded.push(alg === 'SHA1' ? 'sha1' : 'sha256');
      else this.digesters.set(alg, digesterFor(alg));
    }
    if (pool) for (const hash of ['md5', ...offloaded] as HashName[]) this.sessions.push(pool.session([hash]));
  }

  update(data: Buffer): void {
    if (this.md5Value || this.results.size > 0) throw new Error('BodyDigests.update after a digest was read');
    if (this.sessions.length > 0) for (const s of this.sessions) s.update(data);
    else this.md5.update(data);
    for (const d of this.digesters.values()) d.update(data);
  }

  /** Resolves when the hash workers have caught up enough to take more. */
  async drained(): Promise<void> {
    for (const s of this.sessions) await s.drained();
  }

  /** Collects the workers' digests; required before reading any result when offloaded. */
  async finish(): Promise<void> {
    if (this.sessions.length === 0 || this.md5Value) return;
    const d = Object.assign({}, ...(await Promise.all(this.sessions.map((s) => s.digests())))) as Partial<Record<HashName, Buffer>>;
    this.md5Value = d.md5;
    if (d.sha1) this.results.set('SHA1', Promise.resolve(d.sha1));
    if (d.sha256) this.results.set('SHA256', Promise.resolve(d.sha256));
  }

  /** Stops the workers' share of a body that will not be finished. */
  abort(): void {
    if (!this.md5Value) for (const s of this.sessions) s.abort();
  }

  private md5Digest(): Buffer {
    if (this.sessions.length > 0 && !this.md5Value) throw new Error('BodyDigests: finish() first');
    return (this.md5Value ??= this.md5.digest());
  }

  md5Hex(): string {
    return this.md5Digest().toString('hex');
  }

  md5Base64(): string {
    return this.md5Digest().toString('base64');
  }

  /** The base64 checksum (big-endian bytes for CRCs), as S3 shows it. */
  async checksum(algorithm: ChecksumAlgorithm): Promise<string> {
    return (await this.digest(algorithm)).toString('base64');
  }

  /** The raw digest bytes. */
  digest(algorithm: ChecksumAlgorithm): Promise<Buffer> {
    let result = this.results.get(algorithm);
    if (!result) {
      const d = this.digesters.get(algorithm);
      if (!d) throw new Error(`BodyDigests was not asked to compute ${algorithm}`);
      result = d.digest();
      this.results.set(algorithm, result);
    }
    return result;
  }
}

/**
 * Checks the body against everything declared (Content-MD5, the x-amz-checksum-* header, the
 * checksum trailer) and returns the verified checksums to store, by algorithm, base64.
 * Mismatch is BadDigest; a missing or malformed trailer value is InvalidRequest.
 */
export async function verifyChecksums(
  declared: DeclaredChecksums,
  trailers: Record<string, string>,
  digests: BodyDigests,
): Promise<Partial<Record<ChecksumAlgorithm, string>>> {
  if (declared.contentMd5 !== undefined && declared.contentMd5 !== digests.md5Base64()) {
    throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
      ExpectedDigest: declared.contentMd5,
      CalculatedDigest: digests.md5Base64(),
    });
  }
  const verified: Partial<Record<ChecksumAlgorithm, string>> = {};
  for (const alg of Object.keys(declared.checksums) as ChecksumAlgorithm[]) {
    const value = await digests.checksum(alg);
    if (value !== declared.checksums[alg]) throw badDigest(alg);
    verified[alg] = value;
  }
  if (declared.trailer) {
    const name = checksumHeaderName(declared.trailer);
    const sent = trailers[name];
    if (sent === undefined) throw malformedTrailer(`${name} declared in x-amz-trailer but not sent`);
    if (!decodeBase64(sent, DIGEST_BYTES[declared.trailer])) {
      throw new S3Error('InvalidRequest', `Value for ${name} trailing header is invalid.`);
    }
    const value = await digests.checksum(declared.trailer);
    if (value !== sent) throw badDigest(declared.trailer);
    verified[declared.trailer] = value;
  }
  return verified;
}
