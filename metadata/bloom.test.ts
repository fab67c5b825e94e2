import { MemoryBloom } from './bloom';

async function* items(list: string[]): AsyncGenerator<string> {
  for (const i of list) yield i;
}

describe('MemoryBloom', () => {
  test('says maybe for everything until built, then definitely-absent for what it never saw', async () => {
    const bloom = new MemoryBloom(1000);
    expect(await bloom.mightContain('x')).toBe(true);
    await bloom.rebuild(items(Array.from({ length: 500 }, (_, i) => `k${i}`)));
    for (let i = 0; i < 500; i++) expect(await bloom.mightContain(`k${i}`)).toBe(true);
    let falsePositives = 0;
    for (let i = 0; i < 1000; i++) if (await bloom.mightContain(`other${i}`)) falsePositives++;
    expect(falsePositives).toBeLessThan(50);
  });

  test('an item added during a rebuild survives the swap; a rebuild forgets deleted items', async () => {
    const bloom = new MemoryBloom(1000);
    await bloom.rebuild(items(['gone']));
    expect(await bloom.mightContain('gone')).toBe(true);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = (async function* () {
      yield 'a';
      await gate;
      yield 'b';
    })();
    const building = bloom.rebuild(slow);
    await bloom.add('during');
    release();
    await building;
    expect(await bloom.mightContain('during')).toBe(true);
    expect(await bloom.mightContain('a')).toBe(true);
    expect(await bloom.mightContain('gone')).toBe(false);
  });
});
