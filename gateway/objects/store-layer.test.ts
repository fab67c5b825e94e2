import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { MetadataStore, NewObject } from '../../metadata/store';
import type { ChunkStore } from '../../storage-node/chunk-store';
import { s3Failure } from '../protocol/errors.testing';
import type { RebuildableBloom } from './key-filter';
import { StoreObjectLayer } from './store-layer';

const SPEC = { bucket: 'b', key: 'k', owner: 'o', headers: {}, userMetadata: {}, tags: {} };
const config = {
  inlineMaxBytes: 1024,
  chunking: { minSize: 1024, avgSize: 4096, maxSize: 16384 },
  writeConcurrency: 4,
  writeSlots: 8,
  gcGraceMs: 60_000,
  readAhead: 2,
};

/** The stores and filter as the layer sees them, each call logged in order; chunk writes
 * take a few milliseconds, so a commit that did not wait for them would show. */
function fakes() {
  const events: string[] = [];
  let pending = 0;
  const chunks = {
    async put() {
      pending++;
      await new Promise((r) => setTimeout(r, 5));
      pending--;
      events.push('chunk');
      return true;
    },
    claim: async () => true,
  } as unknown as ChunkStore;
  let commits = 0;
  const meta = {
    async putObject(o: NewObject) {
      events.push(`commit with ${pending} chunk writes pending`);
      commits++;
      return { versionId: o.id };
    },
    listBuckets: async () => [],
  } as unknown as MetadataStore;
  let rebuilds = 0;
  const filter: RebuildableBloom = {
    add: async (item) => void events.push(`filter ${item.replace('\u0000', '/')}`),
    mightContain: async () => true,
    async rebuild() {
      rebuilds++;
      await new Promise((r) => setTimeout(r, 20));
      return 0;
    },
  };
  const layer = new StoreObjectLayer({ meta, chunks, filter, config });
  return { layer, events, commits: () => commits, rebuilds: () => rebuilds };
}

function requestBody(data: Buffer, declared = data.length) {
  return { source: Readable.from([data]), headers: { 'content-length': String(declared) }, payload: { mode: 'unsigned' as const } };
}

test('put: every chunk is durable, then the key filter learns the key, then the row commits', async () => {
  const { layer, events } = fakes();
  const data = randomBytes(64 * 1024);
  const stored = await layer.put(SPEC, requestBody(data));
  const firstAfterChunks = events.findIndex((e) => e !== 'chunk');
  expect(firstAfterChunks).toBeGreaterThan(1);
  expect(events.slice(firstAfterChunks)).toEqual(['filter b/k', 'commit with 0 chunk writes pending']);
  expect(stored.etag).toMatch(/^"[0-9a-f]{32}"$/);
});

test('put: a body that fails (shorter than declared) commits nothing and leaves the filter alone', async () => {
  const { layer, events, commits } = fakes();
  const e = await s3Failure(layer.put(SPEC, requestBody(randomBytes(8192), 9000)));
  expect(e.code).toBe('IncompleteBody');
  expect(commits()).toBe(0);
  expect(events.filter((x) => x !== 'chunk')).toEqual([]);
});

test('filter upkeep: rebuilds at start, never two at once, and stop waits for the one in progress', async () => {
  const { layer, rebuilds } = fakes();
  layer.startFilterUpkeep(1);
  await new Promise((r) => setTimeout(r, 10)); // ticks while the first rebuild (20 ms) runs
  expect(rebuilds()).toBe(1);
  await layer.stop();
  const after = rebuilds();
  await new Promise((r) => setTimeout(r, 10));
  expect(rebuilds()).toBe(after);
});
