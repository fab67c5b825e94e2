import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeMetadataStore } from './store.contract';
import { WorkerMetadataStore } from './worker-store';

let dir: string;
afterAll(() => rm(dir, { recursive: true, force: true }));

describeMetadataStore('PGlite in a worker thread (embedded default)', async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'rfs-meta-'));
  return WorkerMetadataStore.open(dir);
});

test('WorkerMetadataStore_workerGone: calls fail at once instead of hanging', async () => {
  const own = await mkdtemp(path.join(tmpdir(), 'rfs-meta-dead-'));
  const store = await WorkerMetadataStore.open(own);
  await store.close(); // the worker exits
  await expect(store.listBuckets()).rejects.toThrow(/exited/);
  await rm(own, { recursive: true, force: true });
});
