/** What placement needs to know of a node. */
export interface PlacedNode {
  id: string;
  zone: string;
  /** Relative weight: a node twice as big gets twice the chunks. */
  capacityBytes: number;
}

/**
 * Every node, best first, for this chunk: weighted rendezvous (highest-random-weight)
 * hashing. Each node scores w / −ln(u), u a uniform hash of (node, address); the order depends
 * only on the address and the node set, so every gateway computes the same one without
 * talking to the others, and a node joining or leaving moves only the chunks it wins or held
 * (about 1/N of them), not a reshuffle.
 */
export function rank<N extends PlacedNode>(address: string, nodes: readonly N[]): N[] {
  const a = parseInt(address.slice(0, 8), 16) | 0;
  const b = parseInt(address.slice(8, 16), 16) | 0;
  return nodes
    .map((node) => ({ node, score: Math.max(node.capacityBytes, 1) / -Math.log(uniform(a, b, seedOf(node.id))) }))
    .sort((x, y) => y.score - x.score || (x.node.id < y.node.id ? -1 : 1))
    .map((s) => s.node);
}

/**
 * The `replicas` nodes that should hold the chunk, in preference order: down the rendezvous
 * order, one node per zone first (so losing a zone loses no chunk), then the next best
 * whatever their zone when there are fewer zones than replicas.
 */
export function place<N extends PlacedNode>(address: string, nodes: readonly N[], replicas: number): N[] {
  return spreadOverZones(rank(address, nodes), replicas);
}

/** The first `count` of `ranked`, distinct zones first, keeping rendezvous order within each pass. */
export function spreadOverZones<N extends PlacedNode>(ranked: readonly N[], count: number): N[] {
  const chosen: N[] = [];
  const zones = new Set<string>();
  for (const node of ranked) {
    if (chosen.length >= count) break;
    if (!zones.has(node.zone)) {
      zones.add(node.zone);
      chosen.push(node);
    }
  }
  for (const node of ranked) {
    if (chosen.length >= count) break;
    if (!chosen.includes(node)) chosen.push(node);
  }
  return chosen;
}

const seeds = new Map<string, number>();

/** A node id's 32-bit seed (FNV-1a), computed once per id. */
function seedOf(id: string): number {
  let seed = seeds.get(id);
  if (seed === undefined) {
    let h = 0x811c9dc5;
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
    seeds.set(id, (seed = h | 0));
  }
  return seed;
}

/** A uniform number in (0, 1) from the address's first 64 bits (already uniform: BLAKE3) and
 * the node's seed, through murmur3's finaliser so every seed bit reaches every output bit. */
function uniform(a: number, b: number, seed: number): number {
  const hi = fmix32(a ^ seed);
  const lo = fmix32(b ^ Math.imul(seed, 0x9e3779b9) ^ hi);
  return ((hi >>> 0) * 2 ** 21 + (lo >>> 11) + 0.5) / 2 ** 53;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
