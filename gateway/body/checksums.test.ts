import { createHash } from 'node:crypto';
import { s3Failure } from '../protocol/errors.testing';
import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from '../protocol/errors';
import { BodyDigests, CHECKSUM_ALGORITHMS, checksumAlgorithms, declaredChecksums, verifyChecksums, type ChecksumAlgorithm } from './checksums';

const CHECK = Buffer.from('123456789');
const VECTORS: Record<ChecksumAlgorithm, string> = {
  CRC32: 'cbf43926',
  CRC32C: 'e3069283',
  CRC64NVME: 'ae8b14860a799888',
  SHA1: 'f7c3bc1d808e04732adf679965ccc34ca7ae3441',
  SHA256: '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225',
};
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

function thrown(f: () => unknown): S3Error {
  try {
    f();
  } catch (e) {
    if (e instanceof S3Error) return e;
    throw e;
  }
  throw new Error('expected an S3Error');
}

function digestsOf(data: Buffer, algorithms: Iterable<ChecksumAlgorithm>, split: number[] = []): BodyDigests {
  const d = new BodyDigests(algorithms);
  let at = 0;
  for (const end of [...split, data.length]) {
    d.update(data.subarray(at, end));
    at = end;
  }
  return d;
}

describe('BodyDigests', () => {
  it.each(CHECKSUM_ALGORITHMS)('%s of "123456789" is the check value, whole and in pieces', async (alg) => {
    for (const split of [[], [4], [0, 1, 1, 5, 8], [1, 2, 3, 4, 5, 6, 7, 8]]) {
      expect(Buffer.from(await digestsOf(CHECK, [alg], split).checksum(alg), 'base64').toString('hex')).toBe(VECTORS[alg]);
    }
  });

  it('incremental equals one-shot on a larger body', async () => {
    const data = Buffer.concat(Array.from({ length: 3000 }, (_, i) => createHash('sha256').update(String(i)).digest()));
    const whole = digestsOf(data, CHECKSUM_ALGORITHMS);
    const pieces = digestsOf(data, CHECKSUM_ALGORITHMS, [1, 17, 4096, 4097, 50000, 95999]);
    for (const alg of CHECKSUM_ALGORITHMS) expect(await pieces.checksum(alg)).toBe(await whole.checksum(alg));
    expect(pieces.md5Hex()).toBe(createHash('md5').update(data).digest('hex'));
    expect(pieces.md5Base64()).toBe(createHash('md5').update(data).digest('base64'));
  });

  it('gives big-endian CRC bytes of 4 and 8 bytes', async () => {
    const d = digestsOf(CHECK, ['CRC32', 'CRC64NVME']);
    expect(await d.checksum('CRC32')).toBe('y/Q5Jg==');
    expect(Buffer.from(await d.checksum('CRC64NVME'), 'base64')).toHaveLength(8);
    expect((await d.digest('CRC32')).toString('hex')).toBe('cbf43926');
  });

  it('of nothing', async () => {
    const d = new BodyDigests(CHECKSUM_ALGORITHMS);
    expect(d.md5Hex()).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(await d.checksum('CRC32')).toBe('AAAAAA==');
    expect(await d.checksum('CRC64NVME')).toBe('AAAAAAAAAAA=');
  });

  it('refuses updates after a result was read, and algorithms it was not asked for', async () => {
    const d = digestsOf(CHECK, ['CRC32']);
    d.md5Hex();
    expect(() => d.update(CHECK)).toThrow();
    expect(() => d.digest('SHA1')).toThrow();
  });
});

describe('declaredChecksums', () => {
  const MD5 = createHash('md5').update(CHECK).digest('base64');

  it('reads Content-MD5, a checksum, a trailer and the algorithm', () => {
    expect(declaredChecksums({ 'content-md5': MD5, 'x-amz-checksum-crc32': 'y/Q5Jg==', 'x-amz-sdk-checksum-algorithm': 'CRC32' })).toEqual({
      contentMd5: MD5,
      checksums: { CRC32: 'y/Q5Jg==' },
      algorithm: 'CRC32',
    });
    expect(declaredChecksums({ 'x-amz-trailer': 'x-amz-checksum-crc64nvme', 'x-amz-sdk-checksum-algorithm': 'crc64nvme' })).toEqual({
      checksums: {},
      trailer: 'CRC64NVME',
      algorithm: 'CRC64NVME',
    });
    expect(declaredChecksums({ 'x-amz-checksum-algorithm': 'SHA256', 'x-amz-checksum-type': 'FULL_OBJECT' })).toEqual({ checksums: {}, algorithm: 'SHA256' });
    expect(declaredChecksums({})).toEqual({ checksums: {} });
    expect([...checksumAlgorithms(declaredChecksums({ 'x-amz-trailer': 'x-amz-checksum-sha1', 'x-amz-checksum-algorithm': 'CRC32C' }))].sort()).toEqual(['CRC32C', 'SHA1']);
  });

  it.each<[string, IncomingHttpHeaders, string, string]>([
    ['Content-MD5 not base64', { 'content-md5': 'not base64!' }, 'InvalidDigest', 'The Content-MD5 you specified was invalid.'],
    ['Content-MD5 of 11 bytes', { 'content-md5': 'YWJyYWNhZGFicmE=' }, 'InvalidDigest', 'The Content-MD5 you specified was invalid.'],
    ['Content-MD5 in hex', { 'content-md5': '25f9e794323b453885f5181f1b624d0b' }, 'InvalidDigest', 'The Content-MD5 you specified was invalid.'],
    ['an empty Content-MD5', { 'content-md5': '' }, 'InvalidDigest', 'The Content-MD5 you specified was invalid.'],
    ['a CRC32 in hex', { 'x-amz-checksum-crc32': 'cbf43926' }, 'InvalidRequest', 'Value for x-amz-checksum-crc32 header is invalid.'],
    ['an unpadded CRC32', { 'x-amz-checksum-crc32': 'y/Q5Jg' }, 'InvalidRequest', 'Value for x-amz-checksum-crc32 header is invalid.'],
    ['a SHA256 of 31 bytes', { 'x-amz-checksum-sha256': Buffer.alloc(31).toString('base64') }, 'InvalidRequest', 'Value for x-amz-checksum-sha256 header is invalid.'],
    ['two checksums', { 'x-amz-checksum-crc32': 'y/Q5Jg==', 'x-amz-checksum-crc32c': '4waSgw==' }, 'InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.'],
    ['a checksum and a trailer', { 'x-amz-checksum-crc32': 'y/Q5Jg==', 'x-amz-trailer': 'x-amz-checksum-crc32c' }, 'InvalidRequest', 'Expecting a single x-amz-checksum- header'],
    ['an unknown trailer', { 'x-amz-trailer': 'x-amz-checksum-md4' }, 'InvalidRequest', 'The value specified in the x-amz-trailer header is not supported'],
    ['an unknown algorithm', { 'x-amz-sdk-checksum-algorithm': 'MD4', 'x-amz-checksum-crc32': 'y/Q5Jg==' }, 'InvalidRequest', 'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]'],
    ['an algorithm without a checksum', { 'x-amz-sdk-checksum-algorithm': 'CRC32' }, 'InvalidRequest', 'x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.'],
    ['an algorithm and the checksum of another', { 'x-amz-sdk-checksum-algorithm': 'SHA256', 'x-amz-checksum-crc32': 'y/Q5Jg==' }, 'BadDigest', 'The SHA256 you specified did not match the calculated checksum.'],
  ])('refuses %s', (_what, headers, code, message) => {
    const e = thrown(() => declaredChecksums(headers));
    expect([e.code, e.message]).toEqual([code, message]);
  });
});

describe('verifyChecksums', () => {
  const MD5 = createHash('md5').update(CHECK).digest('base64');

  it.each(CHECKSUM_ALGORITHMS)('verifies and returns a %s header, and refuses a wrong one', async (alg) => {
    const header = `x-amz-checksum-${alg.toLowerCase()}`;
    const good = declaredChecksums({ [header]: b64(VECTORS[alg]), 'content-md5': MD5 });
    expect(await verifyChecksums(good, {}, digestsOf(CHECK, checksumAlgorithms(good)))).toEqual({ [alg]: b64(VECTORS[alg]) });
    const wrong = declaredChecksums({ [header]: Buffer.alloc(VECTORS[alg].length / 2, 1).toString('base64') });
    const e = await s3Failure(verifyChecksums(wrong, {}, digestsOf(CHECK, checksumAlgorithms(wrong))));
    expect([e.code, e.status, e.message]).toEqual(['BadDigest', 400, `The ${alg} you specified did not match the calculated checksum.`]);
  });

  it('refuses a wrong Content-MD5 with both digests', async () => {
    const declared = declaredChecksums({ 'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==' });
    const e = await s3Failure(verifyChecksums(declared, {}, digestsOf(CHECK, [])));
    expect([e.code, e.message]).toEqual(['BadDigest', 'The Content-MD5 you specified did not match what we received.']);
    expect(e.fields).toEqual({ ExpectedDigest: '1B2M2Y8AsgTpgAmY7PhCfg==', CalculatedDigest: MD5 });
    expect(await verifyChecksums(declaredChecksums({ 'content-md5': MD5 }), {}, digestsOf(CHECK, []))).toEqual({});
  });

  it('verifies a trailer, and refuses a wrong, malformed or missing one', async () => {
    const declared = declaredChecksums({ 'x-amz-trailer': 'x-amz-checksum-crc32c' });
    const digests = () => digestsOf(CHECK, checksumAlgorithms(declared));
    expect(await verifyChecksums(declared, { 'x-amz-checksum-crc32c': '4waSgw==' }, digests())).toEqual({ CRC32C: '4waSgw==' });
    expect((await s3Failure(verifyChecksums(declared, { 'x-amz-checksum-crc32c': 'AAAAAA==' }, digests()))).code).toBe('BadDigest');
    const bad = await s3Failure(verifyChecksums(declared, { 'x-amz-checksum-crc32c': '4waSgw' }, digests()));
    expect([bad.code, bad.message]).toEqual(['InvalidRequest', 'Value for x-amz-checksum-crc32c trailing header is invalid.']);
    expect((await s3Failure(verifyChecksums(declared, {}, digests()))).code).toBe('InvalidRequest');
  });
});
