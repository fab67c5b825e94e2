import { createHash, randomBytes } from 'node:crypto';
import { HashPool } from './hash-pool';
import { BodyDigests } from './checksums';

describe('HashPool: MD5/SHA on a worker thread', () => {
  const pool = new HashPool(2);
  afterAll(() => pool.close());

  test('digests equal node:crypto over the same pieces, across batch boundaries', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 123);
    const session = pool.session(['md5', 'sha1', 'sha256']);
    for (let at = 0; at < data.length; at += 65_537) {
      session.update(data.subarray(at, at + 65_537));
      await session.drained();
    }
    const d = await session.digests();
    for (const alg of ['md5', 'sha1', 'sha256'] as const) expect(d[alg]!.toString('hex')).toBe(createHash(alg).update(data).digest('hex'));
  });

  test('concurrent sessions do not mix', async () => {
    const bodies = Array.from({ length: 6 }, () => randomBytes(1_500_000));
    const results = await Promise.all(
      bodies.map(async (b) => {
        const s = pool.session(['md5']);
        s.update(b.subarray(0, 700_000));
        await s.drained();
        s.update(b.subarray(700_000));
        return (await s.digests()).md5!.toString('hex');
      }),
    );
    results.forEach((r, i) => expect(r).toBe(createHash('md5').update(bodies[i]).digest('hex')));
  });

  test('BodyDigests offloads MD5 and SHA-256, keeps CRCs local, same results', async () => {
    const data = randomBytes(3_000_000);
    const local = new BodyDigests(['CRC32', 'SHA256']);
    const offloaded = new BodyDigests(['CRC32', 'SHA256'], pool);
    local.update(data);
    offloaded.update(data);
    expect(() => offloaded.md5Hex()).toThrow(/finish/);
    await offloaded.finish();
    expect(offloaded.md5Hex()).toBe(local.md5Hex());
    expect(await offloaded.checksum('SHA256')).toBe(await local.checksum('SHA256'));
    expect(await offloaded.checksum('CRC32')).toBe(await local.checksum('CRC32'));
  });
});
