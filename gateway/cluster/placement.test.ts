import { randomBytes } from 'node:crypto';
import { chunkAddress } from '../../storage-node/address';
import { place, rank } from './placement';

const addresses = Array.from({ length: 20_000 }, () => chunkAddress(randomBytes(16)));
const node = (id: string, zone = id, capacityBytes = 1e12) => ({ id, zone, capacityBytes });

function firstChoices(nodes: ReturnType<typeof node>[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of addresses) {
    const id = rank(a, nodes)[0].id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('rendezvous placement', () => {
  it('spreads chunks evenly over equal nodes', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'].map((id) => node(id));
    for (const n of firstChoices(nodes).values()) expect(Math.abs(n / addresses.length - 0.2)).toBeLessThan(0.02);
  });

  it('weights by capacity', () => {
    const counts = firstChoices([node('small', 'a', 1e12), node('big', 'b', 2e12), node('other', 'c', 1e12)]);
    expect(counts.get('big')! / addresses.length).toBeCloseTo(0.5, 1);
    expect(counts.get('small')! / addresses.length).toBeCloseTo(0.25, 1);
  });

  it('is the same order whatever order the nodes come in', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4'].map((id) => node(id));
    for (const a of addresses.slice(0, 200)) {
      expect(rank(a, [...nodes].reverse()).map((n) => n.id)).toEqual(rank(a, nodes).map((n) => n.id));
    }
  });

  it('moves only the chunks a new node wins when it joins', () => {
    const before = ['n1', 'n2', 'n3', 'n4'].map((id) => node(id));
    const after = [...before, node('n5')];
    let moved = 0;
    for (const a of addresses) {
      const was = rank(a, before)[0].id;
      const is = rank(a, after)[0].id;
      if (was !== is) {
        expect(is).toBe('n5');
        moved++;
      }
    }
    expect(Math.abs(moved / addresses.length - 0.2)).toBeLessThan(0.02);
  });

  it('puts replicas in distinct zones first, then fills from the best remaining', () => {
    const nodes = [node('a1', 'a'), node('a2', 'a'), node('a3', 'a'), node('b1', 'b'), node('c1', 'c')];
    for (const a of addresses.slice(0, 500)) {
      const three = place(a, nodes, 3);
      expect(new Set(three.map((n) => n.zone)).size).toBe(3);
      const four = place(a, nodes, 4);
      expect(four.slice(0, 3)).toEqual(three);
      expect(new Set(four.map((n) => n.id)).size).toBe(4);
    }
    expect(place(addresses[0], nodes.slice(0, 2), 3)).toHaveLength(2);
  });
});
