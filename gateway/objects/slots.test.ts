import { Slots } from './slots';

test('Slots: never more holders than slots; waiters proceed in order as slots return', async () => {
  const slots = new Slots(2);
  let held = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const release = await slots.acquire();
      held++;
      peak = Math.max(peak, held);
      order.push(i);
      await new Promise((r) => setTimeout(r, 5));
      held--;
      release();
      release(); // a second release is a no-op
    }),
  );
  expect(peak).toBe(2);
  expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});
