import { KeyLock } from './key-lock';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyLock', () => {
  it('runs work on one key one at a time, in order', async () => {
    const lock = new KeyLock();
    const log: string[] = [];
    const job = (name: string) => async () => {
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
      return name;
    };
    expect(await Promise.all([lock.run('k', job('a')), lock.run('k', job('b')), lock.run('k', job('c'))])).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    expect(lock.size).toBe(0);
  });

  it('runs different keys concurrently', async () => {
    const lock = new KeyLock();
    const log: string[] = [];
    const job = (name: string) => async () => {
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
    };
    await Promise.all([lock.run('x', job('x')), lock.run('y', job('y'))]);
    expect(log.slice(0, 2).sort()).toEqual(['x start', 'y start']);
  });

  it('moves on after a failure and passes it to its caller only', async () => {
    const lock = new KeyLock();
    const failing = lock.run('k', async () => {
      throw new Error('boom');
    });
    const next = lock.run('k', async () => 'ok');
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe('ok');
    expect(lock.size).toBe(0);
  });

  it('drains queued work', async () => {
    const lock = new KeyLock();
    let done = 0;
    for (let i = 0; i < 5; i++) void lock.run(`k${i % 2}`, async () => { await tick(); done++; });
    await lock.drain();
    expect(done).toBe(5);
  });
});
