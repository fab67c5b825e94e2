import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { crc32, crc32c } from '@node-rs/crc32';
import { combineCrcs, compositeChecksum, isCombinable, type CombinableAlgorithm } from './checksum-combine';

/** The CRC of a buffer straight from the checksum packages rfs verifies uploads with. */
async function directCrc(algorithm: CombinableAlgorithm, data: Buffer): Promise<string> {
  if (algorithm === 'CRC64NVME') {
    const crc = new Crc64Nvme();
    crc.update(data);
    return Buffer.from(await crc.digest()).toString('base64');
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE((algorithm === 'CRC32' ? crc32 : crc32c)(data) >>> 0);
  return out.toString('base64');
}

/** Deterministic bytes (xorshift32), so a failure reproduces. */
function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function combinedOf(algorithm: CombinableAlgorithm, data: Buffer, cuts: number[]): Promise<string> {
  const parts = [];
  let at = 0;
  for (const end of [...cuts, data.length]) {
    const piece = data.subarray(at, end);
    parts.push({ checksum: await directCrc(algorithm, piece), size: piece.length });
    at = end;
  }
  return combineCrcs(algorithm, parts);
}

const ALGORITHMS: CombinableAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME'];

describe('combineCrcs', () => {
  it.each(ALGORITHMS)('%s: combining the parts of "123456789" gives its check value', async (alg) => {
    const data = Buffer.from('123456789');
    const expected = await directCrc(alg, data);
    for (const cuts of [[], [4], [1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 9]]) expect(await combinedOf(alg, data, cuts)).toBe(expected);
  });

  it.each(ALGORITHMS)('%s: equals the CRC of the concatenation for uneven and equal part sizes', async (alg) => {
    const data = bytes(3 * 1024 * 1024 + 12345, 7);
    const expected = await directCrc(alg, data);
    expect(await combinedOf(alg, data, [1, 1000, 65536, 1024 * 1024 + 3, 2 * 1024 * 1024])).toBe(expected);
    const equal = Array.from({ length: 30 }, (_, i) => (i + 1) * 100_000);
    expect(await combinedOf(alg, data, equal)).toBe(expected);
  });

  it.each(ALGORITHMS)('%s: empty parts anywhere change nothing', async (alg) => {
    const data = bytes(10_000, 3);
    expect(await combinedOf(alg, data, [0, 5000, 5000, 10_000])).toBe(await directCrc(alg, data));
    expect(combineCrcs(alg, [{ checksum: await directCrc(alg, Buffer.alloc(0)), size: 0 }])).toBe(await directCrc(alg, Buffer.alloc(0)));
  });

  it.each(ALGORITHMS)('%s: 10,000 parts combine quickly', async (alg) => {
    const part = bytes(4096, 11);
    const one = { checksum: await directCrc(alg, part), size: part.length };
    const started = Date.now();
    const combined = combineCrcs(alg, Array.from({ length: 10_000 }, () => one));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(combined).toBe(await directCrc(alg, Buffer.concat(Array.from({ length: 10_000 }, () => part))));
  });

  it('refuses a checksum of the wrong width', () => {
    expect(() => combineCrcs('CRC64NVME', [{ checksum: 'y/Q5Jg==', size: 9 }])).toThrow();
  });

  it('only CRCs combine', () => {
    expect(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'].filter((a) => isCombinable(a as CombinableAlgorithm))).toEqual(ALGORITHMS);
  });
});

describe('compositeChecksum', () => {
  // Values AWS S3 returns for a one-part upload of "123456789" (the checksum of the part's
  // binary checksum, "-1").
  it.each([
    ['CRC32', 'y/Q5Jg==', '7kxlUA==-1'],
    ['CRC32C', '4waSgw==', 'pzJFoA==-1'],
    ['SHA1', '98O8HYCOBHMq32eZZczDTKeuNEE=', 'zGcEPHvP9e6lVmvZsfPHT9mlz10=-1'],
    ['SHA256', 'FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=', 'KSsNAHVmgy25S/rmic1w0at3KBH9RLn0nYVQ7p6mpJQ=-1'],
  ] as const)('%s of one part', async (alg, part, expected) => {
    expect(await compositeChecksum(alg, [part])).toBe(expected);
  });

  it('is the checksum of the concatenated binary part checksums, with the part count', async () => {
    const parts = [bytes(100, 1), bytes(200, 2), bytes(300, 3)];
    const checksums = await Promise.all(parts.map((p) => directCrc('CRC32', p)));
    const concatenated = Buffer.concat(checksums.map((c) => Buffer.from(c, 'base64')));
    expect(await compositeChecksum('CRC32', checksums)).toBe(`${await directCrc('CRC32', concatenated)}-3`);
  });
});
